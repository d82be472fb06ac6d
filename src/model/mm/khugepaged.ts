/**
 * mm/khugepaged.c (linux-mm, served 001dba13, listed 3658aa78): anonymous collapse,
 * collapse_huge_page(), reduced to what matters to page-table pages and lockless walkers. Both
 * khugepaged and MADV_COLLAPSE (madvise_collapse()) end here.
 *
 *   mmap_write_lock(); hugepage_vma_revalidate(); vma_start_write(); check_pmd_still_valid();
 *   anon_vma_lock_write(); mmu_notifier_invalidate_range_start();
 *   pmd_lock(); _pmd = pmdp_collapse_flush(): clear the PMD that links the PTE table, flush the
 *   2 MiB (x86: flush_tlb_mm_range(..., freed_tables = true), which IPIs every CPU of mm_cpumask,
 *   lazy ones too; arm64: a walk-cache TLBI that interrupts nobody); spin_unlock();
 *   mmu_notifier_invalidate_range_end();
 *   tlb_remove_table_sync_one(): wait for every GUP-fast that loaded the old PMD (2ba99c5e0881);
 *   pte_offset_map_lock(mm, &_pmd): the old table, under its PTE lock;
 *   __collapse_huge_page_isolate(): per PTE, folio_trylock(), then the refcount check
 *   (folio_expected_ref_count() != folio_ref_count(): a GUP pin, give up: SCAN_PAGE_COUNT), then
 *   isolate; on failure re-link the old table (pmd_populate()) and give up;
 *   __collapse_huge_page_copy(): copy every small page into the THP, then clear the old PTEs and
 *   release the small folios;
 *   pmd_lock(); pgtable_trans_huge_deposit(): the old PTE table is kept for a later split, i.e.
 *   REUSED, not freed; map_anon_folio_pmd_nopf(): set the huge PMD; spin_unlock();
 *   mmap_write_unlock().
 *
 * The table is modified and reused, not freed: that is why the walker sync is needed even though
 * RCU table freeing protects every free (kernel.md §2.4, §7.2). GUP-fast's PMD re-check
 * (70cbc3cc78a9) is the other half: a GUP-fast that read the old PMD and grabs a small page after
 * the refcount check must notice that the PMD changed, or it keeps a pin on a page that is no
 * longer mapped (kernel.md §7.1).
 *
 * Not modelled: the scan (collapse_scan_pmd()) and the read-locked first revalidation, swap-in,
 * mTHP orders, the anon_vma lock and mmu notifiers (no rmap walkers or secondary MMUs in the
 * model), the referenced/young and max_ptes_* heuristics, the folio lock and LRU isolation, memcg,
 * copy failure (SCAN_COPY_MC). docs/model.md §5.18.
 */
import { access, local, type Loc, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { describeEntry, page_folio, pxd_read, thpPage } from '../include/linux/pgtable.js';
import { mmap_write_lock, mmap_write_unlock } from '../kernel/locking/rwsem.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { synchronize_rcu } from '../kernel/rcu/tree.js';
import { pmd_table_of, vma_covers } from './huge_memory.js';
import { page_table_lock } from './memory.js';
import { tlb_remove_table_sync_one_mm, tlb_remove_table_sync_rcu } from './mmu_gather.js';
import { runHook } from '../strategy-hooks.js';
import { ptl } from './page_alloc.js';
import { pgtable_trans_huge_deposit, pmdp_collapse_flush, pmdp_get_lockless_sync, pte_free_defer } from './pgtable-generic.js';
import { new_mmu_gather, tlb_flush_pte_range } from '../include/asm-generic/tlb.js';
import { folioLoc, pageLoc, ptLoc, type FolioState, type PageState, type PtEntry } from '../state.js';
import { vmaAt } from '../kernel.js';
import { vma_end_write_all, vma_start_write } from '../include/linux/mmap_lock.js';

/** The outcomes of collapse_huge_page() the model can reach (enum scan_result). */
export type ScanResult =
  | 'SCAN_SUCCEED'
  | 'SCAN_VMA_NULL'
  | 'SCAN_NO_PTE_TABLE'
  | 'SCAN_PMD_MAPPED'
  | 'SCAN_PAGE_COUNT'
  | 'SCAN_PTE_MAPPED_HUGEPAGE';

/**
 * The walker sync after pmdp_collapse_flush(), per config.collapse_sync:
 *  'sync_one'        tlb_remove_table_sync_one() (2ba99c5e0881). Through
 *                    tlb_remove_table_sync_one_mm(), so that S3's targeted IPIs apply when
 *                    configured (v4 1/3 converted this caller too); the v8 skip may elide it.
 *  'sync_rcu'        tlb_remove_table_sync_rcu() (S4; the v8 skip applies to it as well)
 *  'synchronize_rcu' synchronize_rcu() (S4, never skipped)
 *  'none'            before 2ba99c5e0881
 * A strategy file's collapse_sync hook replaces it (model/strategy-hooks.ts).
 */
function* collapse_walker_sync(cur: Ctx, mm: string): Proc<void> {
  yield* runHook(cur, 'collapse_sync', { mm }, () => collapse_walker_sync_body(cur, mm));
}

function* collapse_walker_sync_body(cur: Ctx, mm: string): Proc<void> {
  switch (cur.k.config.collapse_sync) {
    case 'sync_one':
      return yield* tlb_remove_table_sync_one_mm(cur, mm);
    case 'sync_rcu':
      return yield* tlb_remove_table_sync_rcu(cur, mm);
    case 'synchronize_rcu':
      return yield* synchronize_rcu(cur, 'collapse_huge_page');
    case 'none':
      yield* local({ fn: 'collapse_huge_page', desc: 'no walker sync (before 2ba99c5e0881)' });
      return;
  }
}

/**
 * __collapse_huge_page_isolate(): with the old table's PTE lock held, for each PTE: none is
 * allowed (khugepaged's default max_ptes_none is 511); a subpage of a THP (a PTE-mapped THP) is
 * not collapsed by the model (SCAN_PTE_MAPPED_HUGEPAGE); otherwise the refcount check, one step per
 * PTE with the PTE read: a folio with a GUP reference (pins > 0) fails with SCAN_PAGE_COUNT,
 * else it is isolated. On failure the folios isolated so far are put back (release_pte_pages()).
 * Returns the isolated small pages by PTE index, or the failure.
 */
function* __collapse_huge_page_isolate(cur: Ctx, table: string, n: number): Proc<{ result: ScanResult; pages: ReadonlyArray<string | null> }> {
  const pages: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const pteLoc = ptLoc(table, i);
    const step = yield* access<{ page: string | null; result: ScanResult }>({
      fn: '__collapse_huge_page_isolate',
      desc: `ptep_get(${table}[${i}])`,
      reads: [pteLoc],
      effect: ([e]) => {
        const pte = e as PtEntry;
        if (pte === null || !('pfn' in pte)) return { result: { page: null, result: 'SCAN_SUCCEED' }, note: 'pte_none: allowed' };
        return { result: { page: pte.pfn, result: page_folio(pte.pfn) !== pte.pfn ? 'SCAN_PTE_MAPPED_HUGEPAGE' : 'SCAN_SUCCEED' }, note: `maps ${pte.pfn}` };
      },
    });
    let result = step.result;
    if (step.page !== null && result === 'SCAN_SUCCEED') {
      const loc = folioLoc(step.page);
      result = yield* access<ScanResult>({
        fn: '__collapse_huge_page_isolate',
        desc: `folio_expected_ref_count(${step.page}) == folio_ref_count()? then isolate it`,
        reads: [loc],
        writes: [loc],
        effect: ([f]) => {
          const st = f as FolioState;
          if (st.pins > 0) return { result: 'SCAN_PAGE_COUNT', note: `${step.page} has ${st.pins} GUP reference(s): SCAN_PAGE_COUNT` };
          return { writes: [[loc, { ...st, state: 'isolated' }]], result: 'SCAN_SUCCEED', note: `${step.page} isolated` };
        },
      });
    }
    if (result !== 'SCAN_SUCCEED') {
      yield* release_pte_pages(cur, pages.filter((p): p is string => p !== null));
      return { result, pages };
    }
    pages.push(step.page);
  }
  return { result: 'SCAN_SUCCEED', pages };
}

/** release_pte_pages(): put the isolated folios back (folio_unlock(), folio_putback_lru()). */
function* release_pte_pages(cur: Ctx, pages: readonly string[]): Proc<void> {
  void cur;
  if (pages.length === 0) return;
  const locs: Loc[] = pages.map(folioLoc);
  yield* access({
    fn: 'release_pte_pages',
    desc: `put back ${pages.join(', ')}`,
    reads: locs,
    writes: locs,
    effect: (vals) => ({ writes: locs.map((l, i): [Loc, Value] => [l, { ...(vals[i] as FolioState), state: 'mapped' }]) }),
  });
}

/**
 * __collapse_huge_page_copy(): copy_mc_user_highpage() of every small page into the THP (a cost
 * step: data is not modelled), then __collapse_huge_page_copy_succeeded(): under the PTE lock, clear
 * the old PTEs (clear_ptes(), folio_remove_rmap_ptes()); then drop the mapping's reference of each
 * small folio (folio_put_refs()): one with no GUP reference left is freed, one that GUP-fast still
 * holds stays, unmapped (the lost-write state of 70cbc3cc78a9).
 */
function* __collapse_huge_page_copy(cur: Ctx, table: string, pages: ReadonlyArray<string | null>): Proc<void> {
  yield* local({ fn: '__collapse_huge_page_copy', desc: `copy ${pages.filter((p) => p !== null).length} small page(s) into the THP` }, { cls: 'thp_copy' });
  yield* spin_lock(cur, '__collapse_huge_page_copy_succeeded', ptl(table));
  const ptes: Loc[] = pages.map((_, i) => ptLoc(table, i));
  yield* access({
    fn: '__collapse_huge_page_copy_succeeded',
    desc: `clear_ptes(${table}[0..${pages.length - 1}])`,
    cost: { cls: 'pt_write', n: pages.length },
    reads: [],
    writes: ptes,
    effect: () => ({ writes: ptes.map((l): [Loc, Value] => [l, null]) }),
  });
  yield* spin_unlock(cur, '__collapse_huge_page_copy_succeeded', ptl(table));
  const small = pages.filter((p): p is string => p !== null);
  if (small.length === 0) return;
  const locs: Loc[] = small.map(folioLoc);
  yield* access({
    fn: '__collapse_huge_page_copy_succeeded',
    desc: `folio_put_refs() of ${small.join(', ')}`,
    reads: locs,
    writes: locs,
    effect: (vals) => {
      const next = locs.map((l, i): [Loc, Value] => {
        const st = vals[i] as FolioState;
        return [l, st.pins > 0 ? st : { ...st, state: 'freed' }];
      });
      const kept = small.filter((_, i) => (vals[i] as FolioState).pins > 0);
      return { writes: next, note: kept.length ? `still referenced by GUP, unmapped: ${kept.join(', ')}` : 'freed' };
    },
  });
}

/**
 * collapse_huge_page(mm, address): collapse the PTE-mapped 2 MiB slot `slot` of `mm` into a THP
 * (`<mm>.thp<slot>`). Returns the scan result.
 */
export function* collapse_huge_page(cur: Ctx, mm: string, slot: number): Proc<ScanResult> {
  const thp = thpPage(mm, slot);
  // alloc_charge_folio(): the THP is a name (data pages are not tracked, docs/model.md §5.2).
  yield* local({ fn: 'alloc_charge_folio', desc: `allocate and charge ${thp}` }, { cls: 'page_alloc' });
  yield* mmap_write_lock(cur, 'collapse_huge_page', mm);
  const vmaLocked = { done: false };
  const result = yield* collapse_locked(cur, mm, slot, thp, vmaLocked);
  // out_up_write: mmap_write_unlock() -> vma_end_write_all(), when a VMA was write-locked.
  if (vmaLocked.done) yield* vma_end_write_all(cur, 'mmap_write_unlock', mm);
  yield* mmap_write_unlock(cur, 'collapse_huge_page', mm);
  return result;
}

/**
 * vma_start_write(vma) in collapse_huge_page(), at the place config.collapse_vma_start_write puts
 * it (per-VMA locks, issue #11): 'before_check' (366a4532d96f, before check_pmd_still_valid()),
 * 'after_check' (v6.4 "mm/khugepaged: write-lock VMA while collapsing a huge page" until
 * 366a4532d96f), 'none' (without it).
 */
function* collapse_vma_start_write(cur: Ctx, mm: string, slot: number, at: 'before_check' | 'after_check', locked: { done: boolean }): Proc<void> {
  if (!cur.k.config.per_vma_lock || cur.k.config.collapse_vma_start_write !== at) return;
  const vma = vmaAt(cur.k, mm, slot);
  if (vma === undefined) return;
  yield* vma_start_write(cur, 'collapse_huge_page', mm, vma.name);
  locked.done = true;
}

/** collapse_huge_page() between mmap_write_lock() and out_up_write. */
function* collapse_locked(cur: Ctx, mm: string, slot: number, thp: string, vmaLocked: { done: boolean }): Proc<ScanResult> {
  // hugepage_vma_revalidate(): an anonymous VMA spanning the whole PMD (the model's VMAs are whole
  // slots).
  if (!(yield* vma_covers(cur, 'hugepage_vma_revalidate', mm, slot))) return 'SCAN_VMA_NULL';
  yield* collapse_vma_start_write(cur, mm, slot, 'before_check', vmaLocked);
  // check_pmd_still_valid() -> find_pmd_or_thp_or_none() -> check_pmd_state()
  const pmdT = yield* pmd_table_of(cur, 'find_pmd_or_thp_or_none', mm);
  if (pmdT === null) return 'SCAN_NO_PTE_TABLE';
  const pmd = yield* pxd_read(cur, 'check_pmd_state', pmdT, slot);
  if (pmd === null) return 'SCAN_NO_PTE_TABLE';
  if ('pfn' in pmd) return 'SCAN_PMD_MAPPED';
  yield* collapse_vma_start_write(cur, mm, slot, 'after_check', vmaLocked);
  const n = cur.k.mms.get(mm)?.ptes_per_table ?? 0;

  // pmd_ptl = pmd_lock(); _pmd = pmdp_collapse_flush(); spin_unlock(pmd_ptl);
  yield* spin_lock(cur, 'collapse_huge_page', page_table_lock(mm));
  const _pmd = yield* pmdp_collapse_flush(cur, mm, pmdT, slot);
  yield* spin_unlock(cur, 'collapse_huge_page', page_table_lock(mm));
  if (_pmd !== null && !('table' in _pmd)) throw new Error(`collapse_huge_page: ${pmdT}[${slot}] became huge under the mmap_lock: ${describeEntry(_pmd)}`);

  yield* collapse_walker_sync(cur, mm);

  // pte_offset_map_lock(mm, &_pmd, ...): the stack copy cannot change, so no retry. It fails on a
  // none _pmd, which only a table freed since check_pmd_still_valid() leaves (PT_RECLAIM under the
  // VMA lock, before 366a4532d96f): result = SCAN_NO_PTE_TABLE, then the failure path.
  let iso: { result: ScanResult; pages: ReadonlyArray<string | null> } = { result: 'SCAN_NO_PTE_TABLE', pages: [] };
  if (_pmd !== null) {
    yield* spin_lock(cur, 'pte_offset_map_lock', ptl(_pmd.table));
    iso = yield* __collapse_huge_page_isolate(cur, _pmd.table, n);
    yield* spin_unlock(cur, 'collapse_huge_page', ptl(_pmd.table));
  } else {
    yield* local({ fn: 'pte_offset_map_lock', desc: 'pmdp_collapse_flush() returned a none PMD: pte_offset_map_lock() fails, SCAN_NO_PTE_TABLE' });
  }
  if (iso.result !== 'SCAN_SUCCEED') {
    // Re-link the old table: pmd_populate(mm, pmd, pmd_pgtable(_pmd)), under the PMD lock.
    yield* spin_lock(cur, 'collapse_huge_page', page_table_lock(mm));
    yield* collapse_install_pmd(cur, 'pmd_populate', pmdT, slot, _pmd, true);
    yield* spin_unlock(cur, 'collapse_huge_page', page_table_lock(mm));
    return iso.result;
  }
  const table = (_pmd as { table: string }).table;

  yield* __collapse_huge_page_copy(cur, table, iso.pages);
  // __folio_mark_uptodate(): its smp_wmb() orders the copy before set_pmd_at() (implied: SC).
  yield* spin_lock(cur, 'collapse_huge_page', page_table_lock(mm));
  yield* pgtable_trans_huge_deposit(cur, pmdT, table);
  yield* collapse_install_pmd(cur, 'map_anon_folio_pmd_nopf', pmdT, slot, { pfn: thp }, false);
  yield* spin_unlock(cur, 'collapse_huge_page', page_table_lock(mm));
  return 'SCAN_SUCCEED';
}

/**
 * Under the PMD lock, the two writes that end collapse_huge_page(): on the failure path
 * pmd_populate(mm, pmd, pmd_pgtable(_pmd)) (`repopulate`: `e` is the stack copy _pmd), on success
 * set_pmd_at() of the huge PMD. Both expect the entry to be none (the kernel's
 * WARN_ON_ONCE(!pmd_none(*pmd)), a BUG_ON() before v6.17), and the re-populate expects _pmd to
 * link a live PTE table. The step reports a `pmd_install` event with what it found, which
 * no-bad-pmd-populate checks (docs/model.md §4): pmd_pgtable() of a none _pmd is the struct page
 * of PFN 0, a garbage table (Lai Yi's report that led to 366a4532d96f: unmap_page_range() of the
 * exiting mm then takes the lock of that "table"). The model reports it and leaves the entry none,
 * so that the run can go on.
 */
function* collapse_install_pmd(cur: Ctx, fn: string, pmdT: string, slot: number, e: PtEntry, repopulate: boolean): Proc<void> {
  const loc = ptLoc(pmdT, slot);
  const target = e !== null && 'table' in e ? e : null;
  const garbage = repopulate && e === null;
  const reads: Loc[] = target ? [loc, pageLoc(target.table)] : [loc];
  yield* access({
    fn,
    desc: `${repopulate ? 'pmd_populate' : 'set_pmd_at'}(${pmdT}[${slot}], ${garbage ? 'pmd_pgtable(none)' : describeEntry(e)})`,
    cost: { cls: 'pt_write' },
    reads,
    writes: [loc],
    effect: ([old, pg]) => {
      const page = pg as PageState | undefined;
      return {
        writes: garbage ? [] : [[loc, e as Value]],
        note: garbage ? 'links pmd_pgtable() of a none PMD: a garbage table (the model leaves the entry none)' : undefined,
        events: [{
          type: 'pmd_install',
          cpu: cur.cpu,
          fn,
          pmd_table: pmdT,
          slot,
          old: old as Value,
          garbage,
          table: target?.table ?? null,
          gen: target?.gen ?? null,
          state: page?.state ?? null,
          page_gen: page?.gen ?? null,
        }],
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// File / shmem collapse (CONFIG_SHMEM / CONFIG_READ_ONLY_THP_FOR_FS), read at torvalds 00f58104.

/**
 * try_to_unmap(folio, TTU_IGNORE_MLOCK | TTU_BATCH_FLUSH) of each small page-cache folio that
 * `mm` maps in 2 MiB slot `slot`, as collapse_file() does before it replaces them in the page
 * cache, reduced to the page tables: under the PTE lock clear every PTE of the slot's table
 * (try_to_unmap_one()'s ptep_get_and_clear() per mapping), then try_to_unmap_flush(), the batched
 * flush: arch_tlbbatch_flush(), which on x86 is flush_tlb_multi() with freed_tables = false (lazy
 * CPUs skipped) -- modelled as the arch's tlb_flush() of a gather with a PTE-level range and no
 * freed tables. The table stays linked, empty: retract_page_tables() removes it. The page-cache
 * side (the xarray, folio locks and refcount checks, the copy into the new THP) is not modelled:
 * the folios of a file are not the model's anonymous data pages (docs/model.md §5.18).
 * Returns the PTE table, or null if the slot has none.
 */
function* try_to_unmap_slot(cur: Ctx, mm: string, slot: number): Proc<string | null> {
  const pmdT = yield* pmd_table_of(cur, 'try_to_unmap_one', mm);
  if (pmdT === null) return null;
  const pmd = yield* pxd_read(cur, 'try_to_unmap_one', pmdT, slot);
  if (pmd === null || !('table' in pmd)) return null;
  const table = pmd.table;
  const n = cur.k.mms.get(mm)?.ptes_per_table ?? 0;
  const ptes: Loc[] = Array.from({ length: n }, (_, i) => ptLoc(table, i));
  yield* spin_lock(cur, 'try_to_unmap_one', ptl(table));
  yield* access({
    fn: 'try_to_unmap_one',
    desc: `ptep_get_and_clear(${table}[0..${n - 1}])`,
    cost: { cls: 'pt_write', n },
    reads: [],
    writes: ptes,
    effect: () => ({ writes: ptes.map((l): [Loc, Value] => [l, null]) }),
  });
  yield* spin_unlock(cur, 'try_to_unmap_one', ptl(table));
  const tlb = new_mmu_gather(mm);
  tlb_flush_pte_range(tlb, slot);
  yield* cur.k.arch.tlb_flush(cur, tlb);
  return table;
}

/**
 * retract_page_tables(mapping, pgoff) for the mapping of the file by `mm` at 2 MiB slot `slot`
 * (the model's i_mmap holds that one VMA; i_mmap_lock_read() is not modelled: nothing else in the
 * model takes it). As since Hugh Dickins's v6.6 series (1d65b771bc08 "mm/khugepaged:
 * retract_page_tables() without mmap or vma lock"): no mmap_lock, no VMA lock.
 * find_pmd_or_thp_or_none() must find a PMD that links a PTE table; mmu notifiers are not modelled;
 * pml = pmd_lock(); ptl = pte_lockptr(), nested; the anon_vma / userfaultfd_wp() re-check (no
 * anon_vma or uffd in the model: passes); pgt_pmd = pmdp_collapse_flush() (the flush_tlb_range()
 * whose freed_tables x86 hard-codes since 3ef938c35035, config.x86_flush_tlb_range_freed_tables);
 * pmdp_get_lockless_sync(); unlock both; mm_dec_nr_ptes() (not modelled);
 * pte_free_defer(pmd_pgtable(pgt_pmd)). Returns the retracted table, or null.
 *
 * The table is FREED (after a grace period), not reused: the anonymous collapse's walker sync is
 * not needed (an RCU walker or an IRQ-off GUP-fast holds off the grace period), but a lazy CPU's
 * walk cache is not an RCU reader: only the flush removes it.
 */
export function* retract_page_tables(cur: Ctx, mm: string, slot: number): Proc<string | null> {
  // find_pmd_or_thp_or_none(mm, addr, &pmd) != SCAN_SUCCEED: continue
  const pmdT = yield* pmd_table_of(cur, 'find_pmd_or_thp_or_none', mm);
  if (pmdT === null) return null;
  const pmd = yield* pxd_read(cur, 'check_pmd_state', pmdT, slot);
  if (pmd === null || !('table' in pmd)) return null;
  const table = pmd.table;
  yield* spin_lock(cur, 'retract_page_tables', page_table_lock(mm));
  yield* spin_lock(cur, 'retract_page_tables', ptl(table));
  const pgt_pmd = yield* pmdp_collapse_flush(cur, mm, pmdT, slot);
  yield* pmdp_get_lockless_sync(cur, 'retract_page_tables');
  yield* spin_unlock(cur, 'retract_page_tables', ptl(table));
  yield* spin_unlock(cur, 'retract_page_tables', page_table_lock(mm));
  if (pgt_pmd === null || !('table' in pgt_pmd)) throw new Error(`retract_page_tables: ${pmdT}[${slot}] changed under the PTE lock: ${describeEntry(pgt_pmd)}`);
  yield* pte_free_defer(cur, 'retract_page_tables', pgt_pmd.table);
  return pgt_pmd.table;
}

/**
 * collapse_file(mm, addr, file, start, cc) (khugepaged's hpage_collapse_scan_file(), or
 * MADV_COLLAPSE, on a file or shmem VMA), reduced to the page tables: alloc_charge_folio() (a
 * name); try_to_unmap() of the small folios (above); the page cache now holds the THP;
 * retract_page_tables(). The THP is not mapped by a PMD here: the next fault maps it (or
 * MADV_COLLAPSE's collapse_pte_mapped_thp() installs it, not modelled). Runs without the
 * mmap_lock (khugepaged_scan_mm_slot() drops it before hpage_collapse_scan_file()).
 * Returns the scan result.
 */
export function* collapse_file(cur: Ctx, mm: string, slot: number): Proc<ScanResult> {
  yield* local({ fn: 'alloc_charge_folio', desc: `allocate and charge the page-cache THP for ${mm}'s slot ${slot}` }, { cls: 'page_alloc' });
  if (!(yield* vma_covers(cur, 'collapse_file', mm, slot))) return 'SCAN_VMA_NULL';
  yield* local({ fn: 'collapse_file', desc: 'copy the small folios into the THP, replace them in the page cache' }, { cls: 'thp_copy' });
  const unmapped = yield* try_to_unmap_slot(cur, mm, slot);
  if (unmapped === null) return 'SCAN_NO_PTE_TABLE';
  yield* retract_page_tables(cur, mm, slot);
  return 'SCAN_SUCCEED';
}
