/**
 * mm/memory.c: zapping PTEs (unmap_vmas -> zap_pte_range), freeing page tables
 * (free_pgtables -> free_pgd_range -> free_pud_range -> free_pmd_range -> free_pte_range), and
 * allocating them again on a page fault (handle_mm_fault -> __handle_mm_fault -> __pud_alloc /
 * __pmd_alloc -> handle_pte_fault -> do_anonymous_page -> __pte_alloc -> set_pte_at), at the end
 * of this file.
 *
 * Order in free_pte_range(): take the table token from the PMD, pmd_clear(), then
 * pte_free_tlb(): record a PMD-level flush range, set tlb->freed_tables, and hand the table to
 * the arch's __pte_free_tlb(), which ends in tlb_remove_table() on x86 and arm64. The upper
 * levels follow the same pattern (pud_clear() + pmd_free_tlb(); p4d_clear() + pud_free_tlb(),
 * the P4D being folded into the PGD).
 *
 * A lower table is freed only when no remaining VMA lies in its span: the floor/ceiling rule of
 * free_pgd_range(), stated on the model's geometry (a PTE table spans one slot, the PMD and PUD
 * tables span every slot).
 */
import { access, internByKey, local, type Proc } from '../../core/index.js';
import type { Ctx, Kernel, VmaSpec } from '../kernel.js';
import { mmSpec, pmd_slots, vmaAt } from '../kernel.js';
import {
  __tlb_remove_page,
  tlb_flush_p4d_range,
  tlb_flush_pmd_range,
  tlb_flush_pte_range,
  tlb_flush_pud_range,
  type mmu_gather,
} from '../include/asm-generic/tlb.js';
import { dataPage, describeEntry, entry_same, is_pmd_migration_entry, pgdTable, pxd_clear, pxd_read, walker_read_entry } from '../include/linux/pgtable.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/locking/rwsem.js';
import { vma_end_read, vma_start_read } from '../include/linux/mmap_lock.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { tlb_remove_table } from './mmu_gather.js';
import { zap_huge_pmd } from './huge_memory.js';
import { pagetable_alloc, pagetable_free, ptl } from './page_alloc.js';
import { mmLoc, ptLoc, type Level, type PtEntry } from '../state.js';

function tableOf(e: PtEntry): string | null {
  return e !== null && 'table' in e ? e.table : null;
}

/** pte_lockptr(): the split PTE lock of a PTE table (defined with the page-table constructors). */
export { ptl };

/**
 * zap_pte_range() (mm/memory.c; the zap_present_ptes() -> __tlb_remove_page() path as named in
 * mm/mmu_gather.c @06d07429; mm/memory.c itself served 009857a2, §2.6):
 * under the PTE lock, clear each present PTE (ptep_get_and_clear_full()), record it for the flush
 * (tlb_remove_tlb_entry()) and queue its data page with __tlb_remove_page(): the page is freed only
 * by tlb_flush_mmu(), after the TLB flush (mm/mmu_gather.ts tlb_batch_pages_flush()).
 */
export function* zap_pte_range(cur: Ctx, tlb: mmu_gather, pteTableId: string, slot: number): Proc<void> {
  const n = mmSpec(cur.k, tlb.mm).ptes_per_table;
  yield* spin_lock(cur, 'zap_pte_range', ptl(pteTableId));
  for (let i = 0; i < n; i++) {
    const old = yield* pxd_clear(cur, 'zap_pte_range', 'ptep_get_and_clear_full', pteTableId, i);
    if (old !== null) tlb_flush_pte_range(tlb, slot);
    if (old !== null && 'pfn' in old) __tlb_remove_page(tlb, old.pfn);
  }
  yield* spin_unlock(cur, 'zap_pte_range', ptl(pteTableId));
}

/**
 * unmap_vmas() -> unmap_page_range() -> zap_pmd_range(): zap every PTE table of the VMAs, and every
 * huge PMD (a THP khugepaged installed) with zap_huge_pmd() (mm/huge_memory.ts). The walk follows
 * the entries (the PUD and PMD tables need not be the pages boot gave them: a fault may have
 * allocated them again).
 */
export function* unmap_vmas(cur: Ctx, tlb: mmu_gather, vmas: readonly VmaSpec[]): Proc<void> {
  const mm = tlb.mm;
  const pgd = yield* pxd_read(cur, 'unmap_page_range', pgdTable(mm), 0);
  const pudT = tableOf(pgd);
  if (pudT === null) return;
  const pud = yield* pxd_read(cur, 'zap_pud_range', pudT, 0);
  const pmdT = tableOf(pud);
  if (pmdT === null) return;
  for (const vma of vmas) {
    for (let slot = vma.start; slot < vma.end; slot++) {
      const pmd = yield* pxd_read(cur, 'zap_pmd_range', pmdT, slot);
      const t = tableOf(pmd);
      if (t !== null) yield* zap_pte_range(cur, tlb, t, slot);
      else if (pmd !== null) yield* zap_huge_pmd(cur, tlb, pmdT, slot);
    }
  }
}

/** pte_free_tlb(): record the PMD-level range, set freed_tables, __pte_free_tlb(). */
export function* pte_free_tlb(cur: Ctx, tlb: mmu_gather, table: string, slot: number): Proc<void> {
  tlb_flush_pmd_range(tlb, slot);
  tlb.freed_tables = true;
  yield* tlb_remove_table(cur, tlb, table);
}

/** pmd_free_tlb() */
function* pmd_free_tlb(cur: Ctx, tlb: mmu_gather, table: string, slot: number): Proc<void> {
  tlb_flush_pud_range(tlb, slot);
  tlb.freed_tables = true;
  yield* tlb_remove_table(cur, tlb, table);
}

/** pud_free_tlb() */
function* pud_free_tlb(cur: Ctx, tlb: mmu_gather, table: string, slot: number): Proc<void> {
  tlb_flush_p4d_range(tlb, slot);
  tlb.freed_tables = true;
  yield* tlb_remove_table(cur, tlb, table);
}

/**
 * free_pgd_range(tlb, addr, end, floor, ceiling) for the slots of `vmas`, with `keep` the VMAs
 * that remain mapped in the mm.
 */
export function* free_pgd_range(cur: Ctx, tlb: mmu_gather, vmas: readonly VmaSpec[], keep: readonly VmaSpec[]): Proc<void> {
  const mm = tlb.mm;
  const pgd = yield* pxd_read(cur, 'free_pgd_range', pgdTable(mm), 0);
  const pudT = tableOf(pgd);
  if (pudT === null) return;
  const pud = yield* pxd_read(cur, 'free_pud_range', pudT, 0);
  const pmdT = tableOf(pud);
  if (pmdT !== null) {
    // free_pmd_range(): free_pte_range() for each present PMD entry in the range
    for (const vma of vmas) {
      for (let slot = vma.start; slot < vma.end; slot++) {
        const covered = keep.some((v) => slot >= v.start && slot < v.end);
        if (covered) continue;
        const token = yield* pxd_clear(cur, 'free_pte_range', 'pmd_clear', pmdT, slot);
        const pteT = tableOf(token);
        if (pteT !== null) yield* pte_free_tlb(cur, tlb, pteT, slot);
      }
    }
  }
  if (keep.length > 0) return; // floor/ceiling: a remaining VMA still needs the PMD and PUD tables
  const first = vmas[0]?.start ?? 0;
  if (pmdT !== null) {
    yield* pxd_clear(cur, 'free_pmd_range', 'pud_clear', pudT, 0);
    yield* pmd_free_tlb(cur, tlb, pmdT, first);
  }
  yield* pxd_clear(cur, 'free_pud_range', 'p4d_clear', pgdTable(mm), 0);
  yield* pud_free_tlb(cur, tlb, pudT, first);
}

/** free_pgtables(tlb, ...): free the page tables under the unmapped VMAs. */
export function* free_pgtables(cur: Ctx, tlb: mmu_gather, vmas: readonly VmaSpec[], keep: readonly VmaSpec[]): Proc<void> {
  yield* free_pgd_range(cur, tlb, vmas, keep);
}

// ---------------------------------------------------------------------------------------------
// The page-fault path: a write fault on an anonymous VMA maps one page, allocating and
// populating any missing table on the way (mainline mm/memory.c, n/r: docs/model.md §2.6).

interface TablePtr {
  readonly table: string;
  readonly gen: number;
}

function tablePtr(e: PtEntry, fn: string): TablePtr {
  if (e === null || !('table' in e)) throw new Error(`${fn}: expected a pointer to a table, found ${describeEntry(e)}`);
  return e;
}

/**
 * mm->page_table_lock, the lock every populate above the PTE level takes. In the kernel
 * pud_lockptr() is this lock, and so is pmd_lockptr() without USE_SPLIT_PMD_PTLOCKS; x86-64 and
 * arm64 have split PMD locks (the ptlock of the PMD table page). The model uses the per-mm lock
 * for both: only the populates take it, so the split lock would only let a pud_populate() and a
 * pmd_populate() of the same mm run at once, which touch different entries.
 */
export const page_table_lock = internByKey((mm) => `page_table_lock:${mm}`);

/** Entries a new table of `level` gets zeroed: every index the model's walks of that level read. */
function tableEntries(k: Kernel, mm: string, level: Level): number {
  const spec = mmSpec(k, mm);
  return level === 'pte' ? spec.ptes_per_table : level === 'pmd' ? pmd_slots(spec) : 1;
}

/**
 * Under the populate lock: if entry `index` of `table` is still none, link the new table there
 * (`what`: p4d_populate(), pud_populate(), pmd_populate()); else another thread has populated it
 * first. The kernel's re-check (`!p4d_present(*p4d)`, `!pud_present(*pud)`, `pmd_none(*pmd)`) and
 * the populate are one step here: nothing else writes the entry while the lock is held (other
 * populators take the same lock; free_pgd_range() clears only entries whose span holds no mapped
 * VMA, and the faulting VMA stays mapped while the fault holds the mmap_lock or its VMA read lock,
 * which munmap's vma_start_write() excludes). The smp_wmb() before the populate is implied: the
 * model is sequentially consistent, and the new table was zeroed by an earlier step. Returns the
 * entry now present, which the caller's pXd_offset() re-read would return (it cannot change before
 * the fault drops its lock), and whether it is ours.
 */
function* populate_locked(fn: string, what: string, table: string, index: number, next: { page: string; gen: number }): Proc<{ entry: PtEntry; linked: boolean }> {
  const loc = ptLoc(table, index);
  return yield* access<{ entry: PtEntry; linked: boolean }>({
    fn,
    desc: `${what}(${table}[${index}], ${next.page})`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => {
      const old = e as PtEntry;
      // Not none: another thread populated it first (or, at the PMD level, a collapse that the
      // fault's lock did not exclude installed a THP: collapse_vma_start_write 'none').
      if (old !== null) return { result: { entry: old, linked: false }, note: `another populated it first: ${describeEntry(old)}` };
      const ptr: TablePtr = { table: next.page, gen: next.gen };
      return { writes: [[loc, { ...ptr }]], result: { entry: ptr, linked: true }, note: `now ${describeEntry(ptr)}` };
    },
  });
}

/**
 * __pud_alloc(mm, p4d, address): pud_alloc_one(); spin_lock(&mm->page_table_lock); if the P4D
 * entry (folded: PGD[0]) is still not present, p4d_populate(); else pud_free() the new table,
 * under the lock as the kernel does; spin_unlock(). Returns the P4D entry.
 */
function* __pud_alloc(cur: Ctx, mm: string): Proc<TablePtr> {
  const fresh = yield* pagetable_alloc(cur, 'pud_alloc_one', mm, 'pud', tableEntries(cur.k, mm, 'pud'));
  yield* spin_lock(cur, '__pud_alloc', page_table_lock(mm));
  const r = yield* populate_locked('__pud_alloc', 'p4d_populate', pgdTable(mm), 0, fresh);
  if (!r.linked) yield* pagetable_free(cur, 'pud_free', fresh.page);
  yield* spin_unlock(cur, '__pud_alloc', page_table_lock(mm));
  return tablePtr(r.entry, '__pud_alloc');
}

/**
 * __pmd_alloc(mm, pud, address): pmd_alloc_one(); ptl = pud_lock() (mm->page_table_lock); if the
 * PUD entry is still not present, pud_populate(); else pmd_free() under the lock; spin_unlock().
 * Returns the PUD entry.
 */
function* __pmd_alloc(cur: Ctx, mm: string, pud: TablePtr): Proc<TablePtr> {
  const fresh = yield* pagetable_alloc(cur, 'pmd_alloc_one', mm, 'pmd', tableEntries(cur.k, mm, 'pmd'));
  yield* spin_lock(cur, '__pmd_alloc', page_table_lock(mm));
  const r = yield* populate_locked('__pmd_alloc', 'pud_populate', pud.table, 0, fresh);
  if (!r.linked) yield* pagetable_free(cur, 'pmd_free', fresh.page);
  yield* spin_unlock(cur, '__pmd_alloc', page_table_lock(mm));
  return tablePtr(r.entry, '__pmd_alloc');
}

/**
 * pmd_install(mm, pmd, &new): ptl = pmd_lock() (the model: mm->page_table_lock); if
 * pmd_none(*pmd), pmd_populate() and consume the new table; spin_unlock().
 */
function* pmd_install(cur: Ctx, mm: string, pmd: TablePtr, slot: number, fresh: { page: string; gen: number }): Proc<{ entry: PtEntry; linked: boolean }> {
  yield* spin_lock(cur, 'pmd_install', page_table_lock(mm));
  const r = yield* populate_locked('pmd_install', 'pmd_populate', pmd.table, slot, fresh);
  yield* spin_unlock(cur, 'pmd_install', page_table_lock(mm));
  return r;
}

/**
 * __pte_alloc(mm, pmd): pte_alloc_one() (pagetable_alloc() + pagetable_pte_ctor()), pmd_install(),
 * and pte_free() of the new table, after the unlock, if another thread populated the PMD first.
 * Returns the PMD entry.
 */
function* __pte_alloc(cur: Ctx, mm: string, pmd: TablePtr, slot: number): Proc<PtEntry> {
  const fresh = yield* pagetable_alloc(cur, 'pte_alloc_one', mm, 'pte', tableEntries(cur.k, mm, 'pte'));
  const r = yield* pmd_install(cur, mm, pmd, slot, fresh);
  if (!r.linked) yield* pagetable_free(cur, 'pte_free', fresh.page);
  return r.entry;
}

/**
 * __pte_offset_map_lock(mm, pmd, addr, &ptl) as pte_offset_map_lock() calls it: __pte_offset_map()
 * (rcu_read_lock(), pmdp_get_lockless(); a none or huge PMD: rcu_read_unlock() and NULL), then
 * spin_lock(pte_lockptr(mm, &pmdval)), the split PTE lock of the table it read, and the pmd_same()
 * re-check under it: PT_RECLAIM's try_to_free_pte() clears the PMD under that lock, so a changed
 * PMD means the table may be on its way to being freed: pte_unmap_unlock() and start again. Returns
 * the table, locked and RCU-read-held, or null.
 */
function* __pte_offset_map_lock(cur: Ctx, pmd: TablePtr, slot: number): Proc<TablePtr | null> {
  if (!cur.k.config.fault_pmd_recheck) {
    // The form before the series: pte_lockptr(mm, pmd), pte_offset_map(pmd), spin_lock(ptl).
    const pmdval = yield* walker_read_entry(cur, 'fault', 'pte_offset_map_lock', pmd.table, pmd.gen, slot, 'pmd');
    if (pmdval === null || !('table' in pmdval)) return null;
    yield* spin_lock(cur, 'pte_offset_map_lock', ptl(pmdval.table));
    return pmdval;
  }
  for (;;) {
    yield* rcu_read_lock(cur, '__pte_offset_map');
    const pmdval = yield* walker_read_entry(cur, 'fault', '__pte_offset_map', pmd.table, pmd.gen, slot, 'pmd');
    if (pmdval === null || !('table' in pmdval)) {
      yield* rcu_read_unlock(cur, '__pte_offset_map');
      return null;
    }
    yield* spin_lock(cur, '__pte_offset_map_lock', ptl(pmdval.table));
    const again = yield* walker_read_entry(cur, 'fault', '__pte_offset_map_lock', pmd.table, pmd.gen, slot, 'pmd');
    if (entry_same(again, pmdval)) return pmdval;
    yield* spin_unlock(cur, 'pte_unmap_unlock', ptl(pmdval.table));
    yield* rcu_read_unlock(cur, 'pte_unmap_unlock');
  }
}

/**
 * do_anonymous_page() for a write fault: pte_alloc() (pmd_none(*pmd) && __pte_alloc()),
 * alloc_anon_folio(), pte_offset_map_lock(), vmf_pte_changed() (another fault mapped the PTE: back
 * out), set_pte_at() / set_ptes() of the data page, pte_unmap_unlock(). `pte` is the PTE table
 * handle_pte_fault() found, or null when the PMD entry was none. Returns false when
 * pte_offset_map_lock() found no PTE table (PT_RECLAIM freed it since pte_alloc()): the fault
 * releases the folio and returns 0, and the CPU faults again.
 *
 * The data page is `dataPage(mm, slot, page)`, the page boot maps there (data pages are names
 * only, docs/model.md §5.2), so GUP-fast's `expected` page stays right across munmap and mmap.
 */
function* do_anonymous_page(cur: Ctx, mm: string, pmd: TablePtr, pte: TablePtr | null, slot: number, page: number): Proc<boolean> {
  // pte_alloc(): the model reuses handle_pte_fault()'s PMD read instead of reading it again; if
  // another fault populates the PMD in between, pmd_install() finds it and frees the new table.
  if (pte === null) yield* __pte_alloc(cur, mm, pmd, slot);
  const data = dataPage(mm, slot, page);
  yield* local({ fn: 'alloc_anon_folio', desc: `allocate the data page ${data}` }, { cls: 'page_alloc' });
  const table = yield* __pte_offset_map_lock(cur, pmd, slot);
  if (table === null) {
    yield* local({ fn: 'do_anonymous_page', desc: 'pte_offset_map_lock() found no PTE table: release the folio, return 0 (the CPU faults again)' });
    return false;
  }
  const loc = ptLoc(table.table, page);
  yield* access({
    fn: 'do_anonymous_page',
    desc: `set_pte_at(${table.table}[${page}], ${data})`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => {
      const old = e as PtEntry;
      if (old !== null) return { note: `vmf_pte_changed(): another fault mapped it (${describeEntry(old)})` };
      return { writes: [[loc, { pfn: data }]], note: `maps ${data}` };
    },
  });
  yield* spin_unlock(cur, 'pte_unmap_unlock', ptl(table.table));
  if (cur.k.config.fault_pmd_recheck) yield* rcu_read_unlock(cur, 'pte_unmap_unlock');
  return true;
}

/**
 * __handle_mm_fault() on a PMD migration entry (issue #11; mm/memory.c, mm/migrate.c as of v6.10):
 * `if (unlikely(is_swap_pmd(vmf.orig_pmd))) { if (is_pmd_migration_entry(vmf.orig_pmd))
 * pmd_migration_entry_wait(mm, vmf.pmd); return 0; }`. pmd_migration_entry_wait() takes the PMD
 * lock, re-checks the entry and sleeps in migration_entry_wait_on_locked() until the migrating
 * task unlocks the folio, after remove_migration_ptes(). The model waits (a guarded step) until the
 * PMD is no longer that migration entry, which remove_migration_pmd() or a split makes happen
 * while the folio is still locked (a little earlier than the kernel's wake-up: the fault only
 * re-reads the tables then). Returns false: the fault returned 0 and the CPU faults again.
 */
function* pmd_migration_entry_wait(cur: Ctx, pmdTable: string, slot: number): Proc<boolean> {
  void cur;
  const loc = ptLoc(pmdTable, slot);
  yield* access({
    fn: 'pmd_migration_entry_wait',
    desc: `wait until ${pmdTable}[${slot}] is no longer a migration entry (folio unlocked)`,
    reads: [loc],
    guard: ([e]) => !is_pmd_migration_entry(e as PtEntry),
    effect: ([e]) => ({ note: `now ${describeEntry(e as PtEntry)}: return 0, fault again` }),
  });
  return false;
}

/**
 * handle_pte_fault(): read the PMD entry (pmd_none(*vmf->pmd)); if it is not none,
 * pte_offset_map_rw_nolock() -> __pte_offset_map(): rcu_read_lock() and pmdp_get_lockless() again
 * (none or huge by now, e.g. PT_RECLAIM cleared it: rcu_read_unlock(), NULL, and the fault returns
 * 0 to fault again), read the PTE (ptep_get_lockless()) and pte_unmap() (rcu_read_unlock()); a
 * present PTE needs nothing here (a spurious fault: no write-protect or access-bit handling in the
 * model); otherwise do_pte_missing() -> do_anonymous_page(). A huge PMD (a THP, or one being split) ends the fault:
 * __handle_mm_fault() takes the pmd_trans_huge() path (huge_pmd_set_accessed() / wp, not
 * modelled; a PMD being split is waited for under the PMD lock and the fault retried), and the page
 * is mapped either way. Returns false when the CPU must fault again. With fault_pmd_recheck off,
 * the form before pte_offset_map() could fail: the PTE read through the PMD read first, no RCU.
 */
function* handle_pte_fault(cur: Ctx, mm: string, pmd: TablePtr, slot: number, page: number): Proc<boolean> {
  const pmdval = yield* walker_read_entry(cur, 'fault', 'handle_pte_fault', pmd.table, pmd.gen, slot, 'pmd');
  if (pmdval !== null && 'pfn' in pmdval) return true;
  // split and migration entries (issue #11): __handle_mm_fault()'s is_swap_pmd() branch.
  if (is_pmd_migration_entry(pmdval)) return yield* pmd_migration_entry_wait(cur, pmd.table, slot);
  // A present-invalid migration entry (arm64 before e783331c7720) is pmd_trans_huge(): the huge
  // path, as for a THP being split (the PMD lock and pmd_same() there send the fault back).
  if (pmdval !== null && 'migration' in pmdval) return true;
  let pte: TablePtr | null = null;
  if (pmdval !== null && !cur.k.config.fault_pmd_recheck) {
    // The form before the series: pte_offset_map() of the PMD just read, no RCU.
    pte = tablePtr(pmdval, 'handle_pte_fault');
    const orig = yield* walker_read_entry(cur, 'fault', 'handle_pte_fault', pte.table, pte.gen, page, 'pte');
    if (orig !== null) return true;
  } else if (pmdval !== null) {
    // pte_offset_map_rw_nolock() -> __pte_offset_map(): rcu_read_lock(), then the PMD again.
    yield* rcu_read_lock(cur, '__pte_offset_map');
    const mapped = yield* walker_read_entry(cur, 'fault', '__pte_offset_map', pmd.table, pmd.gen, slot, 'pmd');
    if (mapped === null || !('table' in mapped)) {
      yield* rcu_read_unlock(cur, '__pte_offset_map');
      yield* local({ fn: 'handle_pte_fault', desc: 'pte_offset_map_rw_nolock() found no PTE table: return 0 (the CPU faults again)' });
      return false;
    }
    pte = mapped;
    const orig = yield* walker_read_entry(cur, 'fault', 'handle_pte_fault', pte.table, pte.gen, page, 'pte');
    yield* rcu_read_unlock(cur, 'pte_unmap');
    if (orig !== null) return true;
  }
  return yield* do_anonymous_page(cur, mm, pmd, pte, slot, page);
}

/**
 * handle_mm_fault() -> __handle_mm_fault() for a write fault at PTE `page` of 2 MiB slot `slot`
 * of an anonymous VMA, with the mmap_lock held for read: pgd_offset(); p4d_alloc() (the P4D is
 * folded into the PGD); pud_alloc() = p4d_none(*p4d) && __pud_alloc(); pmd_alloc() =
 * pud_none(*pud) && __pmd_alloc(); handle_pte_fault(). Each new table gets a new generation from
 * pagetable_alloc(), and the entry that links it carries it (`{ table, gen }`, as boot builds
 * them). No huge PUD/PMD faults, no userfaultfd, no mm counters. Returns false when the fault
 * returned without mapping the page and the CPU faults again (do_anonymous_page()).
 */
export function* handle_mm_fault(cur: Ctx, mm: string, slot: number, page: number): Proc<boolean> {
  const p4d = yield* walker_read_entry(cur, 'fault', 'pud_alloc', pgdTable(mm), 1, 0, 'pgd');
  const pud = p4d === null ? yield* __pud_alloc(cur, mm) : tablePtr(p4d, 'pud_offset');
  const pudval = yield* walker_read_entry(cur, 'fault', 'pmd_alloc', pud.table, pud.gen, 0, 'pud');
  const pmd = pudval === null ? yield* __pmd_alloc(cur, mm, pud) : tablePtr(pudval, 'pmd_offset');
  return yield* handle_pte_fault(cur, mm, pmd, slot, page);
}

/**
 * lock_vma_under_rcu(mm, address) (mm/memory.c as merged in v6.4, "mm: introduce
 * lock_vma_under_rcu to be used from arch-specific code"; mm/mmap_lock.c in v7.0): rcu_read_lock(),
 * mas_walk() for the VMA at the address, vma_start_read(); a detached VMA (-EAGAIN) retries the walk;
 * rcu_read_unlock(); the VMA read-locked, or NULL (no VMA there, or write-locked: the caller falls
 * back to the mmap_lock; count_vm_vma_lock_event(VMA_LOCK_ABORT)). The walk and the try-lock are
 * one step (include/linux/mmap_lock.ts vma_start_read()); the RCU section only keeps the
 * vm_area_struct alive, which the model does not track (VMAs are names, docs/model.md §5.10).
 * Returns the VMA or null.
 */
export function* lock_vma_under_rcu(cur: Ctx, mm: string, slot: number): Proc<VmaSpec | null> {
  if (!cur.k.config.per_vma_lock) return null;
  const vma = vmaAt(cur.k, mm, slot);
  if (vma === undefined) return null;
  const r = yield* vma_start_read(cur, 'lock_vma_under_rcu', mm, vma.name);
  return r === 'locked' ? vma : null;
}

/**
 * A user page fault of the current task at (slot, page): the part common to x86
 * do_user_addr_fault() and arm64 do_page_fault(). With CONFIG_PER_VMA_LOCK (per_vma_lock), first
 * lock_vma_under_rcu(): on success handle_mm_fault(vma, ..., FAULT_FLAG_VMA_LOCK) and
 * vma_end_read(), and the mmap_lock is never touched; on failure (no VMA, or write-locked by munmap
 * or a collapse) the fault goes on at lock_mmap: (x86) / the mmap_lock path (arm64).
 * lock_mm_and_find_vma() (mm/memory.c) takes the mmap_lock for read and finds the VMA; an address
 * in no mapped VMA is bad_area(): SIGSEGV, and the fault maps nothing. Otherwise
 * handle_mm_fault(), then mmap_read_unlock(). Returns whether the address was in a mapped VMA.
 */
export function* do_user_addr_fault(cur: Ctx, slot: number, page: number): Proc<boolean> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`page fault on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const locked = yield* lock_vma_under_rcu(cur, mm, slot);
  if (locked !== null) {
    const done = yield* handle_mm_fault(cur, mm, slot, page);
    yield* vma_end_read(cur, 'do_user_addr_fault', mm, locked.name);
    // The fault returned 0 without mapping the page: the instruction is restarted and faults again.
    if (!done) return yield* do_user_addr_fault(cur, slot, page);
    return true;
  }
  yield* mmap_read_lock(cur, 'lock_mm_and_find_vma', mm);
  const vma = vmaAt(cur.k, mm, slot);
  const mapped = yield* access<boolean>({
    fn: 'lock_mm_and_find_vma',
    desc: `find_vma(slot ${slot})`,
    reads: [mmLoc.vmas(mm)],
    effect: ([v]) => {
      const ok = vma !== undefined && (v as readonly string[]).includes(vma.name);
      return { result: ok, note: ok ? `in VMA ${vma?.name}` : 'no mapped VMA: bad_area(), SIGSEGV' };
    },
  });
  const done = mapped ? yield* handle_mm_fault(cur, mm, slot, page) : true;
  yield* mmap_read_unlock(cur, mapped ? 'do_user_addr_fault' : 'bad_area', mm);
  // The fault returned 0 without mapping the page: the instruction is restarted and faults again.
  if (!done) return yield* do_user_addr_fault(cur, slot, page);
  return mapped;
}
