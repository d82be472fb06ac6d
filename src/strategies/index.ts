/**
 * Named strategies: presets of the model's configuration knobs (kernel.md §5, Appendix A).
 * A strategy is data. To add one, define it here (or in a file of its own imported here) with
 * `defineStrategy`; no engine changes are needed.
 */
import type { KernelConfig } from '../model/config.js';

export interface Strategy {
  readonly id: string;
  readonly title: string;
  /** What the kernel does, and which version or patch it follows. */
  readonly description: string;
  readonly knobs: Partial<KernelConfig>;
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

export function strategies(): Strategy[] {
  return [...registry.values()];
}

defineStrategy({
  id: 'broadcast-ipi',
  title: 'S0: broadcast sync IPI (before 2026)',
  description:
    'The !PT_RECLAIM single-table fallback calls tlb_remove_table_sync_one(): an empty IPI to every other online CPU, ' +
    'waited for, then frees the table.',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'sync-rcu-v1',
  title: 'S1 v1: synchronize_rcu() in the fallback (as first posted)',
  description:
    'Lance Yang v1 (23 Feb 2026): __tlb_remove_table_one() calls synchronize_rcu() when ' +
    'CONFIG_MMU_GATHER_RCU_TABLE_FREE, then frees.',
  knobs: { pt_reclaim: false, remove_table_one: 'synchronize_rcu', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'sync-rcu',
  title: 'S1: tlb_remove_table_sync_rcu() (1fb3d8c20bfa, merged)',
  description:
    '1fb3d8c20bfa "mm/mmu_gather: replace IPI with synchronize_rcu() when batch allocation fails": the fallback ' +
    'calls tlb_remove_table_sync_rcu() (synchronize_rcu() with RCU table free), then frees.',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'skip-redundant-ipi',
  title: 'S2: skip the sync when the flush implied an IPI broadcast (v8)',
  description:
    'Lance Yang v8 (24 Mar 2026): tlb_remove_table_sync_one() and tlb_remove_table_sync_rcu() return early when ' +
    'tlb_table_flush_implies_ipi_broadcast(), which x86 sets for native_flush_tlb_multi() without INVLPGB.',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8' },
});

defineStrategy({
  id: 'no-sync',
  title: 'No sync in the fallback (deliberately broken)',
  description: 'The single-table fallback frees the table right after the TLB flush, with no wait for walkers.',
  knobs: { pt_reclaim: false, remove_table_one: 'none', skip_sync_if_flush_implies_ipi: false },
});

defineStrategy({
  id: 'pt-reclaim',
  title: 'CONFIG_PT_RECLAIM: call_rcu() in the fallback',
  description:
    'With CONFIG_PT_RECLAIM (def_bool y wherever MMU_GATHER_RCU_TABLE_FREE && !HAVE_ARCH_TLB_REMOVE_TABLE, x86 and ' +
    "arm64 included) the fallback queues the table with call_rcu() on the ptdesc's rcu_head: no IPI, no sleep.",
  knobs: { pt_reclaim: true },
});

defineStrategy({
  id: 'targeted-ipi',
  title: 'S3: targeted sync IPIs, barriers as posted (v4, not merged)',
  description:
    'Lance Yang v4 (2 Feb 2026): GUP-fast publishes the mm it walks in a per-CPU variable (then smp_mb()); the ' +
    'walker sync IPIs only the CPUs walking that mm after a read barrier on the updater side.',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', sync_targeted: 'rmb' },
});

defineStrategy({
  id: 'targeted-ipi-mb',
  title: 'S3 with full barriers on both sides',
  description: 'As targeted-ipi, with smp_mb() on the updater between the page-table change and the scan (the Dekker pattern).',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', sync_targeted: 'mb' },
});
