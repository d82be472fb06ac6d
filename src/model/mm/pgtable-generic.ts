/**
 * mm/pgtable-generic.c: __pte_offset_map(), the RCU-protected way to map a PTE table without
 * holding the PMD lock. The caller is inside rcu_read_lock() (with IRQs enabled in a preemptible
 * kernel), so only a real grace period, not an IPI, keeps the table from being freed under it.
 *
 * pte_offset_map_walk() is the smallest such walker: rcu_read_lock(); read the PMD locklessly
 * (pmdp_get_lockless()); read one PTE through __pte_offset_map(); rcu_read_unlock().
 */
import type { Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { pgdTable, walker_read_entry } from '../include/linux/pgtable.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import type { PtEntry } from '../state.js';

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
