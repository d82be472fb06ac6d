/**
 * mm/pgtable-generic.c (served 1df1ca75, listed fcf53f21):
 *
 *  - __pte_offset_map(), the RCU-protected way to map a PTE table without holding the PMD lock.
 *    The caller is inside rcu_read_lock() (with IRQs enabled in a preemptible kernel), so only a
 *    real grace period, not an IPI, keeps the table from being freed under it.
 *    pte_offset_map_walk() is the smallest such walker: rcu_read_lock(); read the PMD locklessly
 *    (pmdp_get_lockless()); read one PTE through __pte_offset_map(); rcu_read_unlock().
 *  - the THP helpers khugepaged and the PMD split use: pmdp_collapse_flush(),
 *    pgtable_trans_huge_deposit() / pgtable_trans_huge_withdraw() (generic: x86 and arm64 define
 *    neither __HAVE_ARCH_PGTABLE_DEPOSIT nor pmdp_collapse_flush), pmdp_invalidate().
 */
import { access, local, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { new_mmu_gather, tlb_flush_pmd_range } from '../include/asm-generic/tlb.js';
import { describeEntry, pgdTable, walker_read_entry } from '../include/linux/pgtable.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { pagetable_free } from './page_alloc.js';
import { pmdHugePteLoc, ptLoc, type PtEntry } from '../state.js';

function tablePtr(e: PtEntry): { table: string; gen: number } | null {
  return e !== null && 'table' in e ? e : null;
}

export function* pte_offset_map_walk(cur: Ctx, slot: number, page: number): Proc<void> {
  const mm = cur.mm as string;
  yield* rcu_read_lock(cur, '__pte_offset_map');
  const pgd = tablePtr(yield* walker_read_entry(cur, 'rcu_walker', '__pte_offset_map', pgdTable(mm), 1, 0, 'pgd'));
  const pud = pgd && tablePtr(yield* walker_read_entry(cur, 'rcu_walker', '__pte_offset_map', pgd.table, pgd.gen, 0, 'pud'));
  const pmd = pud && tablePtr(yield* walker_read_entry(cur, 'rcu_walker', 'pmdp_get_lockless', pud.table, pud.gen, slot, 'pmd'));
  if (pmd) yield* walker_read_entry(cur, 'rcu_walker', 'ptep_get_lockless', pmd.table, pmd.gen, page, 'pte');
  yield* rcu_read_unlock(cur, 'pte_unmap');
}

// ---------------------------------------------------------------------------------------------
// THP helpers (CONFIG_TRANSPARENT_HUGEPAGE).

/**
 * flush_tlb_range(vma, start, end) for a 2 MiB range of `mm`, as the arches define it:
 *  - x86 (asm/tlbflush.h): flush_tlb_mm_range(vma->vm_mm, start, end, stride, freed_tables),
 *    freed_tables = config.x86_flush_tlb_range_freed_tables: true since 3ef938c35035 ("x86/mm: Fix
 *    flush_tlb_range() when used for zapping normal PMDs": collapse_pte_mapped_thp() ->
 *    pmdp_collapse_flush() -> flush_tlb_range() removes a page table), so native_flush_tlb_multi()
 *    IPIs every CPU in mm_cpumask, lazy ones too; false from 016c4d92cd16 (v4.20) until then, so
 *    lazy CPUs were skipped. INVLPGB and KVM's PV flush go their own ways (arch/x86/mm/tlb.ts);
 *  - arm64: __flush_tlb_range(vma, start, end, stride, last_level = false, ...): never leaf-only,
 *    "since we may be invalidating table entries as part of collapsing hugepages" (tlbflush.h).
 * Both are exactly what the arch's tlb_flush() does for an mmu_gather with freed_tables set and a
 * PMD-level range, so the model calls that with a gather on the stack (no mmu_gather state is
 * shared: tlb_flush_pending is not touched, as flush_tlb_range() does not touch it).
 */
export function* flush_tlb_range(cur: Ctx, mm: string, slot: number): Proc<void> {
  const tlb = new_mmu_gather(mm);
  tlb_flush_pmd_range(tlb, slot);
  tlb.freed_tables = cur.k.arch.id.startsWith('x86') ? cur.k.config.x86_flush_tlb_range_freed_tables : true;
  yield* cur.k.arch.tlb_flush(cur, tlb);
}

/**
 * pmdp_collapse_flush(vma, address, pmdp) (generic): pmdp_huge_get_and_clear() of the PMD entry
 * that links the PTE table ("collapse entails shooting down ptes not pmd"), then flush_tlb_range()
 * of the 2 MiB. Called with the PMD lock held. Returns the old entry (`_pmd`), which the caller
 * keeps: the table is unlinked, not freed (no `pt_unhook` event: it is not waiting to be freed).
 */
export function* pmdp_collapse_flush(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<PtEntry> {
  const loc = ptLoc(pmdTable, slot);
  const old = yield* access<PtEntry>({
    fn: 'pmdp_collapse_flush',
    desc: `pmdp_huge_get_and_clear(${pmdTable}[${slot}])`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => ({ writes: [[loc, null]], result: e as PtEntry, note: `was ${describeEntry(e as PtEntry)}` }),
  });
  yield* flush_tlb_range(cur, mm, slot);
  return old;
}

/**
 * pmdp_invalidate(vma, address, pmdp) (generic): pmdp_establish() of pmd_mkinvalid(*pmdp) (the
 * entry stays huge but is no longer accessible: GUP-fast and the MMU treat it as not present), then
 * flush_pmd_tlb_range(): on x86 the generic one, flush_tlb_range(); on arm64
 * __flush_tlb_range(vma, addr, end, PMD_SIZE, false, 2), not leaf-only either. The model flushes
 * with flush_tlb_range() on both (strides and TTL hints are ignored, docs/model.md §5.3). Called
 * with the PMD lock held by __split_huge_pmd_locked() and set_pmd_migration_entry(). Returns the
 * old entry.
 *
 * On a PMD migration entry (only __split_huge_pmd_locked() with split_pmd_invalidate: always;
 * since 3a5a8d343e1c pmdp_invalidate() warns on a non-present PMD instead), pmd_mkinvalid() is the
 * arch's: arm64 before e783331c7720 (arm64_pmd_mkinvalid: always) sets PMD_PRESENT_INVALID, so the
 * swap entry becomes present to pmd_present() (`{ migration, invalid: true }`); x86 (clears
 * _PAGE_PRESENT | _PAGE_PROTNONE, which a swap PMD lacks) and arm64 since e783331c7720 leave it.
 */
export function* pmdp_invalidate(cur: Ctx, mm: string, pmdTable: string, slot: number): Proc<PtEntry> {
  const loc = ptLoc(pmdTable, slot);
  const arm64Always = cur.k.arch.id === 'arm64' && cur.k.config.arm64_pmd_mkinvalid === 'always';
  const old = yield* access<PtEntry>({
    fn: 'pmdp_invalidate',
    desc: `pmdp_establish(${pmdTable}[${slot}], pmd_mkinvalid())`,
    cost: { cls: 'pt_write' },
    reads: [loc],
    writes: [loc],
    effect: ([e]) => {
      const entry = e as PtEntry;
      if (entry !== null && 'migration' in entry) {
        if (!arm64Always) return { result: entry, note: `was ${describeEntry(entry)}: pmd_mkinvalid() leaves a swap PMD as it is` };
        return { writes: [[loc, { migration: entry.migration, invalid: true }]], result: entry, note: `was ${describeEntry(entry)}: PMD_PRESENT_INVALID set, pmd_present() is now true` };
      }
      if (entry === null || !('pfn' in entry)) throw new Error(`pmdp_invalidate: ${pmdTable}[${slot}] is ${describeEntry(entry)}, not a huge PMD`);
      return { writes: [[loc, { pfn: entry.pfn, invalid: true }]], result: entry, note: `was ${describeEntry(entry)}` };
    },
  });
  yield* flush_tlb_range(cur, mm, slot);
  return old;
}

/**
 * pgtable_trans_huge_deposit(mm, pmdp, pgtable) (generic; the PMD lock is held): add the PTE table
 * to pmd_huge_pte(mm, pmdp), the list of the PMD table page (split PMD locks). The generic code
 * keeps a ring whose head is the last table deposited; the model stores it in the order
 * pgtable_trans_huge_withdraw() takes the tables out: deposit puts the new table first and moves
 * the old head to the end (list_add() after the old head, then the new table becomes the head).
 */
export function* pgtable_trans_huge_deposit(cur: Ctx, pmdTable: string, pgtable: string): Proc<void> {
  void cur;
  const loc = pmdHugePteLoc(pmdTable);
  yield* access({
    fn: 'pgtable_trans_huge_deposit',
    desc: `deposit ${pgtable} in pmd_huge_pte(${pmdTable})`,
    reads: [loc],
    writes: [loc],
    effect: ([l]) => {
      const list = l as readonly string[];
      const next = list.length === 0 ? [pgtable] : [pgtable, ...list.slice(1), list[0] as string];
      return { writes: [[loc, next as Value]], note: `deposited: [${next.join(', ')}]` };
    },
  });
}

/**
 * pgtable_trans_huge_withdraw(mm, pmdp) (generic; the PMD lock is held): take the head of
 * pmd_huge_pte(mm, pmdp). With split PMD locks the list belongs to the PMD table, so the table
 * withdrawn for one PMD entry may be the one deposited by another entry's collapse.
 */
export function* pgtable_trans_huge_withdraw(cur: Ctx, caller: string, pmdTable: string): Proc<string> {
  void cur;
  const loc = pmdHugePteLoc(pmdTable);
  return yield* access<string>({
    fn: caller,
    desc: `pgtable_trans_huge_withdraw(pmd_huge_pte(${pmdTable}))`,
    reads: [loc],
    writes: [loc],
    effect: ([l]) => {
      const list = l as readonly string[];
      if (list.length === 0) throw new Error(`${caller}: no PTE table deposited for ${pmdTable}`);
      return { writes: [[loc, list.slice(1) as Value]], result: list[0] as string, note: `withdrew ${list[0]}` };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// File THP collapse (issue #11).

/**
 * pte_free_defer(mm, pgtable) (generic, CONFIG_TRANSPARENT_HUGEPAGE; torvalds 00f58104, added by
 * Hugh Dickins's v6.6 series, "mm/pgtable: add pte_free_defer() for pgtable as page"):
 * call_rcu(&page->rcu_head, pte_free_now): the PTE table is freed after a grace period, so an
 * rcu_read_lock()ed walker (__pte_offset_map()) that loaded the old PMD can still read it; the
 * table is reported as unhooked (`pt_unhook`) for the simulator's accounting. RCU protects
 * software walkers only: a CPU's paging-structure cache is not an RCU reader, so the flush before
 * this call must reach every CPU that may cache the table, lazy ones included (3ef938c35035).
 */
export function* pte_free_defer(cur: Ctx, caller: string, pgtable: string): Proc<void> {
  yield* local({ fn: caller, desc: `pte_free_defer(${pgtable})` }, undefined, [{ type: 'pt_unhook', cpu: cur.cpu, fn: caller, table: pgtable }]);
  yield* call_rcu(cur, `${pgtable}->rcu_head`, (cb) => pagetable_free(cb, 'pte_free_now', pgtable), 'pte_free_now');
}

/**
 * pmdp_get_lockless_sync() (include/linux/pgtable.h, torvalds 00f58104): tlb_remove_table_sync_one()
 * only where a PMD is read in two halves (CONFIG_PGTABLE_LEVELS > 2 on 32-bit with split PMD
 * reads: x86 PAE, arm LPAE, mips ...); an empty function on x86-64 and arm64, the model's machines.
 */
export function* pmdp_get_lockless_sync(cur: Ctx, caller: string): Proc<void> {
  void cur;
  yield* local({ fn: caller, desc: 'pmdp_get_lockless_sync(): nothing on a 64-bit PMD' });
}
