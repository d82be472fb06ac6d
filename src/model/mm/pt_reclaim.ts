/**
 * mm/pt_reclaim.c (torvalds, @9c20f30a; newer trees moved it into mm/memory.c as
 * zap_empty_pte_table() / zap_pte_table_if_empty(), "mm: move pte table reclaim code to memory.c"):
 * CONFIG_PT_RECLAIM (6375e95f381e, Qi Zheng), freeing the PTE tables that
 * madvise(MADV_DONTNEED) emptied.
 *
 * zap_pte_range() with details->reclaim_pt, on a range covering a whole PMD
 * (reclaim_pt_is_enabled()), zaps the PTEs and then try_to_free_pte(): pmd_lock(); map the table
 * (pte_offset_map_rw_nolock()); the PTE lock (nested, when it is another lock); check that every
 * PTE is none; pmd_clear(); unlock both; free_pte() -> pte_free_tlb() -> tlb_remove_table(): the
 * table reaches the RCU-batched free (or the call_rcu() single-table fallback), so it is freed only
 * after a grace period. That is what protects rcu_read_lock()-only walkers (pte_offset_map()
 * users), which PT_RECLAIM does not exclude: MADV_DONTNEED holds the mmap_lock for read, or only a
 * per-VMA lock.
 *
 * The direct path (try_get_and_clear_pmd() / zap_empty_pte_table(): a spin_trylock() of the PMD
 * lock while the PTE lock is still held after the zap) ends in the same pmd_clear() and free_pte()
 * and is not modelled separately (docs/model.md §5.19).
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { tlb_flush_mmu_tlbonly, tlb_flush_pmd_range, type mmu_gather } from '../include/asm-generic/tlb.js';
import { describeEntry, pxd_clear } from '../include/linux/pgtable.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { page_table_lock, pte_free_tlb } from './memory.js';
import { pagetable_free, ptl } from './page_alloc.js';
import { ptLoc, type PtEntry } from '../state.js';

/**
 * reclaim_pt_is_enabled(start, end, details): CONFIG_PT_RECLAIM, details->reclaim_pt (set by
 * madvise_dontneed_single_vma()) and a range of at least PMD_SIZE. The model's zaps cover whole
 * 2 MiB slots, so the last condition always holds.
 */
export function reclaim_pt_is_enabled(cur: Ctx, reclaim_pt: boolean): boolean {
  return cur.k.config.pt_reclaim && reclaim_pt;
}

/**
 * free_pte(mm, addr, tlb, pmdval): pte_free_tlb(tlb, pmd_pgtable(pmdval), addr), as merged
 * (pt_reclaim_free: 'pte_free_tlb'). With pt_reclaim_free: 'immediate', a hypothetical variant
 * without the grace period: flush the TLB for the table now (freed_tables), then pte_free().
 */
function* free_pte(cur: Ctx, tlb: mmu_gather, table: string, slot: number): Proc<void> {
  if (cur.k.config.pt_reclaim_free === 'pte_free_tlb') {
    yield* pte_free_tlb(cur, tlb, table, slot);
    return;
  }
  tlb_flush_pmd_range(tlb, slot);
  tlb.freed_tables = true;
  yield* tlb_flush_mmu_tlbonly(cur, tlb);
  yield* pagetable_free(cur, 'pte_free', table);
}

/**
 * try_to_free_pte(mm, pmd, addr, tlb): under the PMD lock (mm->page_table_lock in the model) and
 * the table's PTE lock, check that every PTE is none (a fault may have refilled one since the zap),
 * pmd_clear(), unlock, free_pte(). The PMD is re-read under the PMD lock, as
 * pte_offset_map_rw_nolock() does: a split or a collapse may have changed it.
 */
export function* try_to_free_pte(cur: Ctx, tlb: mmu_gather, pmdTable: string, slot: number): Proc<boolean> {
  const mm = tlb.mm;
  const n = cur.k.mms.get(mm)?.ptes_per_table ?? 0;
  yield* spin_lock(cur, 'try_to_free_pte', page_table_lock(mm));
  const pmdLoc = ptLoc(pmdTable, slot);
  const pmdval = yield* access<PtEntry>({
    fn: 'pte_offset_map_rw_nolock',
    desc: `read ${pmdTable}[${slot}]`,
    cost: { cls: 'pt_read' },
    reads: [pmdLoc],
    effect: ([e]) => ({ result: e as PtEntry, note: describeEntry(e as PtEntry) }),
  });
  if (pmdval === null || !('table' in pmdval)) {
    yield* spin_unlock(cur, 'try_to_free_pte', page_table_lock(mm));
    return false;
  }
  const table = pmdval.table;
  yield* spin_lock(cur, 'try_to_free_pte', ptl(table));
  const ptes = Array.from({ length: n }, (_, i) => ptLoc(table, i));
  const empty = yield* access<boolean>({
    fn: 'try_to_free_pte',
    desc: `every PTE of ${table} pte_none()?`,
    cost: { cls: 'pt_read', n },
    reads: ptes,
    effect: (vals) => {
      const ok = vals.every((v) => v === null);
      return { result: ok, note: ok ? 'empty' : 'refilled since the zap: keep the table' };
    },
  });
  if (empty) yield* pxd_clear(cur, 'try_to_free_pte', 'pmd_clear', pmdTable, slot);
  yield* spin_unlock(cur, 'try_to_free_pte', ptl(table));
  yield* spin_unlock(cur, 'try_to_free_pte', page_table_lock(mm));
  if (empty) yield* free_pte(cur, tlb, table, slot);
  return empty;
}
