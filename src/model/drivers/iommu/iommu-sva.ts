/**
 * drivers/iommu/iommu-sva.c: the SVA IOMMU's caches of the kernel part of the page tables.
 *
 * With SVA the IOMMU walks the page tables of a bound process (PASID -> mm) and caches
 * translations and intermediate entries (IOTLB, paging-structure caches). On x86 the upper levels
 * of every process PGD point at the shared kernel tables, so it caches pointers into kernel
 * page-table pages too (kernel.md §1.3). It takes no IPIs and is no RCU reader: only
 * iommu_sva_invalidate_kva_range() clears those caches (v4 onwards of Lu Baolu's series; before
 * it, nothing did: §7.10, Fixes: 26b25a2b98e4).
 *
 * The model has one SVA-bound device; its cached kernel entries are the location `iommu.sva.iotlb`
 * (TlbEntry[] of mm 'init_mm'), filled by the DMA walker (hw/iommu.ts).
 */
import { access, type Loc, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import type { TlbEntry } from '../../state.js';

/** The IOTLB and paging-structure caches of the SVA-bound IOMMU (kernel entries only). */
export const iommuTlbLoc: Loc = 'iommu.sva.iotlb';

/**
 * iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL): when an SVA domain exists
 * (static_branch iommu_sva_present), take iommu_sva_lock, walk iommu_sva_mms and call
 * mmu_notifier_arch_invalidate_secondary_tlbs() for each; the driver invalidates the IOTLB and
 * paging-structure caches and waits for completion. One step in the model: after it, no cached
 * entry of the kernel range is left, and walks in flight were completed or abandoned.
 */
export function* iommu_sva_invalidate_kva_range(cur: Ctx, caller: string): Proc<void> {
  if (!cur.k.config.sva) {
    yield* access({ fn: 'iommu_sva_invalidate_kva_range', desc: `${caller}: no SVA domain (iommu_sva_present off): nothing to invalidate` });
    return;
  }
  yield* access({
    fn: 'iommu_sva_invalidate_kva_range',
    desc: `${caller}: invalidate the SVA IOMMU's IOTLB and paging-structure caches for the kernel range`,
    cost: { cls: 'iommu_invalidate' },
    reads: [iommuTlbLoc],
    writes: [iommuTlbLoc],
    effect: ([t]) => {
      const entries = t as readonly TlbEntry[];
      return {
        writes: [[iommuTlbLoc, entries.filter((e) => e.mm !== 'init_mm') as unknown as Value]],
        events: [{ type: 'iommu_invalidate', cpu: cur.cpu, fn: caller, dropped: entries.length }],
        note: `dropped ${entries.length} cached entries`,
      };
    },
  });
}
