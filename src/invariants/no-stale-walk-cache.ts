/**
 * I-3 (kernel.md §6): no TLB / paging-structure-cache entry points at a freed or reused table.
 * Before T is freed, every CPU's cached non-leaf entries that point to it must have been
 * invalidated (x86: a flush with freed_tables reaching lazy CPUs too; arm64: a non-leaf TLBI).
 * Likewise before a hugetlb PMD table that became exclusive is modified by its new owner
 * (`pt_reuse`, mm/hugetlb.ts): the other mms' cached PUD entries that still point to it must be
 * gone (x86: a flush with freed_tables || unshared_tables; arm64 since c2ff4764e03e: a non-leaf
 * TLBI), or the MMU walks the new owner's entries in their address spaces. And before a THP split
 * refills the PTE table khugepaged deposited (`pt_reuse` with `reuse`, mm/huge_memory.ts): cached
 * pointers to the table's previous generation must be gone (pmdp_collapse_flush() removed them).
 * For a kernel (init_mm) page table the SVA IOMMU's paging-structure cache counts too (reported as
 * holder `IOMMU`): only iommu_sva_invalidate_kva_range() clears it (kernel.md I-3 kernel rows, §7.10).
 */
import { eventProperty, type Value } from '../core/index.js';

export const noStaleWalkCache = eventProperty(
  'no-stale-walk-cache',
  'No walk-cache entry points at a freed or reused table',
  'A page-table page was freed (or, for a hugetlb PMD table, taken over and modified by its last owner) while a ' +
    'CPU\'s paging-structure (walk) cache still held an entry pointing to it: the MMU can walk the page after it is ' +
    'reused and read garbage, or another mm\'s entries, as page-table entries (or set A/D bits in it).',
  (ev) => {
    if (ev.type !== 'pt_free' && ev.type !== 'pt_reuse') return null;
    const stale = ev.stale as ReadonlyArray<{ readonly cpu: number; readonly level: string; readonly mm?: string; readonly holder?: string }>;
    if (stale.length === 0) return null;
    // `holder`: a cache that is not a CPU's, e.g. the SVA IOMMU's (mm/kernel_pgtable.ts, kernel.md §7.10).
    const where = stale.map((s) => `${s.holder ?? `CPU${s.cpu}`} (${s.mm ? `${s.mm}'s ` : ''}${s.level} entry)`).join(', ');
    // A `pt_reuse` event may say how the table is reused (`reuse`: a THP split refilling the PTE
    // table khugepaged deposited, mm/huge_memory.ts); without it, the hugetlb case.
    const holders = [...new Set(stale.map((s) => s.holder ?? `CPU${s.cpu}`))];
    const what = ev.type === 'pt_free' ? 'freed' : typeof ev.reuse === 'string' ? ev.reuse : `modified ${ev.owner}'s now exclusive`;
    return {
      message: `CPU${ev.cpu} ${ev.fn} ${what} ${ev.table} (gen ${ev.gen}) while the walk cache of ${where} still points to it`,
      details: { cpu: ev.cpu, fn: ev.fn, table: ev.table, gen: ev.gen, stale: ev.stale as Value, holders },
    };
  },
);
