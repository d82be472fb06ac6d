/**
 * Named strategies: presets of the model's configuration knobs (kernel.md §5, Appendix A).
 * A strategy is data. To add one, define it here (or in a file of its own imported here) with
 * `defineStrategy`; no engine changes are needed.
 */
import type { KernelConfig } from '../model/config.js';
import type { StrategyHooks } from '../model/strategy-hooks.js';

export interface Strategy {
  readonly id: string;
  readonly title: string;
  /** What the kernel does, and which version or patch it follows. */
  readonly description: string;
  /**
   * The kernel this preset is: a version or commit for merged code, the patch (series, version,
   * list, date) for posted code, or 'no kernel' for a deliberately broken variant. `ptlab list
   * strategies` prints it.
   */
  readonly kernel: string;
  readonly knobs: Partial<KernelConfig>;
  /** Code at the model's synchronisation points: only strategies from files have them (src/scenarios/strategy-file.ts). */
  readonly hooks?: StrategyHooks;
  /** The file a strategy was loaded from. */
  readonly file?: string;
}

const registry = new Map<string, Strategy>();

export function defineStrategy(s: Strategy): Strategy {
  if (registry.has(s.id)) throw new Error(`strategy '${s.id}' is defined twice`);
  registry.set(s.id, s);
  return s;
}

export function strategyById(id: string): Strategy | undefined {
  return registry.get(id);
}

/** The built-in strategies, then those loaded from files (src/scenarios/strategy-file.ts), in load order. */
export function strategies(): Strategy[] {
  return [...registry.values(), ...fromFiles.values()];
}

/** The built-in strategies' ids: the names a preset can give (a file is given by its path). */
export function builtinStrategyIds(): string[] {
  return [...registry.keys()];
}

const fromFiles = new Map<string, Strategy>();

/** A preset names a strategy file rather than a built-in strategy when it looks like a path. */
export function isStrategyPath(preset: string): boolean {
  return /[\\/]/.test(preset) || /\.(?:[cm]?ts|[cm]?js)$/.test(preset);
}

/**
 * Loads a strategy file named as a preset: by the scenario that names it (its path, to resolve a
 * relative file against), or by the command line (null: against the working directory). Set by
 * src/scenarios/strategy-file.ts, which needs Node (files, TypeScript); the browser explorer,
 * which has neither, leaves it unset.
 */
export type StrategyFileLoader = (path: string, scenarioFile: string | null) => Strategy;
let fileLoader: StrategyFileLoader | null = null;

export function setStrategyFileLoader(load: StrategyFileLoader): void {
  fileLoader = load;
}

export function strategyFileLoader(): StrategyFileLoader | null {
  return fileLoader;
}

/** Note a strategy loaded from a file, for strategies(); a reload of the same file replaces it. */
export function noteStrategyFile(s: Strategy & { readonly file: string }): void {
  fromFiles.set(s.file, s);
}

defineStrategy({
  id: 'broadcast-ipi',
  title: 'S0: broadcast sync IPI (before 2026)',
  description:
    'The !PT_RECLAIM single-table fallback calls tlb_remove_table_sync_one(): an empty IPI to every other online CPU, ' +
    'waited for, then frees the table.',
  kernel: 'merged: tlb_remove_table_sync_one() in __tlb_remove_table_one() (v4.x .. before 1fb3d8c20bfa)',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'sync-rcu-v1',
  title: 'S1 v1: synchronize_rcu() in the fallback (as first posted)',
  description:
    'Lance Yang v1 (23 Feb 2026): __tlb_remove_table_one() calls synchronize_rcu() when ' +
    'CONFIG_MMU_GATHER_RCU_TABLE_FREE, then frees.',
  kernel: 'posted: Lance Yang, "mm/mmu_gather: replace IPI with synchronize_rcu() when batch allocation fails" v1, 23 Feb 2026 (not merged in this form)',
  knobs: { pt_reclaim: false, remove_table_one: 'synchronize_rcu', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'sync-rcu',
  title: 'S1: tlb_remove_table_sync_rcu() (1fb3d8c20bfa, merged)',
  description:
    '1fb3d8c20bfa "mm/mmu_gather: replace IPI with synchronize_rcu() when batch allocation fails": the fallback ' +
    'calls tlb_remove_table_sync_rcu() (synchronize_rcu() with RCU table free), then frees.',
  kernel: 'merged: 1fb3d8c20bfa "mm/mmu_gather: replace IPI with synchronize_rcu() when batch allocation fails"',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'skip-redundant-ipi',
  title: 'S2: skip the sync when the flush implied an IPI broadcast (v8)',
  description:
    'Lance Yang v8 (24 Mar 2026): tlb_remove_table_sync_one() and tlb_remove_table_sync_rcu() return early when ' +
    'tlb_table_flush_implies_ipi_broadcast(), which x86 sets for native_flush_tlb_multi() without INVLPGB; v8 2/2 ' +
    'also makes x86 tlb_flush() pass freed_tables || unshared_tables.',
  kernel: 'posted: Lance Yang v8 1/2 + 2/2, 24 Mar 2026 (not merged), on top of 1fb3d8c20bfa',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8', x86_tlb_flush_unshared_tables: true },
});

defineStrategy({
  id: 'no-sync',
  title: 'No sync in the fallback (deliberately broken)',
  description: 'The single-table fallback frees the table right after the TLB flush, with no wait for walkers.',
  kernel: 'no kernel (deliberately broken)',
  knobs: { pt_reclaim: false, remove_table_one: 'none', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'pt-reclaim',
  title: 'CONFIG_PT_RECLAIM: call_rcu() in the fallback',
  description:
    'With CONFIG_PT_RECLAIM (def_bool y wherever MMU_GATHER_RCU_TABLE_FREE && !HAVE_ARCH_TLB_REMOVE_TABLE, x86 and ' +
    "arm64 included) the fallback queues the table with call_rcu() on the ptdesc's rcu_head: no IPI, no sleep.",
  kernel: 'merged: CONFIG_PT_RECLAIM, 6375e95f381e (v6.14)',
  knobs: { pt_reclaim: true },
});

defineStrategy({
  id: 'targeted-ipi',
  title: 'S3: targeted sync IPIs, barriers as posted (v4, not merged)',
  description:
    'Lance Yang v4 (2 Feb 2026): GUP-fast publishes the mm it walks in a per-CPU variable (then smp_mb()); the ' +
    'walker sync IPIs only the CPUs walking that mm after a read barrier on the updater side.',
  kernel: 'posted: Lance Yang, "targeted TLB sync IPIs for lockless page table walkers" v4, 2 Feb 2026 (not merged)',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', sync_targeted: 'rmb' },
});

defineStrategy({
  id: 'targeted-ipi-mb',
  title: 'S3 with full barriers on both sides',
  description: 'As targeted-ipi, with smp_mb() on the updater between the page-table change and the scan (the Dekker pattern).',
  kernel: 'posted: v4 (2 Feb 2026) with the full barrier asked for in its review (not merged)',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', sync_targeted: 'mb' },
});

// hugetlb PMD-table unsharing (mm/hugetlb.ts). These set only the unshare knobs (and, for the v8
// skip, the skip knobs), so they combine with any table-free configuration.

defineStrategy({
  id: 'hugetlb-no-sync',
  title: 'hugetlb unshare before 1013af4f585f: no walker sync (CVE-2025-38085)',
  description:
    'huge_pmd_unshare() clears the PUD and drops the share count; the caller flushes the TLB before dropping ' +
    'i_mmap_rwsem, but nothing waits for a GUP-fast that already loaded the PUD.',
  kernel: 'merged, historical: before 1013af4f585f (CVE-2025-38085)',
  knobs: { hugetlb_unshare: 'none' },
});

defineStrategy({
  id: 'hugetlb-per-table-ipi',
  title: 'hugetlb unshare with one sync IPI per table (1013af4f585f, May 2025)',
  description:
    '1013af4f585f "mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race": huge_pmd_unshare() calls ' +
    'tlb_remove_table_sync_one() for every unshared PMD table, last sharer or not: one broadcast per 1 GiB.',
  kernel: 'merged, historical: 1013af4f585f (May 2025, v6.16) until 8ce720d5bd91',
  knobs: { hugetlb_unshare: 'per_table_ipi' },
});

defineStrategy({
  id: 'hugetlb-batched',
  title: 'hugetlb unshare batched in the mmu_gather (8ce720d5bd91, Dec 2025)',
  description:
    '8ce720d5bd91 "mm/hugetlb: fix excessive IPI broadcasts when unsharing PMD tables using mmu_gather": one TLB ' +
    'flush per batch, and one sync broadcast per batch only if some table became exclusive, before i_mmap_rwsem ' +
    'is dropped.',
  kernel: 'merged: 8ce720d5bd91 (Dec 2025)',
  knobs: { hugetlb_unshare: 'batched' },
});

defineStrategy({
  id: 'hugetlb-batched-skip',
  title: 'hugetlb unshare batched, plus the v8 skip of the redundant sync IPI',
  description:
    '8ce720d5bd91 with Lance Yang v8 (24 Mar 2026): tlb_remove_table_sync_one() returns early when ' +
    'tlb_table_flush_implies_ipi_broadcast() (x86 with native_flush_tlb_multi() and no INVLPGB), and x86 ' +
    'tlb_flush() passes freed_tables || unshared_tables, so the unshare flush IPIs lazy CPUs too.',
  kernel: 'posted: 8ce720d5bd91 + Lance Yang v8 1/2 + 2/2, 24 Mar 2026 (not merged)',
  knobs: { hugetlb_unshare: 'batched', skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8', x86_tlb_flush_unshared_tables: true },
});

// The v8 skip alone (issue #12): these set only the three v8 knobs, so they combine with any other
// configuration, PT_RECLAIM=y included (the munmap presets above force pt_reclaim: false). On a
// default x86_64 kernel (PT_RECLAIM=y) v8 matters where tlb_remove_table_sync_one() remains:
// khugepaged collapse and the batched hugetlb unshare.

defineStrategy({
  id: 'merged',
  title: 'The merged kernel: no v8 skip (whatever else the scenario configures)',
  description:
    'tlb_remove_table_sync_one() broadcasts after khugepaged collapse, and after a batched hugetlb unshare that ' +
    'left a table exclusive, whatever the TLB flush before it did; x86 tlb_flush() passes freed_tables only.',
  kernel: 'merged: mainline as of 8ce720d5bd91 and 1fb3d8c20bfa (v8 not applied)',
  knobs: { skip_sync_if_flush_implies_ipi: false, implies_ipi_broadcast: 'false', x86_tlb_flush_unshared_tables: false },
});

defineStrategy({
  id: 'v8-skip',
  title: 'The v8 skip of redundant sync IPIs, on whatever else the scenario configures',
  description:
    'Lance Yang v8 (24 Mar 2026): tlb_remove_table_sync_one() and tlb_remove_table_sync_rcu() return early when ' +
    'tlb_table_flush_implies_ipi_broadcast() (x86 native_flush_tlb_multi() without INVLPGB), and x86 tlb_flush() ' +
    'passes freed_tables || unshared_tables. Unlike skip-redundant-ipi it leaves pt_reclaim as configured.',
  kernel: 'posted: Lance Yang v8 1/2 + 2/2, 24 Mar 2026 (not merged)',
  knobs: { skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8', x86_tlb_flush_unshared_tables: true },
});

// khugepaged collapse (mm/khugepaged.ts): the walker sync after pmdp_collapse_flush() is the
// collapse_sync knob; no preset but this one sets it (the v8 skip presets elide sync_one there too).

defineStrategy({
  id: 'rcu-everywhere',
  title: 'S4: RCU for every walker sync ("RCU everywhere", proposed; not merged)',
  description:
    'Peter Zijlstra in the v4 thread (Feb 2026): replace the remaining tlb_remove_table_sync_one() callers with ' +
    'synchronize_rcu(), which waits for IRQ-off walkers (RCU readers since v4.20) without disturbing any CPU. ' +
    'Here: khugepaged collapse calls synchronize_rcu() (collapse_sync), and the !PT_RECLAIM single-table fallback ' +
    'tlb_remove_table_sync_rcu() (1fb3d8c20bfa), and the batched hugetlb unshare synchronize_rcu() with ' +
    'i_mmap_rwsem held for write (unshare_sync).',
  kernel: 'posted: S4, proposed by Peter Zijlstra in the v4 thread, Feb 2026 (no patch merged)',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: false, collapse_sync: 'synchronize_rcu', unshare_sync: 'synchronize_rcu' },
});

defineStrategy({
  id: 'async-kernel-free',
  title: 'S5: CONFIG_ASYNC_KERNEL_PGTABLE_FREE on system_wq (as merged)',
  description:
    'Lu Baolu / Dave Hansen, "Fix stale IOTLB entries for kernel address space" (v4 5 Sep 2025 .. v7 22 Oct 2025, ' +
    'v7 7/8 in mm-tree and 6.18.y stable): kernel page-table pages are queued by pagetable_free_kernel() and freed by ' +
    'kernel_pgtable_work_func() after one iommu_sva_invalidate_kva_range(); the work is queued with schedule_work() ' +
    '(system_wq, no rescuer).',
  kernel: 'merged: CONFIG_ASYNC_KERNEL_PGTABLE_FREE, Lu Baolu / Dave Hansen v7 7/8, 22 Oct 2025 (mm tree, 6.18.y stable)',
  knobs: { kernel_pt_free: 'async', kernel_free_wq: 'system' },
});

defineStrategy({
  id: 'async-kernel-free-reclaim',
  title: 'S5 + WQ_MEM_RECLAIM (Jason Gunthorpe\'s review of v7 7/8, not merged)',
  description:
    'As async-kernel-free, but the work goes to a WQ_MEM_RECLAIM workqueue, whose rescuer runs it when no kworker can ' +
    'be created under memory pressure (after the mayday timeout), so the deferred frees cannot be starved (kernel.md I-6).',
  kernel: 'posted: review of v7 7/8 by Jason Gunthorpe (WQ_MEM_RECLAIM; not merged)',
  knobs: { kernel_pt_free: 'async', kernel_free_wq: 'mem_reclaim' },
});
