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
 * A huge leaf PMD (a THP khugepaged installed, or a hugetlb page) is handled in place by
 * gup_fast_pmd_leaf(): grab the folio, re-check the PMD, record the subpages (gup.c served 0092cb38,
 * sources §5 item 7). The folio references are tracked (state.ts FolioState): khugepaged's
 * __collapse_huge_page_isolate() checks them, which is the other half of the race 70cbc3cc78a9
 * closed (mm/khugepaged.ts). gup_fast_hugetlb() is the same walk for an address of the mm's
 * hugetlb mapping (mm/hugetlb.ts), where the PMD table may be shared.
 *
 * Not modelled: FOLL_PIN's write_protect_seq (fork), huge leaf PUDs, permission and special-PTE
 * checks (pmd_special()), gup_fast_folio_allowed(), the unshare (COW) check.
 */
import { access, local, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { local_irq_restore, local_irq_save } from '../include/linux/irqflags.js';
import { dataPage, entry_same, entry_val, page_folio, pgdTable, pmd_present, thpSubpage, walker_read_entry } from '../include/linux/pgtable.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { cpuLoc, folioLoc, type FolioState, type PtEntry } from '../state.js';
import { HUGETLB_PGD_INDEX, hugetlbOf, hugetlbPage } from './hugetlb.js';

function tablePtr(e: PtEntry): { table: string; gen: number } | null {
  return e !== null && 'table' in e ? e : null;
}

/**
 * try_grab_folio_fast(page, refs, flags): take `refs` speculative references on the page's folio
 * (folio_try_get() semantics: fails on a folio whose refcount dropped to zero, here one khugepaged
 * released after copying it). Returns null on failure, else whether khugepaged had already isolated
 * the folio for a collapse (ghost: its refcount check is behind it, so it will not see this pin).
 */
function* try_grab_folio_fast(cur: Ctx, page: string, refs: number): Proc<{ isolated: boolean } | null> {
  void cur;
  const folio = page_folio(page);
  const loc = folioLoc(folio);
  return yield* access<{ isolated: boolean } | null>({
    fn: 'try_grab_folio_fast',
    desc: `grab ${page}`,
    cost: { cls: 'folio_grab' },
    reads: [loc],
    writes: [loc],
    // folio_ref_try_add(): references taken and dropped by GUP-fast commute with each other.
    commutes: 'folio_ref',
    effect: ([f]) => {
      const st = f as FolioState;
      if (st.state === 'freed') return { result: null, note: `${folio} was freed: refcount zero, no reference taken` };
      return {
        writes: [[loc, { ...st, pins: st.pins + refs }]],
        result: { isolated: st.state === 'isolated' },
        note: st.state === 'isolated' ? `${folio} is isolated for a collapse: khugepaged will not see this reference` : undefined,
      };
    },
  });
}

/** gup_put_folio(folio, refs, flags): drop the references a failed re-check gives back. */
function* gup_put_folio(cur: Ctx, page: string, refs: number, why: string): Proc<void> {
  void cur;
  const loc = folioLoc(page_folio(page));
  yield* access({
    fn: 'gup_put_folio',
    desc: `${why}: drop ${page}`,
    reads: [loc],
    writes: [loc],
    commutes: 'folio_ref',
    effect: ([f]) => ({ writes: [[loc, { ...(f as FolioState), pins: (f as FolioState).pins - refs }]] }),
  });
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
    const grabbed = yield* try_grab_folio_fast(cur, pte.pfn, 1);
    if (grabbed === null) break;
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
      yield* gup_put_folio(cur, pte.pfn, 1, 'entry changed');
      break;
    }
    pages.push({ index: i, pfn: pte.pfn, isolated: grabbed.isolated });
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
  // split and migration entries (issue #11): `if (!pmd_present(pmd)) return 0;` ends the walk on
  // a migration entry; arm64's old pmd_mkinvalid() makes one present (and pmd_leaf()).
  if (pmdv !== null && 'migration' in pmdv) return yield* gup_fast_swap_pmd(cur, mm, pmdv);
  if (pmdv !== null && 'pfn' in pmdv) {
    const subpages = Array.from({ length: nr }, (_, k) => ({ index: first + k, pfn: thpSubpage(mm, slot, first + k) }));
    return yield* gup_fast_pmd_leaf(cur, pmdv, pmdT, slot, subpages);
  }
  const pteT = tablePtr(pmdv);
  if (!pteT) return [];
  return yield* gup_fast_pte_range(cur, pteT, pmdT, slot, first, nr);
}

/**
 * gup_fast_pmd_leaf(orig, pmdp, addr, end): `orig` is the leaf PMD read from entry `slot` of PMD
 * table `pmdT`; `pages` are the subpages [addr, end) covers (record_subpages()), the first being
 * pmd_page(orig) + index. An invalidated PMD (a split in progress, pmd_mkinvalid()) fails
 * pmd_access_permitted(). Otherwise try_grab_folio_fast(page, refs) on the huge folio, then the
 * leaf re-check (unconditional, older than 70cbc3cc78a9): pmd_val(orig) must equal
 * pmd_val(*pmdp), else gup_put_folio() and stop.
 */
function* gup_fast_pmd_leaf(cur: Ctx, orig: { pfn: string; invalid?: boolean }, pmdT: { table: string; gen: number }, slot: number, pages: readonly { index: number; pfn: string }[]): Proc<Pinned[]> {
  const head = pages[0];
  if (orig.invalid === true || head === undefined) return [];
  const grabbed = yield* try_grab_folio_fast(cur, head.pfn, pages.length);
  if (grabbed === null) return [];
  const again = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pmd_leaf', pmdT.table, pmdT.gen, slot, 'pmd');
  if (!entry_same(again, orig)) {
    yield* gup_put_folio(cur, head.pfn, pages.length, 'huge PMD changed');
    return [];
  }
  return pages.map((p) => ({ ...p, isolated: grabbed.isolated }));
}

/**
 * gup_fast_pmd_range() on a PMD migration entry (issue #11; mm/gup.c as of v6.10, where the check
 * order is the same back to 84c3fc4e9c56): `if (!pmd_present(pmd)) return 0;` stops at a
 * migration entry. A present-invalid one (arm64 pmd_mkinvalid() before e783331c7720 applied by
 * __split_huge_pmd_locked() before 3a5a8d343e1c) passes pmd_present() and pmd_leaf() (no
 * PMD_TABLE_BIT in a swap entry): the walker takes its swap fields for a huge leaf, which the
 * `swap_pmd_present` event reports (no-present-swap-pmd). It then stops in gup_fast_pmd_leaf():
 * pmd_access_permitted() (arm64: PTE_VALID and PTE_USER set) fails, since pmd_mkinvalid() cleared
 * PMD_SECT_VALID, so no page is pinned. (pmd_protnone() before it is decided by a swap offset
 * bit, PTE_PROT_NONE; either way the walk ends with nothing pinned.)
 */
function* gup_fast_swap_pmd(cur: Ctx, mm: string, pmd: { migration: string; invalid?: boolean }): Proc<Pinned[]> {
  if (!pmd_present(pmd)) {
    yield* local({ fn: 'gup_fast_pmd_range', desc: `!pmd_present(): a migration entry of ${pmd.migration}, return 0` });
    return [];
  }
  yield* local({ fn: 'gup_fast_pmd_leaf', desc: 'pmd_present() && pmd_leaf() on a swap PMD; pmd_access_permitted() fails (PMD_SECT_VALID clear): return 0' }, undefined, [
    { type: 'swap_pmd_present', cpu: cur.cpu, walker: 'gup_fast', fn: 'gup_fast_pmd_range', mm, migration: pmd.migration },
  ]);
  return [];
}

/**
 * The IRQ-off region of gup_fast(): local_irq_save(); under S3 (v4 1/3, sync_targeted != off)
 * publish the mm being walked with a full barrier before the first load and clear it with a
 * release after the last; local_irq_restore().
 */
function* gup_fast_irq_region<T>(cur: Ctx, mm: string, walk: () => Proc<T>): Proc<T> {
  const flags = yield* local_irq_save(cur, 'gup_fast');
  const tracked = cur.k.config.sync_targeted !== 'off';
  if (tracked) {
    yield* access({
      fn: 'gup_fast',
      desc: `this_cpu_write(active_lockless_pt_walk_mm, ${mm})`,
      writes: [cpuLoc.active_lockless_pt_walk_mm(cur.cpu)],
      ordering: 'store',
      effect: () => ({ writes: [[cpuLoc.active_lockless_pt_walk_mm(cur.cpu), mm]] }),
    });
    yield* access({ fn: 'gup_fast', desc: 'smp_mb()', ordering: 'full' });
  }
  const result = yield* walk();
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
  return result;
}

/**
 * gup_fast(start, nr_pages): the IRQ-off lockless walk of current->mm. Returns the pinned pages
 * and reports them in a `gup_fast_done` event, for gup-fast-pins-own-pages, with the pages the mm
 * can map at each address: the small page (`expected`, `<mm>.p<slot>.<i>`: the model never renames
 * a data page) and the THP subpage (`huge`, `<mm>.thp<slot>.<i>`) after a collapse; and, for
 * no-gup-fast-pin-of-collapsed-page, the pages whose folio khugepaged had isolated when the
 * reference was taken (`collapsing`).
 */
export function* gup_fast(cur: Ctx, slot: number, first: number, nr: number): Proc<string[]> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`gup_fast on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const pinned = yield* gup_fast_irq_region(cur, mm, () => gup_fast_pgd_range(cur, mm, slot, first, nr));
  const pages = pinned.map((p) => p.pfn);
  yield* local({ fn: 'gup_fast', desc: `pinned ${pages.length} page(s)` }, undefined, [
    {
      type: 'gup_fast_done',
      cpu: cur.cpu,
      mm,
      pages,
      expected: pinned.map((p) => dataPage(mm, slot, p.index)),
      huge: pinned.map((p) => thpSubpage(mm, slot, p.index)),
      collapsing: pinned.filter((p) => p.isolated).map((p) => p.pfn),
    },
  ]);
  return pages;
}

/**
 * gup_fast() of huge page `page` of PMD table `t` of the current mm's hugetlb mapping:
 * gup_fast_pgd_range() reads PGD entry HUGETLB_PGD_INDEX, gup_fast_pud_range() the PUD entry (no
 * PUD re-check exists, sources §5), gup_fast_pmd_range() the PMD entry of the (possibly shared)
 * PMD table; a leaf goes to gup_fast_pmd_leaf() with the one page (a non-leaf entry, possible only
 * after a reuse installed a PTE table, ends the walk: the model's reuse installs leaves), all in
 * gup_fast_irq_region(). Reports `gup_fast_done` with the page the mm maps there,
 * `<file>.h<t>.<page>`, for gup-fast-pins-own-pages.
 */
export function* gup_fast_hugetlb(cur: Ctx, t: number, page: number): Proc<string[]> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`gup_fast on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const { file } = hugetlbOf(cur.k, mm);
  const pinned = yield* gup_fast_irq_region(cur, mm, function* (): Proc<Pinned[]> {
    const pgd = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pgd_range', pgdTable(mm), 1, HUGETLB_PGD_INDEX, 'pgd');
    const pud = tablePtr(pgd);
    if (!pud) return [];
    const pudv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pud_range', pud.table, pud.gen, t, 'pud');
    const pmdT = tablePtr(pudv);
    if (!pmdT) return [];
    const pmdv = yield* walker_read_entry(cur, 'gup_fast', 'gup_fast_pmd_range', pmdT.table, pmdT.gen, page, 'pmd');
    if (pmdv === null || !('pfn' in pmdv)) return [];
    return yield* gup_fast_pmd_leaf(cur, pmdv, pmdT, page, [{ index: page, pfn: pmdv.pfn }]);
  });
  const pages = pinned.map((p) => p.pfn);
  yield* local({ fn: 'gup_fast', desc: `pinned ${pages.length} page(s)` }, undefined, [
    { type: 'gup_fast_done', cpu: cur.cpu, mm, pages, expected: pages.map(() => hugetlbPage(file.name, t, page)) },
  ]);
  return pages;
}

interface Pinned {
  readonly index: number;
  readonly pfn: string;
  /** The folio was isolated for a collapse when the reference was taken. */
  readonly isolated: boolean;
}
