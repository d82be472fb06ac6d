/**
 * arch/arm64/mm/mmu.c pmd_free_pte_page(): pmd_clear(pmdp); __flush_tlb_kernel_pgtable(addr)
 * (TLBI VAAE1IS, broadcast to the inner-shareable domain, then DSB ISH: walk-cache entries of the
 * address on every CPU go, no CPU is interrupted); pte_free_kernel(NULL, table). No SVA IOMMU is
 * reached by the TLBI in the model (kernel.md §1.3 describes x86; arm64 SMMU SVA with broadcast
 * TLB maintenance is not modelled).
 */
import type { Proc } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { kernel_tlb_broadcast_invalidate, kernelPmdTable, kernelPudTable, pmd_free_kernel, pte_free_kernel } from '../../mm/kernel_pgtable.js';
import { pxd_clear, pxd_read } from '../../include/linux/pgtable.js';

export function* arm64_pmd_free_pte_page(cur: Ctx): Proc<void> {
  const e = yield* pxd_clear(cur, 'pmd_free_pte_page', 'pmd_clear', kernelPmdTable, 0);
  if (e === null || !('table' in e)) throw new Error(`pmd_free_pte_page: ${kernelPmdTable}[0] links no PTE table`);
  // config.kernel_pt_free_flush 'none': deliberately broken on arm64 (ec28bb9c9b08 had the TLBI).
  if (cur.k.config.kernel_pt_free_flush === 'flush') yield* __flush_tlb_kernel_pgtable(cur);
  yield* pte_free_kernel(cur, e.table);
}

/** __flush_tlb_kernel_pgtable(addr): TLBI VAAE1IS + DSB ISH, walk-cache entries included. */
function* __flush_tlb_kernel_pgtable(cur: Ctx): Proc<void> {
  yield* kernel_tlb_broadcast_invalidate(cur, '__flush_tlb_kernel_pgtable', 'TLBI VAAE1IS (kernel, leaf + walk cache, broadcast), DSB ISH', 'tlbi_broadcast', 'tlbi-walk');
}

/**
 * pud_free_pmd_page() on arm64 (arch/arm64/mm/mmu.c, ec28bb9c9b08): for each present PMD entry
 * of the table, pmd_free_pte_page() (clear, TLBI, free the PTE table); then pud_clear(),
 * __flush_tlb_kernel_pgtable(addr), pmd_free(NULL, table). The model's PMD table has one entry.
 */
export function* arm64_pud_free_pmd_page(cur: Ctx): Proc<void> {
  const pmd = yield* pxd_read(cur, 'pud_free_pmd_page', kernelPmdTable, 0);
  if (pmd !== null && 'table' in pmd) yield* arm64_pmd_free_pte_page(cur);
  const pud = yield* pxd_clear(cur, 'pud_free_pmd_page', 'pud_clear', kernelPudTable, 0);
  if (pud === null || !('table' in pud)) throw new Error(`pud_free_pmd_page: ${kernelPudTable}[0] links no PMD table`);
  if (cur.k.config.kernel_pt_free_flush === 'flush') yield* __flush_tlb_kernel_pgtable(cur);
  yield* pmd_free_kernel(cur, pud.table);
}
