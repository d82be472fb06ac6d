/**
 * arch/arm64/mm/mmu.c pmd_free_pte_page(): pmd_clear(pmdp); __flush_tlb_kernel_pgtable(addr)
 * (TLBI VAAE1IS, broadcast to the inner-shareable domain, then DSB ISH: walk-cache entries of the
 * address on every CPU go, no CPU is interrupted); pte_free_kernel(NULL, table). No SVA IOMMU is
 * reached by the TLBI in the model (kernel.md §1.3 describes x86; arm64 SMMU SVA with broadcast
 * TLB maintenance is not modelled).
 */
import type { Proc } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { kernel_tlb_broadcast_invalidate, kernelPmdTable, pte_free_kernel } from '../../mm/kernel_pgtable.js';
import { pxd_clear } from '../../include/linux/pgtable.js';

export function* arm64_pmd_free_pte_page(cur: Ctx): Proc<void> {
  const e = yield* pxd_clear(cur, 'pmd_free_pte_page', 'pmd_clear', kernelPmdTable, 0);
  if (e === null || !('table' in e)) throw new Error(`pmd_free_pte_page: ${kernelPmdTable}[0] links no PTE table`);
  yield* kernel_tlb_broadcast_invalidate(cur, '__flush_tlb_kernel_pgtable', 'TLBI VAAE1IS (kernel, leaf + walk cache, broadcast), DSB ISH', 'tlbi_broadcast', 'tlbi-walk');
  yield* pte_free_kernel(cur, e.table);
}
