/**
 * mm/gup.c: GUP-fast, the lockless software page-table walker.
 *
 * gup_fast(): local_irq_save(); walk PGD -> P4D -> PUD -> PMD of current->mm with single lockless
 * loads; map the PTE table with pte_offset_map() (rcu_read_lock() nested in the IRQ-off region);
 * per PTE: read it, grab a reference on the folio (try_grab_folio_fast()), then re-check that
 * the PMD and the PTE are unchanged (else drop the reference and stop); local_irq_restore().
 *
 * Disabling IRQs both holds off the RCU-deferred table free and blocks the sync IPI of
 * tlb_remove_table_sync_one(). The re-checks catch changes to entries already read, not a table
 * freed or reused under the walk: that is what the synchronisation on the freeing side is for.
 *
 * Not modelled: FOLL_PIN's write_protect_seq (fork), huge leaf PUD/PMD (no THP in this model's
 * GUP-fast), folio refcount failure, permission and special-PTE checks.
 */
import { access, local, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { local_irq_restore, local_irq_save } from '../include/linux/irqflags.js';
import { dataPage, entry_val, pgdTable, walker_read_entry } from '../include/linux/pgtable.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { cpuLoc, type PtEntry } from '../state.js';

function tablePtr(e: PtEntry): { table: string; gen: number } | null {
  return e !== null && 'table' in e ? e : null;
}

/**
 * gup_fast_pte_range(): pin up to `nr` pages starting at PTE `first` of the PTE table the PMD
 * value `pmd` points to. Returns the pinned pages.
 */
function* gup_fast_pte_range(cur: Ctx, pmd: { table: string; gen: number }, pmdTable: { table: string; gen: number }, slot: number, first: number, nr: number): Proc<Pinned[]> {
  const pages: Pinned[] = [];
  // pte_offset_map(): rcu_read_lock()
  yield* rcu_read_lock(cur, 'pte_offset_map');
  for (let i = first; i < first + nr; i++) {
    const pte = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pte_range', pmd.table, pmd.gen, i, 'pte');
    if (pte === null || !('pfn' in pte)) break;
    yield* local({ fn: 'try_grab_folio_fast', desc: `grab ${pte.pfn}` }, { cls: 'folio_grab' });
    let ok = true;
    if (cur.k.config.gup_fast_pmd_recheck) {
      const again = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pte_range', pmdTable.table, pmdTable.gen, slot, 'pmd');
      ok = entry_val(again) === pmd.table;
    }
    if (ok) {
      const pteAgain = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pte_range', pmd.table, pmd.gen, i, 'pte');
      ok = entry_val(pteAgain) === pte.pfn;
    }
    if (!ok) {
      yield* local({ fn: 'gup_put_folio', desc: `entry changed: drop ${pte.pfn}` });
      break;
    }
    pages.push({ index: i, pfn: pte.pfn });
  }
  // pte_unmap(): rcu_read_unlock()
  yield* rcu_read_unlock(cur, 'pte_unmap');
  return pages;
}

/** gup_fast_pgd_range() -> p4d (folded) -> gup_fast_pud_range() -> gup_fast_pmd_range() -> PTEs. */
function* gup_fast_pgd_range(cur: Ctx, mm: string, slot: number, first: number, nr: number): Proc<Pinned[]> {
  const pgd = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pgd_range', pgdTable(mm), 1, 0, 'pgd');
  const pud = tablePtr(pgd);
  if (!pud) return [];
  const pudv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pud_range', pud.table, pud.gen, 0, 'pud');
  const pmdT = tablePtr(pudv);
  if (!pmdT) return [];
  const pmdv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pmd_range', pmdT.table, pmdT.gen, slot, 'pmd');
  const pteT = tablePtr(pmdv);
  if (!pteT) return [];
  return yield* gup_fast_pte_range(cur, pteT, pmdT, slot, first, nr);
}

/**
 * gup_fast(start, nr_pages): the IRQ-off lockless walk of current->mm. Returns the pinned pages
 * and reports them in a `gup_fast_done` event, with the page each address maps in the mm's own
 * page tables (the model never remaps a data page), for gup-fast-pins-own-pages.
 */
export function* gup_fast(cur: Ctx, slot: number, first: number, nr: number): Proc<string[]> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`gup_fast on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const flags = yield* local_irq_save(cur, 'gup_fast');
  const tracked = cur.k.config.sync_targeted !== 'off';
  if (tracked) {
    // S3 (v4 1/3): publish the mm being walked, then a full barrier, before the first load.
    yield* access({
      fn: 'gup_fast',
      desc: `this_cpu_write(active_lockless_pt_walk_mm, ${mm})`,
      writes: [cpuLoc.active_lockless_pt_walk_mm(cur.cpu)],
      ordering: 'store',
      effect: () => ({ writes: [[cpuLoc.active_lockless_pt_walk_mm(cur.cpu), mm]] }),
    });
    yield* access({ fn: 'gup_fast', desc: 'smp_mb()', ordering: 'full' });
  }
  const pinned = yield* gup_fast_pgd_range(cur, mm, slot, first, nr);
  if (tracked) {
    yield* access({
      fn: 'gup_fast',
      desc: 'smp_store_release(active_lockless_pt_walk_mm, NULL)',
      writes: [cpuLoc.active_lockless_pt_walk_mm(cur.cpu)],
      ordering: 'store',
      effect: () => ({ writes: [[cpuLoc.active_lockless_pt_walk_mm(cur.cpu), null]] }),
    });
  }
  yield* local_irq_restore(cur, 'gup_fast', flags);
  const pages = pinned.map((p) => p.pfn);
  yield* local({ fn: 'gup_fast', desc: `pinned ${pages.length} page(s)` }, undefined, [
    { type: 'gup_fast_done', cpu: cur.cpu, mm, pages, expected: pinned.map((p) => dataPage(mm, slot, p.index)) },
  ]);
  return pages;
}

interface Pinned {
  readonly index: number;
  readonly pfn: string;
}
