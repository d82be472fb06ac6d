/**
 * I-9 (per-VMA locks, issue #11): a PMD entry that khugepaged's collapse_huge_page() writes at its
 * end, pmd_populate() of the old PTE table on the failure path or set_pmd_at() of the THP on
 * success, replaces a none entry (the kernel's WARN_ON_ONCE(!pmd_none(*pmd)), a BUG_ON() before
 * v6.17), and the table the failure path re-links is the live PTE table it unlinked: not
 * pmd_pgtable() of a none entry (a garbage pointer, the struct page of PFN 0) and not a table freed
 * since (a stale pointer).
 *
 * The garbage case is 366a4532d96f ("mm: fix the race between collapse and PT_RECLAIM under
 * per-vma lock"): once MADV_DONTNEED ran under the VMA read lock (a6fde7add78d), PT_RECLAIM could
 * clear and free the PTE table between check_pmd_still_valid() and vma_start_write(); the collapse
 * then flushed a none PMD, failed, and re-populated the PMD with pmd_pgtable(none). The overwrite
 * case is what "mm/khugepaged: write-lock VMA while collapsing a huge page" (v6.4) prevents: a fault
 * under the VMA lock populating the PMD the collapse has cleared.
 */
import { eventProperty } from '../core/index.js';

export const noBadPmdPopulate = eventProperty(
  'no-bad-pmd-populate',
  'collapse re-populates a PMD only with its live PTE table, over a none entry',
  'khugepaged\'s collapse_huge_page() wrote a PMD entry that was not none (another thread populated it while the ' +
    'collapse had it cleared), or re-populated it on its failure path with a garbage table pointer (pmd_pgtable() of ' +
    'a none PMD) or a table that had been freed: the locks that should keep the PMD to the collapse did not.',
  (ev) => {
    if (ev.type !== 'pmd_install') return null;
    const where = `CPU${ev.cpu} ${ev.fn} on ${ev.pmd_table}[${ev.slot}]`;
    const details = { cpu: ev.cpu, fn: ev.fn, pmd_table: ev.pmd_table, slot: ev.slot };
    if (ev.garbage === true) {
      return { message: `${where}: pmd_populate(pmd_pgtable(_pmd)) of a none _pmd, a garbage table pointer (the PTE table was freed since check_pmd_still_valid())`, details };
    }
    if (ev.old !== null) {
      return { message: `${where}: the PMD was no longer none (${JSON.stringify(ev.old)}): another thread populated it while the collapse had it cleared, and it is overwritten`, details };
    }
    if (ev.table !== null && (ev.state !== 'pgtable' || ev.page_gen !== ev.gen)) {
      return { message: `${where}: re-links ${ev.table} (gen ${ev.gen}), which is now ${ev.state} (gen ${ev.page_gen}): a stale table pointer`, details };
    }
    return null;
  },
);
