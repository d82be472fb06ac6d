/**
 * mm/hugetlb.c: PMD table sharing for hugetlbfs (CONFIG_HUGETLB_PMD_PAGE_TABLE_SHARING), and the
 * unsharing that 1013af4f585f (CVE-2025-38085) and 8ce720d5bd91 are about. Read: linux-mm
 * mm/hugetlb.c, served 01af3bb0 (listed 9f28afe0) for huge_pmd_share(), __huge_pmd_unshare(),
 * huge_pmd_unshare(), huge_pmd_unshare_flush(); the 8ce720d5bd91 v1 diff (20251205213558.2980480-5)
 * for the 1013af4f585f form it replaced and for __unmap_hugepage_range().
 *
 * Sharing. Processes that map the same hugetlbfs file MAP_SHARED, 1 GiB-aligned, can link one PMD
 * table (whose entries are leaf PMDs mapping 2 MiB huge pages of the file) from their PUDs:
 * huge_pmd_share() finds a sharer's table under i_mmap_rwsem (read) and bumps
 * ptdesc->pt_share_count, which counts the mms linking the table besides one
 * (ptdesc_pmd_is_shared() = count != 0).
 *
 * Unsharing. huge_pmd_unshare() (i_mmap_rwsem held for write, PTL held) clears the caller's PUD
 * entry and drops a share reference. Once only one mm links the table, that mm owns it like any
 * other PMD table and may install ordinary entries in it (after a VMA split, a THP, a PTE table);
 * a GUP-fast of an unsharer that loaded the PUD before it was cleared would then walk the other
 * mm's page table. So before the table can be modified by its new owner, every walker that may
 * still hold the old PUD value must be gone:
 *  - before 1013af4f585f: nothing waited (config.hugetlb_unshare 'none');
 *  - 1013af4f585f: tlb_remove_table_sync_one() for every unshared table, under the PTL
 *    ('per_table_ipi'): one broadcast per 1 GiB of shared mapping, last sharer or not;
 *  - 8ce720d5bd91: tlb_unshare_pmd_ptdesc() records the unshare in the mmu_gather
 *    (unshared_tables, and fully_unshared_tables when the table became exclusive), and
 *    huge_pmd_unshare_flush() -> tlb_flush_unshared_tables() flushes once and broadcasts once, only
 *    if some table became exclusive, before i_mmap_rwsem is dropped ('batched'). A non-last
 *    unsharer needs no IPI: the table cannot become exclusive before the last unsharer broadcasts.
 *
 * Geometry (docs/model.md §5.20): an mm's hugetlb mapping hangs off PGD entry 1 (HUGETLB_PGD_INDEX),
 * through a PUD table of its own (`<mm>.hpud`, never freed) whose entry t links the file's PMD
 * table t (`<file>.pmd<t>` at boot); entry i of that table maps huge page `<file>.h<t>.<i>`.
 * mm/memory.ts, which handles PGD entry 0, never sees it.
 */
import { access, local, type Loc, type Proc, type Value } from '../../core/index.js';
import type { Ctx, HugetlbFileSpec, HugetlbMapping, Kernel } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import { tlb_flush_pmd_range, tlb_flush_pud_range, tlb_flush_mmu_tlbonly, tlb_unshare_pmd_ptdesc, ptdesc_pmd_pts_dec, type mmu_gather } from '../include/asm-generic/tlb.js';
import { describeEntry, pxd_clear, pxd_read, pxd_set } from '../include/linux/pgtable.js';
import { i_mmap_lock_read, i_mmap_lock_write, i_mmap_unlock_read, i_mmap_unlock_write, mmap_write_lock, mmap_write_unlock } from '../kernel/locking/rwsem.js';
import { lockLoc, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { tlb_flush_unshared_tables, tlb_remove_table, tlb_remove_table_sync_one } from './mmu_gather.js';
import { page_table_lock } from './memory.js';
import { pagetable_alloc, ptl } from './page_alloc.js';
import { cpuLoc, mappingLoc, mmLoc, pageLoc, ptdescLoc, ptLoc, rwsemTimedOutLoc, type PageState, type PtEntry, type TlbEntry } from '../state.js';

/** The PGD entry an mm's hugetlb mapping hangs off (entry 0 holds everything else). */
export const HUGETLB_PGD_INDEX = 1;
/** The PUD table of an mm's hugetlb range. */
export const hugetlbPudTable = (mm: string): string => `${mm}.hpud`;
/** PMD table `t` of a hugetlbfs file, as boot creates it. */
export const hugetlbPmdTable = (file: string, t: number): string => `${file}.pmd${t}`;
/** Huge page `i` of PMD table `t` of a file. */
export const hugetlbPage = (file: string, t: number, i: number): string => `${file}.h${t}.${i}`;
/** What `hugetlb_reuse` installs in entry `i` of a table it took over: a page of its owner. */
export const reusedPage = (owner: string, i: number): string => `${owner}.reused.${i}`;

export function hugetlbFile(k: Kernel, name: string): HugetlbFileSpec {
  const f = k.hugetlbfs?.get(name);
  if (!f) throw new Error(`no hugetlbfs file named '${name}'`);
  return f;
}

/** The mm's hugetlb mapping and its file; an error if it has none. */
export function hugetlbOf(k: Kernel, mm: string): { map: HugetlbMapping; file: HugetlbFileSpec } {
  const map = mmSpec(k, mm).hugetlb;
  if (!map) throw new Error(`mm ${mm} has no hugetlb mapping`);
  return { map, file: hugetlbFile(k, map.file) };
}

function tableOf(e: PtEntry): string | null {
  return e !== null && 'table' in e ? e.table : null;
}

// ---------------------------------------------------------------------------------------------
// Boot

/**
 * The hugetlb part of the initial state (called by boot.ts): for each file that some mm maps, its
 * PMD tables (generation 1, owned by the first mm that maps it, pt_share_count = mappers - 1, the
 * split PMD lock unlocked) full of leaf PMDs; for each mm with a hugetlb mapping, PGD[1] -> its
 * hugetlb PUD table, whose entry t links PMD table t of the file if the mapping is mapped at boot
 * (`mapped: false`: the entries are none, as after an exit, until an `mmap` shares them again);
 * each file's i_mmap_rwsem unlocked; the mapping's name in the mm's VMA list. Returns, per mm, the
 * walk-cache and TLB entries a warm CPU holds for the mapping.
 */
export function hugetlb_boot(k: Kernel, s: Map<Loc, Value>): Map<string, TlbEntry[]> {
  const warm = new Map<string, TlbEntry[]>();
  const mappers = new Map<string, string[]>();
  for (const mm of k.mms.values()) {
    if (!mm.hugetlb) continue;
    const l = mappers.get(mm.hugetlb.file) ?? [];
    if (mm.hugetlb.mapped !== false) l.push(mm.name);
    mappers.set(mm.hugetlb.file, l);
  }
  for (const [file, mms] of mappers) {
    const f = hugetlbFile(k, file);
    s.set(mappingLoc.i_mmap_rwsem(file), { writer: null, readers: 0 });
    s.set(rwsemTimedOutLoc(mappingLoc.i_mmap_rwsem(file)), 0);
    if (mms.length === 0) continue;
    for (let t = 0; t < f.tables; t++) {
      const table = hugetlbPmdTable(file, t);
      const st: PageState = { state: 'pgtable', gen: 1, owner: mms[0] as string, level: 'pmd' };
      s.set(pageLoc(table), st);
      s.set(ptdescLoc.pt_share_count(table), mms.length - 1);
      s.set(lockLoc(ptl(table)), null);
      for (let i = 0; i < f.pages; i++) s.set(ptLoc(table, i), { pfn: hugetlbPage(file, t, i) });
    }
  }
  for (const mm of k.mms.values()) {
    if (!mm.hugetlb) continue;
    const f = hugetlbFile(k, mm.hugetlb.file);
    const mapped = mm.hugetlb.mapped !== false;
    const hpud = hugetlbPudTable(mm.name);
    const st: PageState = { state: 'pgtable', gen: 1, owner: mm.name, level: 'pud' };
    s.set(pageLoc(hpud), st);
    s.set(ptLoc(`${mm.name}.pgd`, HUGETLB_PGD_INDEX), { table: hpud, gen: 1 });
    const entries: TlbEntry[] = [{ mm: mm.name, level: 'pgd', path: `${HUGETLB_PGD_INDEX}`, table: hpud, gen: 1, pfn: null }];
    for (let t = 0; t < f.tables; t++) {
      const table = hugetlbPmdTable(f.name, t);
      s.set(ptLoc(hpud, t), mapped ? { table, gen: 1 } : null);
      if (!mapped) continue;
      entries.push({ mm: mm.name, level: 'pud', path: `${HUGETLB_PGD_INDEX}.${t}`, table, gen: 1, pfn: null });
      for (let i = 0; i < f.pages; i++) {
        entries.push({ mm: mm.name, level: 'pmd', path: `${HUGETLB_PGD_INDEX}.${t}.${i}`, table: null, gen: null, pfn: hugetlbPage(f.name, t, i) });
      }
    }
    warm.set(mm.name, entries);
    if (mapped) {
      const vmas = (s.get(mmLoc.vmas(mm.name)) ?? []) as readonly string[];
      s.set(mmLoc.vmas(mm.name), [...vmas, mm.hugetlb.name]);
    }
  }
  return warm;
}

// ---------------------------------------------------------------------------------------------
// Sharing

/** ptdesc_pmd_pts_inc(): one more mm links the table. */
function* ptdesc_pmd_pts_inc(caller: string, table: string): Proc<void> {
  const loc = ptdescLoc.pt_share_count(table);
  yield* access({
    fn: caller,
    desc: `ptdesc_pmd_pts_inc(${table})`,
    reads: [loc],
    writes: [loc],
    effect: ([n]) => ({ writes: [[loc, (n as number) + 1]], note: `${(n as number) + 1} other sharer(s)` }),
  });
}

/** ptdesc_pmd_is_shared(): pt_share_count != 0. */
function* ptdesc_pmd_is_shared(caller: string, table: string): Proc<boolean> {
  const loc = ptdescLoc.pt_share_count(table);
  return yield* access<boolean>({
    fn: caller,
    desc: `ptdesc_pmd_is_shared(${table})`,
    reads: [loc],
    effect: ([n]) => ({ result: (n as number) > 0, note: `pt_share_count ${String(n)}` }),
  });
}

/**
 * Under mm->page_table_lock: if PUD entry `t` of the mm's hugetlb range is still none, link
 * `table` there (pud_populate()), at the table's current generation (ghost). Returns whether it did.
 */
function* pud_populate_locked(caller: string, mm: string, t: number, table: string): Proc<boolean> {
  const loc = ptLoc(hugetlbPudTable(mm), t);
  return yield* access<boolean>({
    fn: caller,
    desc: `pud_populate(${hugetlbPudTable(mm)}[${t}], ${table})`,
    cost: { cls: 'pt_write' },
    reads: [loc, pageLoc(table)],
    writes: [loc],
    effect: ([e, pg]) => {
      if (e !== null) return { result: false, note: `already ${describeEntry(e as PtEntry)}` };
      return { writes: [[loc, { table, gen: (pg as PageState).gen }]], result: true, note: `now -> ${table}` };
    },
  });
}

/**
 * huge_pmd_share(mm, vma, addr, pud) for PMD table `t` of the mm's hugetlb mapping:
 * i_mmap_lock_read(); vma_interval_tree_foreach() over the other VMAs mapping the file,
 * page_table_shareable() (the other mm still maps the whole file: its VMA is in its VMA list),
 * hugetlb_walk() of that mm to the PMD table (one step reading their PUD entries: they are stable
 * under i_mmap_rwsem, which every unsharer holds for write); ptdesc_pmd_pts_inc(); then under
 * mm->page_table_lock, pud_populate() if the PUD is still none, else ptdesc_pmd_pts_dec(). With no
 * sharer, pmd_alloc() gives the mm a PMD table of its own, which the hugetlb faults fill
 * (hugetlb_no_page() -> set_huge_pte_at(), one step per huge page here). i_mmap_unlock_read().
 */
export function* huge_pmd_share(cur: Ctx, mm: string, f: HugetlbFileSpec, t: number): Proc<void> {
  yield* i_mmap_lock_read(cur, 'huge_pmd_share', f.name);
  const others = [...cur.k.mms.values()].filter((m) => m.name !== mm && m.hugetlb?.file === f.name);
  const reads = others.flatMap((m) => [mmLoc.vmas(m.name), ptLoc(hugetlbPudTable(m.name), t)]);
  const spte = yield* access<string | null>({
    fn: 'huge_pmd_share',
    desc: `vma_interval_tree_foreach(${f.name}): a sharer's PMD table ${t}`,
    reads,
    effect: (vals) => {
      for (const [j, m] of others.entries()) {
        const mapped = (vals[2 * j] as readonly string[]).includes((m.hugetlb as HugetlbMapping).name);
        const table = tableOf(vals[2 * j + 1] as PtEntry);
        if (mapped && table !== null) return { result: table, note: `${m.name} links ${table}` };
      }
      return { result: null, note: 'no sharer' };
    },
  });
  if (spte !== null) {
    yield* ptdesc_pmd_pts_inc('huge_pmd_share', spte);
    yield* spin_lock(cur, 'huge_pmd_share', page_table_lock(mm));
    const linked = yield* pud_populate_locked('huge_pmd_share', mm, t, spte);
    if (!linked) yield* ptdesc_pmd_pts_dec(cur, 'huge_pmd_share', spte);
    yield* spin_unlock(cur, 'huge_pmd_share', page_table_lock(mm));
  } else {
    // pmd_alloc(): a table of our own (pmd_alloc_one(): pagetable_alloc() + pagetable_pmd_ctor(),
    // which initialises the split PMD lock and, with PMD sharing, pt_share_count = 0).
    const fresh = yield* pagetable_alloc(cur, 'pmd_alloc_one', mm, 'pmd', f.pages);
    yield* access({
      fn: 'pmd_alloc_one',
      desc: `pagetable_pmd_ctor(${fresh.page}): ptlock_init(), ptdesc_pmd_pts_init()`,
      writes: [lockLoc(ptl(fresh.page)), ptdescLoc.pt_share_count(fresh.page)],
      effect: () => ({ writes: [[lockLoc(ptl(fresh.page)), null], [ptdescLoc.pt_share_count(fresh.page), 0]] }),
    });
    yield* spin_lock(cur, '__pmd_alloc', page_table_lock(mm));
    const linked = yield* pud_populate_locked('__pmd_alloc', mm, t, fresh.page);
    yield* spin_unlock(cur, '__pmd_alloc', page_table_lock(mm));
    if (linked) {
      for (let i = 0; i < f.pages; i++) yield* pxd_set(cur, 'hugetlb_no_page', 'set_huge_pte_at', fresh.page, i, { pfn: hugetlbPage(f.name, t, i) });
    }
  }
  yield* i_mmap_unlock_read(cur, 'huge_pmd_share', f.name);
}

/**
 * huge_pte_alloc(mm, vma, addr, PMD_SIZE) for every table of the mapping, as fork's
 * copy_hugetlb_page_range() (or a first touch of each 1 GiB) does: if the PUD entry is none and
 * want_pmd_share(), huge_pmd_share(). The caller holds the mmap_lock for write.
 */
export function* hugetlb_share_all(cur: Ctx, mm: string): Proc<void> {
  const { file: f } = hugetlbOf(cur.k, mm);
  for (let t = 0; t < f.tables; t++) {
    const pud = yield* pxd_read(cur, 'huge_pte_alloc', hugetlbPudTable(mm), t);
    if (pud === null) yield* huge_pmd_share(cur, mm, f, t);
  }
}

// ---------------------------------------------------------------------------------------------
// Unsharing

/** pud_clear() of the mm's PUD entry `t` that links a shared table. No pt_unhook: nothing is freed. */
function* pud_clear_shared(cur: Ctx, mm: string, t: number): Proc<void> {
  void cur;
  const loc = ptLoc(hugetlbPudTable(mm), t);
  yield* access({
    fn: '__huge_pmd_unshare',
    desc: `pud_clear(${hugetlbPudTable(mm)}[${t}])`,
    cost: { cls: 'pt_write' },
    ordering: 'store',
    reads: [loc],
    writes: [loc],
    effect: ([e]) => ({ writes: [[loc, null]], note: `was ${describeEntry(e as PtEntry)}` }),
  });
}

/**
 * __huge_pmd_unshare(tlb, vma, addr, ptep, check_locks) for PMD table `t` (page `table`) of the
 * mm's mapping. Returns 0 (false) if the table is not shared (ptdesc_pmd_is_shared()); else, with
 * i_mmap_rwsem held for write (i_mmap_assert_write_locked(); the hugetlb VMA lock of check_locks
 * is not modelled) and the PTL held by the caller:
 *  - 'batched' (8ce720d5bd91, as read): pud_clear(); tlb_unshare_pmd_ptdesc();
 *  - 'per_table_ipi' (1013af4f585f): pud_clear(); tlb_remove_table_sync_one(); ptdesc_pmd_pts_dec();
 *  - 'none' (before 1013af4f585f): pud_clear(); ptdesc_pmd_pts_dec().
 * mm_dec_nr_pmds() is not modelled. Returns 1 (true).
 */
function* __huge_pmd_unshare(cur: Ctx, tlb: mmu_gather, mm: string, t: number, table: string): Proc<boolean> {
  const shared = yield* ptdesc_pmd_is_shared('huge_pmd_unshare', table);
  if (!shared) return false;
  yield* pud_clear_shared(cur, mm, t);
  switch (cur.k.config.hugetlb_unshare) {
    case 'batched':
    case 'batched_sync_after_unlock':
      yield* tlb_unshare_pmd_ptdesc(cur, tlb, table, t);
      break;
    case 'per_table_ipi':
      // "Once our caller drops the rmap lock, some other process might be using this page table
      // as a normal, non-hugetlb page table. Wait for pending gup_fast() in other threads to
      // finish before letting that happen." (1013af4f585f, paraphrased)
      yield* tlb_remove_table_sync_one(cur, mm);
      yield* ptdesc_pmd_pts_dec(cur, 'huge_pmd_unshare', table);
      break;
    case 'none':
      yield* ptdesc_pmd_pts_dec(cur, 'huge_pmd_unshare', table);
      break;
  }
  return true;
}

/** huge_pmd_unshare(tlb, vma, addr, ptep) = __huge_pmd_unshare(..., check_locks = true). */
export function huge_pmd_unshare(cur: Ctx, tlb: mmu_gather, mm: string, t: number, table: string): Proc<boolean> {
  return __huge_pmd_unshare(cur, tlb, mm, t, table);
}

/**
 * huge_pmd_unshare_flush(tlb, vma) (8ce720d5bd91): i_mmap_assert_write_locked() (the model's
 * callers hold it; the assertion is not a step), then tlb_flush_unshared_tables(). Must run after a
 * sequence of huge_pmd_unshare() calls and before i_mmap_rwsem is dropped.
 */
export function* huge_pmd_unshare_flush(cur: Ctx, tlb: mmu_gather): Proc<void> {
  yield* tlb_flush_unshared_tables(cur, tlb);
}

/**
 * __unmap_hugepage_range(tlb, vma, start, end, ...) over the whole hugetlb mapping of `mm`: for each
 * 1 GiB, hugetlb_walk() (the PUD entry), huge_pte_lock() (the PMD table's split lock, shared by
 * the sharers), huge_pmd_unshare(): if it unshared, skip the rest of the PUD (address |=
 * last_addr_mask); else the table is ours alone: clear each huge PMD (huge_ptep_get_and_clear()
 * and tlb_remove_huge_tlb_entry(), which records a PMD-level range). Then:
 *  - 'batched': huge_pmd_unshare_flush() (8ce720d5bd91);
 *  - 'batched_sync_after_unlock': nothing (tlb_finish_mmu() does it, after the unlock);
 *  - 'per_table_ipi' and 'none': the form before 8ce720d5bd91: each unshare recorded
 *    tlb_flush_pmd_range(tlb, address & PUD_MASK, PUD_SIZE) and force_flush; if force_flush,
 *    tlb_flush_mmu_tlbonly() (cleared_pmds only: no freed_tables, and unshared_tables did not
 *    exist, so x86 skips lazy CPUs and arm64 invalidates leaf entries only).
 * The caller holds i_mmap_rwsem for write.
 */
export function* __unmap_hugepage_range(cur: Ctx, tlb: mmu_gather, mm: string): Proc<void> {
  const { file: f } = hugetlbOf(cur.k, mm);
  const mode = cur.k.config.hugetlb_unshare;
  let force_flush = false;
  for (let t = 0; t < f.tables; t++) {
    const pud = yield* pxd_read(cur, 'hugetlb_walk', hugetlbPudTable(mm), t);
    const table = tableOf(pud);
    if (table === null) continue;
    yield* spin_lock(cur, 'huge_pte_lock', ptl(table));
    if (yield* huge_pmd_unshare(cur, tlb, mm, t, table)) {
      yield* spin_unlock(cur, '__unmap_hugepage_range', ptl(table));
      if (mode === 'per_table_ipi' || mode === 'none') {
        tlb_flush_pmd_range(tlb, t);
        force_flush = true;
      }
      continue;
    }
    for (let i = 0; i < f.pages; i++) {
      const old = yield* pxd_clear(cur, '__unmap_hugepage_range', 'huge_ptep_get_and_clear', table, i);
      if (old !== null) tlb_flush_pmd_range(tlb, t);
    }
    yield* spin_unlock(cur, '__unmap_hugepage_range', ptl(table));
  }
  if (mode === 'batched') yield* huge_pmd_unshare_flush(cur, tlb);
  else if ((mode === 'per_table_ipi' || mode === 'none') && force_flush) yield* tlb_flush_mmu_tlbonly(cur, tlb);
}

/**
 * The hugetlb VMA's part of unmap_vmas(): hugetlb_zap_begin() -> __hugetlb_zap_begin()
 * (i_mmap_lock_write(); hugetlb_vma_lock_write() is not modelled), unmap_single_vma() ->
 * __unmap_hugepage_range(), hugetlb_zap_end() (i_mmap_unlock_write()).
 */
export function* unmap_hugetlb_vma(cur: Ctx, tlb: mmu_gather, mm: string): Proc<void> {
  const { file: f } = hugetlbOf(cur.k, mm);
  yield* i_mmap_lock_write(cur, '__hugetlb_zap_begin', f.name);
  yield* __unmap_hugepage_range(cur, tlb, mm);
  yield* i_mmap_unlock_write(cur, '__hugetlb_zap_end', f.name);
}

/**
 * hugetlb_free_pgd_range() (free_pgd_range() on x86 and arm64) for the hugetlb range: a PMD table
 * still linked is one the mm owned alone (a shared one was unshared by the zap): pud_clear(), then
 * pmd_free_tlb() (tlb_flush_pud_range(), freed_tables, tlb_remove_table()). The hugetlb PUD table
 * and PGD entry 1 stay (docs/model.md §5.20).
 */
export function* hugetlb_free_pgd_range(cur: Ctx, tlb: mmu_gather, mm: string): Proc<void> {
  const { file: f } = hugetlbOf(cur.k, mm);
  for (let t = 0; t < f.tables; t++) {
    const pud = yield* pxd_read(cur, 'free_pud_range', hugetlbPudTable(mm), t);
    const table = tableOf(pud);
    if (table === null) continue;
    yield* pxd_clear(cur, 'free_pmd_range', 'pud_clear', hugetlbPudTable(mm), t);
    tlb_flush_pud_range(tlb, t);
    tlb.freed_tables = true;
    yield* tlb_remove_table(cur, tlb, table);
  }
}

// ---------------------------------------------------------------------------------------------
// Reuse of a table that became exclusive

/**
 * The reuse that makes unsharing dangerous (kernel.md §7.4): `mm` (the last mm linking PMD table
 * `t` of its hugetlb mapping) unmaps huge page `page` (a VMA split) and maps anonymous memory in
 * the hole, whose fault installs an ordinary entry in the table it now owns alone.
 *
 *  1. mmap_write_lock(); the zap of the huge page: __hugetlb_zap_begin() (i_mmap_lock_write()),
 *     huge_pte_lock(), huge_pmd_unshare() finds the table not shared, huge_ptep_get_and_clear();
 *     spin_unlock(), i_mmap_unlock_write(). If the table is still shared, the kernel's VMA split
 *     would unshare this mm's own link (hugetlb_unshare_pmds()); the model then stops: no reuse
 *     in that run.
 *  2. The anonymous fault: do_huge_pmd_anonymous_page() -> set_pmd_at() of a THP of the mm
 *     (`<mm>.reused.<page>`): the first modification of the table as an ordinary PMD table. In the
 *     same step, ghost: the table's generation is bumped (a reuse, for no-walk-of-reused-table),
 *     the mm's own PUD pointer is relinked at the new generation, and every CPU's walk cache is
 *     checked for entries of other mms still pointing at the table (a `pt_reuse` event, for
 *     no-stale-walk-cache). The split VMA is no longer a shareable mapping of the whole file: its
 *     name leaves the mm's VMA list.
 *  3. mmap_write_unlock().
 * The TLB flush after the zap (the mm's own, of its own leaf) is not modelled.
 * Returns whether the table was reused.
 */
export function* hugetlb_reuse(cur: Ctx, t: number, page: number): Proc<boolean> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`hugetlb_reuse on CPU${cur.cpu}: current->mm is NULL`);
  const { map, file: f } = hugetlbOf(cur.k, mm);
  yield* mmap_write_lock(cur, 'do_vmi_munmap', mm);
  yield* i_mmap_lock_write(cur, '__hugetlb_zap_begin', f.name);
  const pud = yield* pxd_read(cur, 'hugetlb_walk', hugetlbPudTable(mm), t);
  const table = tableOf(pud);
  let exclusive = false;
  if (table !== null) {
    yield* spin_lock(cur, 'huge_pte_lock', ptl(table));
    exclusive = !(yield* ptdesc_pmd_is_shared('huge_pmd_unshare', table));
    if (exclusive) yield* pxd_clear(cur, '__unmap_hugepage_range', 'huge_ptep_get_and_clear', table, page);
    else yield* local({ fn: 'hugetlb_reuse', desc: `${table} is still shared: no reuse in this run` });
    yield* spin_unlock(cur, '__unmap_hugepage_range', ptl(table));
  }
  yield* i_mmap_unlock_write(cur, '__hugetlb_zap_end', f.name);
  if (table !== null && exclusive) yield* reuse_write(cur, mm, map, t, table, page);
  yield* mmap_write_unlock(cur, 'do_vmi_munmap', mm);
  return table !== null && exclusive;
}

/** Step 2 of hugetlb_reuse(): set_pmd_at() of the mm's THP in the exclusive table, with the ghost reuse. */
function* reuse_write(cur: Ctx, mm: string, map: HugetlbMapping, t: number, table: string, page: number): Proc<void> {
  const cpus = cur.k.user_mm_cpus;
  const pudLoc = ptLoc(hugetlbPudTable(mm), t);
  const entryLoc = ptLoc(table, page);
  const thp = reusedPage(mm, page);
  yield* access({
    fn: 'do_huge_pmd_anonymous_page',
    desc: `set_pmd_at(${table}[${page}], ${thp}): ${table} reused as ${mm}'s own PMD table`,
    cost: { cls: 'pt_write' },
    reads: [pageLoc(table), pudLoc, mmLoc.vmas(mm), ...cpus.map(cpuLoc.tlb)],
    writes: [pageLoc(table), pudLoc, entryLoc, mmLoc.vmas(mm)],
    effect: (vals) => {
      const pg = vals[0] as PageState;
      const gen = pg.gen + 1;
      const stale: Value[] = [];
      cpus.forEach((c, i) => {
        for (const e of vals[3 + i] as readonly TlbEntry[]) {
          if (e.table === table && e.gen === pg.gen && e.mm !== mm) stale.push({ cpu: c, level: e.level, path: e.path, mm: e.mm });
        }
      });
      const vmas = (vals[2] as readonly string[]).filter((n) => n !== map.name);
      return {
        writes: [
          [pageLoc(table), { ...pg, gen, owner: mm }],
          [pudLoc, { table, gen }],
          [entryLoc, { pfn: thp }],
          [mmLoc.vmas(mm), vmas],
        ],
        events: [{ type: 'pt_reuse', cpu: cur.cpu, fn: 'do_huge_pmd_anonymous_page', comm: cur.comm, table, gen: pg.gen, level: pg.level, owner: mm, stale }],
        note: `${table} gen ${gen}, ${mm}'s alone`,
      };
    },
  });
}
