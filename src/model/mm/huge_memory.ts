/**
 * mm/huge_memory.c (linux-mm, served 00cb34b0): what happens to an anonymous THP's PMD after
 * khugepaged installed it (mm/khugepaged.ts), as far as page-table pages are concerned.
 *
 *  - __split_huge_pmd(): under the PMD lock, __split_huge_pmd_locked() marks the huge PMD invalid
 *    (pmdp_invalidate(), which flushes), withdraws a deposited PTE table
 *    (pgtable_trans_huge_withdraw()), fills it with PTEs mapping the THP's subpages (set_ptes()),
 *    smp_wmb(), and links it (pmd_populate()). The table khugepaged deposited is thereby REUSED:
 *    a walker that loaded the PMD before the collapse and still reads that page now reads the new
 *    entries. The model marks the reuse with a ghost generation bump in the same step as the refill
 *    (docs/model.md §5.18), so that no-walk-of-reused-table (I-2) reports such a walker.
 *  - zap_huge_pmd(): munmap / MADV_DONTNEED of a whole huge PMD clears it and frees the deposited
 *    table (zap_deposited_table()). In the snapshot read that free is pte_free_defer(), i.e.
 *    call_rcu(); mainline as the author knows it used pte_free(), at once (docs/model.md §6).
 *    Either way the table has been unlinked since the collapse, whose walker sync is what
 *    protected walkers that loaded the old PMD.
 *
 * The PMD lock is mm->page_table_lock in the model (mm/memory.ts page_table_lock()), the lock the
 * fault path's pmd_install() takes too.
 */
import { access, local, type Loc, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import { tlb_flush_pmd_range, type mmu_gather } from '../include/asm-generic/tlb.js';
import { describeEntry, pgdTable, pxd_read, thpSubpage } from '../include/linux/pgtable.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/locking/rwsem.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { page_table_lock } from './memory.js';
import { pagetable_free, staleWalkCacheEntries, walkCacheReads } from './page_alloc.js';
import { pgtable_trans_huge_withdraw, pmdp_invalidate } from './pgtable-generic.js';
import { call_rcu } from '../kernel/rcu/tree.js';
import { mmLoc, pageLoc, ptLoc, type PageState, type PtEntry } from '../state.js';

function tableOf(e: PtEntry): string | null {
  return e !== null && 'table' in e ? e.table : null;
}

/**
 * The mm's PMD table, found by plain reads of PGD[0] and PUD[0] (the caller holds the mmap_lock,
 * which keeps them: only free_pgd_range() of the last VMA clears them, under the write lock or
 * after detaching every VMA). null when the mm has none.
 */
export function* pmd_table_of(cur: Ctx, fn: string, mm: string): Proc<string | null> {
  const pgd = yield* pxd_read(cur, fn, pgdTable(mm), 0);
  const pudT = tableOf(pgd);
  if (pudT === null) return null;
  return tableOf(yield* pxd_read(cur, fn, pudT, 0));
}

/** find_vma() under the mmap_lock: is a mapped VMA of `mm` covering 2 MiB slot `slot`? */
export function* vma_covers(cur: Ctx, fn: string, mm: string, slot: number): Proc<boolean> {
  void cur;
  const vma = mmSpec(cur.k, mm).vmas.find((v) => slot >= v.start && slot < v.end);
  return yield* access<boolean>({
    fn,
    desc: `find_vma(slot ${slot})`,
    reads: [mmLoc.vmas(mm)],
    effect: ([v]) => {
      const ok = vma !== undefined && (v as readonly string[]).includes(vma.name);
      return { result: ok, note: ok ? `in VMA ${vma?.name}` : 'no mapped VMA there' };
    },
  });
}

/**
 * Fill a withdrawn PTE table with the PTEs that map the THP's subpages (the set_ptes() of
 * __split_huge_pmd_locked()) and give the page a new ghost generation in the same step: the first
 * write that reuses it. The step also reads every CPU's walk cache (a ghost read, as
 * pagetable_free() does) and reports, in a `pt_reuse` event, the non-leaf entries that still point
 * at the page's old generation (no-stale-walk-cache, I-3 for reuse). Returns the new generation.
 */
function* refill_pte_table(cur: Ctx, fn: string, mm: string, table: string, slot: number): Proc<number> {
  const n = mmSpec(cur.k, mm).ptes_per_table;
  const entries: Loc[] = Array.from({ length: n }, (_, i) => ptLoc(table, i));
  return yield* access<number>({
    fn,
    desc: `set_ptes(${table}[0..${n - 1}], ${thpSubpage(mm, slot, 0)}..): the withdrawn table is reused`,
    cost: { cls: 'pt_write', n },
    reads: [pageLoc(table), ...walkCacheReads(cur)],
    writes: [pageLoc(table), ...entries],
    effect: (vals) => {
      const pg = vals[0] as PageState;
      if (pg.state !== 'pgtable') throw new Error(`${fn}: withdrew ${table}, which is ${pg.state}`);
      const stale = staleWalkCacheEntries(cur, table, pg.gen, vals, 1);
      const gen = pg.gen + 1;
      const next: PageState = { ...pg, gen };
      return {
        writes: [[pageLoc(table), next], ...entries.map((l, i): [Loc, Value] => [l, { pfn: thpSubpage(mm, slot, i) }])],
        result: gen,
        events: [{ type: 'pt_reuse', cpu: cur.cpu, fn, comm: cur.comm, table, gen: pg.gen, now_gen: gen, owner: pg.owner, stale, reuse: 'refilled the withdrawn' }],
        note: `${table} gen ${pg.gen} -> ${gen}: now maps ${mm}'s slot ${slot} through the THP's subpages`,
      };
    },
  });
}

/**
 * __split_huge_pmd_locked(vma, pmd, haddr, freeze = false) for an anonymous THP, with the PMD lock
 * held: pmdp_invalidate(); pgtable_trans_huge_withdraw(); set_ptes() of the subpages (the reuse,
 * above); smp_wmb() (implied: sequential consistency); pmd_populate(). Rmap and refcount updates of
 * the THP (folio_ref_add(), folio_add_anon_rmap_ptes()) are not modelled: the folio stays mapped.
 */
function* __split_huge_pmd_locked(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<void> {
  yield* pmdp_invalidate(cur, mm, pmdTable, slot);
  const pgtable = yield* pgtable_trans_huge_withdraw(cur, '__split_huge_pmd_locked', pmdTable);
  const gen = yield* refill_pte_table(cur, '__split_huge_pmd_locked', mm, pgtable, slot);
  const loc = ptLoc(pmdTable, slot);
  yield* access({
    fn: '__split_huge_pmd_locked',
    desc: `pmd_populate(${pmdTable}[${slot}], ${pgtable})`,
    cost: { cls: 'pt_write' },
    reads: [],
    writes: [loc],
    effect: () => ({ writes: [[loc, { table: pgtable, gen }]], note: `-> ${pgtable} (gen ${gen})` }),
  });
}

/**
 * __split_huge_pmd(vma, pmd, address, freeze = false): the mmu notifier range (not modelled),
 * pmd_lock(), split_huge_pmd_locked() if the PMD is still a THP (pmd_trans_huge()), unlock.
 */
export function* __split_huge_pmd(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<boolean> {
  yield* spin_lock(cur, '__split_huge_pmd', page_table_lock(mm));
  const pmd = yield* pxd_read(cur, 'split_huge_pmd_locked', pmdTable, slot);
  const huge = pmd !== null && 'pfn' in pmd && pmd.invalid !== true;
  if (huge) yield* __split_huge_pmd_locked(cur, mm, pmdTable, slot);
  yield* spin_unlock(cur, '__split_huge_pmd', page_table_lock(mm));
  return huge;
}

/**
 * A task of `mm` splits the THP mapping 2 MiB slot `slot`, as a partial mprotect(), mremap() or
 * MADV_DONTNEED of a THP does (split_huge_pmd() from the VMA code): mmap_read_lock() (mprotect and
 * mremap take it for write; the read lock lets the model run it beside GUP-fast, faults and other
 * readers, which only adds interleavings), find_vma(), the PMD, __split_huge_pmd(),
 * mmap_read_unlock(). Nothing happens if the slot is not mapped by a THP.
 */
export function* split_huge_pmd(cur: Ctx, mm: string, slot: number): Proc<boolean> {
  yield* mmap_read_lock(cur, 'split_huge_pmd', mm);
  let split = false;
  if (yield* vma_covers(cur, 'split_huge_pmd', mm, slot)) {
    const pmdT = yield* pmd_table_of(cur, 'split_huge_pmd', mm);
    if (pmdT !== null) split = yield* __split_huge_pmd(cur, mm, pmdT, slot);
  }
  if (!split) yield* local({ fn: 'split_huge_pmd', desc: `slot ${slot} is not mapped by a THP: nothing to split` });
  yield* mmap_read_unlock(cur, 'split_huge_pmd', mm);
  return split;
}

/**
 * zap_deposited_table(mm, pmd) (linux-mm 00cb34b0): pgtable_trans_huge_withdraw(), then
 * pte_free_defer(): the generic one, call_rcu(&page->rcu_head, pte_free_now), so the table is
 * freed after a grace period; mm_dec_nr_ptes() is not modelled. The withdrawn table is reported as
 * unhooked (`pt_unhook`) for the simulator's accounting of tables waiting to be freed.
 */
function* zap_deposited_table(cur: Ctx, pmdTable: string): Proc<void> {
  const pgtable = yield* pgtable_trans_huge_withdraw(cur, 'zap_deposited_table', pmdTable);
  yield* local({ fn: 'zap_deposited_table', desc: `pte_free_defer(${pgtable})` }, undefined, [{ type: 'pt_unhook', cpu: cur.cpu, fn: 'zap_deposited_table', table: pgtable }]);
  yield* call_rcu(cur, `${pgtable}->rcu_head`, (cb) => pagetable_free(cb, 'pte_free_now', pgtable), 'pte_free_now');
}

/**
 * zap_huge_pmd(tlb, vma, pmd, addr) for an anonymous THP, from zap_pmd_range() when the zapped
 * range covers the whole PMD: __pmd_trans_huge_lock() (the PMD lock, if the PMD is still huge),
 * pmdp_huge_get_and_clear_full(), tlb_remove_pmd_tlb_entry() (a PMD-level flush range:
 * cleared_pmds), zap_deposited_table(), unlock; the THP itself goes to the gather
 * (tlb_remove_page_size(): data pages are not tracked). A PMD split in the meantime (now a table) is
 * left to the caller, as the kernel's zap_pmd_range() falls back to zap_pte_range().
 * Returns whether it zapped a huge PMD.
 */
export function* zap_huge_pmd(cur: Ctx, tlb: mmu_gather, pmdTable: string, slot: number): Proc<boolean> {
  const mm = tlb.mm;
  yield* spin_lock(cur, 'zap_huge_pmd', page_table_lock(mm));
  const loc = ptLoc(pmdTable, slot);
  const zapped = yield* access<boolean>({
    fn: 'zap_huge_pmd',
    desc: `pmdp_huge_get_and_clear_full(${pmdTable}[${slot}])`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => {
      const entry = e as PtEntry;
      if (entry === null || !('pfn' in entry)) return { result: false, note: `not huge any more: ${describeEntry(entry)}` };
      return { writes: [[loc, null]], result: true, note: `was ${describeEntry(entry)}` };
    },
  });
  if (zapped) {
    tlb_flush_pmd_range(tlb, slot);
    yield* zap_deposited_table(cur, pmdTable);
  }
  yield* spin_unlock(cur, 'zap_huge_pmd', page_table_lock(mm));
  return zapped;
}
