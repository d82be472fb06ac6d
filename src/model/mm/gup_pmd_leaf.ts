/**
 * mm/gup.c, the leaf-PMD case of GUP-fast (gup.c served 0092cb38, sources §5 item 7), kept apart
 * from mm/gup.ts so that it can be called from there without a conflicting edit:
 *
 *  - gup_fast_pmd_leaf(): the helper gup_fast_pmd_range() calls when the PMD it read is a leaf (a
 *    THP or a hugetlb page). Any walk that finds a leaf PMD can call it.
 *  - gup_fast_hugetlb(): gup_fast() for an address of the mm's hugetlb mapping (mm/hugetlb.ts):
 *    PGD entry 1 -> the mapping's PUD table -> a (possibly shared) PMD table -> a leaf PMD.
 *
 * Not modelled, as in mm/gup.ts: pmd_special(), gup_fast_folio_allowed(), gup_must_unshare(),
 * FOLL_PIN's write_protect_seq, folio refcount failure, the S3 active_lockless_pt_walk_mm tracking.
 */
import { local, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { local_irq_restore, local_irq_save } from '../include/linux/irqflags.js';
import { entry_val, pgdTable, walker_read_entry } from '../include/linux/pgtable.js';
import type { PtEntry } from '../state.js';
import { HUGETLB_PGD_INDEX, hugetlbOf, hugetlbPage } from './hugetlb.js';

function tablePtr(e: PtEntry): { table: string; gen: number } | null {
  return e !== null && 'table' in e ? e : null;
}

/**
 * gup_fast_pmd_leaf(orig, pmdp, addr, end, flags, pages, nr): `orig` is the leaf PMD value read
 * from entry `index` of PMD table `pmdTable` (reached through a pointer of generation `gen`).
 * try_grab_folio_fast() on its folio; then re-check that the PMD still holds `orig`
 * (pmd_val(orig) != pmd_val(*pmdp): gup_put_folio() and fail). Returns the pinned page, or null.
 * The huge page is pinned as one page here (record_subpages() is not modelled).
 */
export function* gup_fast_pmd_leaf(cur: Ctx, pmdTable: { table: string; gen: number }, index: number, orig: { pfn: string }): Proc<string | null> {
  yield* local({ fn: 'try_grab_folio_fast', desc: `grab ${orig.pfn}` }, { cls: 'folio_grab' });
  const again = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pmd_leaf', pmdTable.table, pmdTable.gen, index, 'pmd');
  if (entry_val(again) !== orig.pfn) {
    yield* local({ fn: 'gup_put_folio', desc: `PMD changed: drop ${orig.pfn}` });
    return null;
  }
  return orig.pfn;
}

/**
 * gup_fast() of huge page `page` of PMD table `t` of the current mm's hugetlb mapping:
 * local_irq_save(); gup_fast_pgd_range() reads PGD entry 1, gup_fast_pud_range() the PUD entry
 * (no PUD re-check exists, sources §5), gup_fast_pmd_range() the PMD entry; a leaf goes to
 * gup_fast_pmd_leaf() (a non-leaf entry, possible only after a reuse installed a PTE table, ends
 * the walk: the model's reuse installs leaves); local_irq_restore(). Reports `gup_fast_done` with
 * the page the mm maps there, `<file>.h<t>.<page>`, for gup-fast-pins-own-pages.
 */
export function* gup_fast_hugetlb(cur: Ctx, t: number, page: number): Proc<string[]> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`gup_fast on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const { file } = hugetlbOf(cur.k, mm);
  const flags = yield* local_irq_save(cur, 'gup_fast');
  let pinned: string | null = null;
  const pgd = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pgd_range', pgdTable(mm), 1, HUGETLB_PGD_INDEX, 'pgd');
  const pud = tablePtr(pgd);
  if (pud) {
    const pudv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pud_range', pud.table, pud.gen, t, 'pud');
    const pmdT = tablePtr(pudv);
    if (pmdT) {
      const pmdv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pmd_range', pmdT.table, pmdT.gen, page, 'pmd');
      if (pmdv !== null && 'pfn' in pmdv) pinned = yield* gup_fast_pmd_leaf(cur, pmdT, page, pmdv);
    }
  }
  yield* local_irq_restore(cur, 'gup_fast', flags);
  const pages = pinned === null ? [] : [pinned];
  yield* local({ fn: 'gup_fast', desc: `pinned ${pages.length} page(s)` }, undefined, [
    { type: 'gup_fast_done', cpu: cur.cpu, mm, pages, expected: pages.map(() => hugetlbPage(file.name, t, page)) },
  ]);
  return pages;
}
