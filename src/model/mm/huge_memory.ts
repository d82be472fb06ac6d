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
import { mmSpec, vmaAt } from '../kernel.js';
import { tlb_flush_pmd_range, type mmu_gather } from '../include/asm-generic/tlb.js';
import { describeEntry, is_pmd_migration_entry, pgdTable, pxd_read, thpSubpage } from '../include/linux/pgtable.js';
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
  const vma = vmaAt(cur.k, mm, slot);
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
function* refill_pte_table(cur: Ctx, fn: string, mm: string, table: string, slot: number, migration = false): Proc<number> {
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
        // A migration entry splits into PTE migration entries (make_migration_entry() per subpage).
        writes: [[pageLoc(table), next], ...entries.map((l, i): [Loc, Value] => [l, migration ? { migration: thpSubpage(mm, slot, i) } : { pfn: thpSubpage(mm, slot, i) }])],
        result: gen,
        events: [{ type: 'pt_reuse', cpu: cur.cpu, fn, comm: cur.comm, table, gen: pg.gen, now_gen: gen, owner: pg.owner, stale, reuse: 'refilled the withdrawn' }],
        note: `${table} gen ${pg.gen} -> ${gen}: now maps ${mm}'s slot ${slot} through the THP's subpages`,
      };
    },
  });
}

/**
 * __split_huge_pmd_locked(vma, pmd, haddr, freeze = false) for an anonymous THP or a PMD migration
 * entry (`pmd`, read under the PMD lock), with the PMD lock held. By split_pmd_invalidate:
 *  - 'present_only' (3a5a8d343e1c, read at the mm/huge_memory.c of its v1, 25 Apr 2024, and the
 *    mainline form that follows it): a migration entry is only read (`old_pmd = *pmd`), a present
 *    THP goes through pmdp_invalidate();
 *  - 'always' (84c3fc4e9c56 until 3a5a8d343e1c): `old_pmd = pmdp_invalidate()` first, then
 *    is_pmd_migration_entry(old_pmd).
 * Then pgtable_trans_huge_withdraw(); set_ptes() of the subpages, or of PTE migration entries for
 * a migration entry (the reuse, above); smp_wmb() (implied: sequential consistency);
 * pmd_populate(). Rmap and refcount updates of the THP are not modelled: the folio stays mapped.
 */
function* __split_huge_pmd_locked(cur: Ctx, mm: string, pmdTable: string, slot: number, pmd: PtEntry): Proc<void> {
  let old: PtEntry;
  if (cur.k.config.split_pmd_invalidate === 'always' || !is_pmd_migration_entry(pmd)) {
    old = yield* pmdp_invalidate(cur, mm, pmdTable, slot);
  } else {
    old = pmd;
    yield* local({ fn: '__split_huge_pmd_locked', desc: `old_pmd = *pmd: ${describeEntry(pmd)}, no pmdp_invalidate()` });
  }
  const migration = is_pmd_migration_entry(old);
  const pgtable = yield* pgtable_trans_huge_withdraw(cur, '__split_huge_pmd_locked', pmdTable);
  const gen = yield* refill_pte_table(cur, '__split_huge_pmd_locked', mm, pgtable, slot, migration);
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
 * pmd_lock(), split_huge_pmd_locked() if the PMD is still a THP (pmd_trans_huge()) or a migration
 * entry (is_pmd_migration_entry()), unlock.
 */
export function* __split_huge_pmd(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<boolean> {
  yield* spin_lock(cur, '__split_huge_pmd', page_table_lock(mm));
  const pmd = yield* pxd_read(cur, 'split_huge_pmd_locked', pmdTable, slot);
  const huge = (pmd !== null && 'pfn' in pmd && pmd.invalid !== true) || is_pmd_migration_entry(pmd);
  if (huge) yield* __split_huge_pmd_locked(cur, mm, pmdTable, slot, pmd);
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

// ---------------------------------------------------------------------------------------------
// PMD migration entries (issue #11): mm/huge_memory.c set_pmd_migration_entry(),
// remove_migration_pmd() (CONFIG_ARCH_ENABLE_THP_MIGRATION; x86-64 and arm64 select it), read at
// torvalds mm/huge_memory.c as of v6.10 (the 3a5a8d343e1c form of __split_huge_pmd_locked()).

/**
 * set_pmd_migration_entry(pvmw, page) for the THP mapping 2 MiB slot `slot`, from try_to_migrate()
 * with the folio locked and the PMD lock held (page_vma_mapped_walk()): pmdval =
 * pmdp_invalidate() (with its flush), then set_pmd_at() of a migration swap entry of the head page
 * (make_readable/writable_migration_entry(), pmd_swp_mksoft_dirty() ... not modelled). The rmap,
 * folio_try_share_anon_rmap_pmd() and the refcount are not modelled. Returns whether it replaced a
 * present THP.
 */
function* set_pmd_migration_entry(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<boolean> {
  const pmd = yield* pxd_read(cur, 'set_pmd_migration_entry', pmdTable, slot);
  if (pmd === null || !('pfn' in pmd) || pmd.invalid === true) return false;
  const old = yield* pmdp_invalidate(cur, mm, pmdTable, slot);
  const head = old !== null && 'pfn' in old ? old.pfn : thpSubpage(mm, slot, 0);
  const loc = ptLoc(pmdTable, slot);
  yield* access({
    fn: 'set_pmd_migration_entry',
    desc: `set_pmd_at(${pmdTable}[${slot}], swp_entry_to_pmd(migration entry of ${head}))`,
    cost: { cls: 'pt_write' },
    reads: [],
    writes: [loc],
    effect: () => ({ writes: [[loc, { migration: head }]], note: `migration entry of ${head}` }),
  });
  return true;
}

/**
 * remove_migration_pmd(pvmw, new) (from remove_migration_ptes() after the copy, PMD lock held):
 * if the PMD is still the migration entry, set_pmd_at() of a huge PMD of the new folio
 * (mk_huge_pmd(), pmd_mkold(); no flush: the entry was not present) and update_mmu_cache_pmd()
 * (nothing on x86 and arm64). The model maps the same page name again: data pages are names
 * (docs/model.md §5.2), and GUP-fast's own-page check knows the mm's THP by that name. A PMD that
 * a split turned into a table in the meantime holds PTE migration entries, which
 * remove_migration_pte() would restore: not modelled, they stay. Returns whether it restored.
 */
function* remove_migration_pmd(cur: Ctx, pmdTable: string, slot: number): Proc<boolean> {
  void cur;
  const loc = ptLoc(pmdTable, slot);
  return yield* access<boolean>({
    fn: 'remove_migration_pmd',
    desc: `set_pmd_at(${pmdTable}[${slot}], mk_huge_pmd(new folio))`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => {
      const entry = e as PtEntry;
      if (!is_pmd_migration_entry(entry)) return { result: false, note: `not a PMD migration entry any more: ${describeEntry(entry)}` };
      return { writes: [[loc, { pfn: entry.migration }]], result: true, note: `maps ${entry.migration} again` };
    },
  });
}

/**
 * migrate_pages() of the THP mapping 2 MiB slot `slot` of `mm` (move_pages(2), NUMA balancing or
 * compaction), reduced to its page-table steps and run by one task: mmap_read_lock() (the callers
 * hold at most that); the PMD; try_to_migrate() -> set_pmd_migration_entry() under the PMD lock;
 * then, when `split` is set, a split of the PMD while the entry is in place (__split_huge_pmd(),
 * as a concurrent partial mprotect()/munmap() or deferred split does: the path 3a5a8d343e1c is
 * about); the copy (a cost step); remove_migration_ptes() -> remove_migration_pmd() under the PMD
 * lock; mmap_read_unlock(). The folio lock, isolation, the refcount freeze and the new folio are
 * not modelled. Nothing happens if the slot is not mapped by a THP.
 */
export function* migrate_thp(cur: Ctx, mm: string, slot: number, split: boolean): Proc<boolean> {
  yield* mmap_read_lock(cur, 'migrate_pages', mm);
  let migrated = false;
  const pmdT = (yield* vma_covers(cur, 'migrate_pages', mm, slot)) ? yield* pmd_table_of(cur, 'migrate_pages', mm) : null;
  if (pmdT !== null) {
    yield* spin_lock(cur, 'try_to_migrate_one', page_table_lock(mm));
    migrated = yield* set_pmd_migration_entry(cur, mm, pmdT, slot);
    yield* spin_unlock(cur, 'try_to_migrate_one', page_table_lock(mm));
  }
  if (pmdT !== null && migrated) {
    if (split) yield* __split_huge_pmd(cur, mm, pmdT, slot);
    yield* local({ fn: 'migrate_folio', desc: 'copy the THP to the new folio' }, { cls: 'thp_copy' });
    yield* spin_lock(cur, 'remove_migration_pte', page_table_lock(mm));
    yield* remove_migration_pmd(cur, pmdT, slot);
    yield* spin_unlock(cur, 'remove_migration_pte', page_table_lock(mm));
  } else {
    yield* local({ fn: 'migrate_pages', desc: `slot ${slot} is not mapped by a THP: nothing to migrate` });
  }
  yield* mmap_read_unlock(cur, 'migrate_pages', mm);
  return migrated;
}
