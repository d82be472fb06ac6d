/**
 * mm/memory.c: zapping PTEs (unmap_vmas -> zap_pte_range) and freeing page tables
 * (free_pgtables -> free_pgd_range -> free_pud_range -> free_pmd_range -> free_pte_range).
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
import type { Proc } from '../../core/index.js';
import type { Ctx, VmaSpec } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import {
  tlb_flush_p4d_range,
  tlb_flush_pmd_range,
  tlb_flush_pte_range,
  tlb_flush_pud_range,
  type mmu_gather,
} from '../include/asm-generic/tlb.js';
import { pgdTable, pmdTable, pudTable, pxd_clear, pxd_read } from '../include/linux/pgtable.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { tlb_remove_table } from './mmu_gather.js';
import type { PtEntry } from '../state.js';

function tableOf(e: PtEntry): string | null {
  return e !== null && 'table' in e ? e.table : null;
}

/** pte_lockptr(): the split PTE lock of a PTE table. */
export const ptl = (table: string): string => `ptl:${table}`;

/**
 * zap_pte_range(): under the PTE lock, clear each present PTE (ptep_get_and_clear_full()) and
 * record it for the flush (tlb_remove_tlb_entry()). Data pages are not tracked (docs/model.md).
 */
function* zap_pte_range(cur: Ctx, tlb: mmu_gather, pteTableId: string, slot: number): Proc<void> {
  const n = mmSpec(cur.k, tlb.mm).ptes_per_table;
  yield* spin_lock(cur, 'zap_pte_range', ptl(pteTableId));
  for (let i = 0; i < n; i++) {
    const old = yield* pxd_clear(cur, 'zap_pte_range', 'ptep_get_and_clear_full', pteTableId, i);
    if (old !== null) tlb_flush_pte_range(tlb, slot);
  }
  yield* spin_unlock(cur, 'zap_pte_range', ptl(pteTableId));
}

/** unmap_vmas() -> unmap_page_range() -> zap_pmd_range(): zap every PTE table of the VMAs. */
export function* unmap_vmas(cur: Ctx, tlb: mmu_gather, vmas: readonly VmaSpec[]): Proc<void> {
  const mm = tlb.mm;
  const pgd = yield* pxd_read(cur, 'unmap_page_range', pgdTable(mm), 0);
  if (tableOf(pgd) === null) return;
  const pud = yield* pxd_read(cur, 'zap_pud_range', pudTable(mm), 0);
  if (tableOf(pud) === null) return;
  for (const vma of vmas) {
    for (let slot = vma.start; slot < vma.end; slot++) {
      const pmd = yield* pxd_read(cur, 'zap_pmd_range', pmdTable(mm), slot);
      const t = tableOf(pmd);
      if (t !== null) yield* zap_pte_range(cur, tlb, t, slot);
    }
  }
}

/** pte_free_tlb(): record the PMD-level range, set freed_tables, __pte_free_tlb(). */
function* pte_free_tlb(cur: Ctx, tlb: mmu_gather, table: string, slot: number): Proc<void> {
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
