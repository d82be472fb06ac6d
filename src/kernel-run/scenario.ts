/**
 * The same workload in ptlab: a scenario per phase, on the configuration of the kernel that was
 * booted, simulated with the library API; its interrupts per CPU are then set beside the guest's.
 *
 * The configuration: each knob the model has is derived from the package's /boot/config-* where
 * the kernel has an option for it, else from the kernel version (a change merged after it is
 * absent), each with the reason (`KnobSource`). The guest runs under QEMU TCG: no KVM CPUID leaf,
 * so no PV TLB flush: the arch is bare-metal `x86` (native_flush_tlb_multi(), IPIs).
 */
import { simulate, type ScenarioInput } from '../index.js';
import type { KernelImage } from './kernel-package.js';
import { kernelVersion } from './kernel-package.js';
import type { Phase, Workload } from './workload-file.js';

export interface KnobSource {
  readonly knob: string;
  readonly value: string | boolean;
  readonly source: string;
}

const older = (v: [number, number], major: number, minor: number): boolean => v[0] < major || (v[0] === major && v[1] < minor);

/** The model's knobs for this kernel, each with where it comes from. */
export function knobsFor(k: KernelImage): KnobSource[] {
  const cfg = (o: string): string => k.config.get(o) ?? 'absent';
  const v = kernelVersion(k.release);
  const ver = `${v[0]}.${v[1]}`;
  const out: KnobSource[] = [];
  const rcu = cfg('CONFIG_MMU_GATHER_RCU_TABLE_FREE') === 'y';
  const tbl = cfg('CONFIG_MMU_GATHER_TABLE_FREE') === 'y';
  out.push({ knob: 'table_free', value: rcu ? 'rcu' : tbl ? 'table' : 'page', source: `CONFIG_MMU_GATHER_RCU_TABLE_FREE=${cfg('CONFIG_MMU_GATHER_RCU_TABLE_FREE')}, CONFIG_MMU_GATHER_TABLE_FREE=${cfg('CONFIG_MMU_GATHER_TABLE_FREE')}` });
  out.push({ knob: 'pt_reclaim', value: cfg('CONFIG_PT_RECLAIM') === 'y', source: `CONFIG_PT_RECLAIM=${cfg('CONFIG_PT_RECLAIM')}` });
  out.push({ knob: 'per_vma_lock', value: cfg('CONFIG_PER_VMA_LOCK') === 'y', source: `CONFIG_PER_VMA_LOCK=${cfg('CONFIG_PER_VMA_LOCK')}` });
  out.push({ knob: 'remove_table_one', value: 'sync_one', source: `v${ver}: 1fb3d8c20bfa (sync_rcu, 2026) is not in it; __tlb_remove_table_one() calls tlb_remove_table_sync_one()` });
  out.push({ knob: 'collapse_sync', value: 'sync_one', source: `v${ver}: 2ba99c5e0881 (Nov 2022, in v6.1 and its stable tree) calls tlb_remove_table_sync_one() after pmdp_collapse_flush()` });
  out.push({
    knob: 'hugetlb_unshare',
    value: older(v, 6, 1) ? 'none' : 'per_table_ipi',
    source: older(v, 6, 1) ? `v${ver}: before 1013af4f585f` : `v${ver}: 1013af4f585f (May 2025, Cc: stable) backported to 6.1.y/6.12.y; 8ce720d5bd91 (batched, Dec 2025) is not in it`,
  });
  out.push({ knob: 'x86_flush_tlb_range_freed_tables', value: true, source: '3ef938c35035 (Jan 2025), backported to the stable trees down to 5.4 in April 2025' });
  out.push({
    knob: 'x86_switch_mm_cpumask',
    value: older(v, 6, 14) ? 'clear-after-cr3' : 'lazy',
    source: older(v, 6, 14) ? `v${ver}: switch_mm_irqs_off() clears prev's mm_cpumask bit (209954cbc7d0, "Update mm_cpumask lazily", came after v6.13)` : `v${ver}: 209954cbc7d0 keeps the bit until a flush IPI finds the CPU elsewhere`,
  });
  out.push({ knob: 'x86_freed_tables_ipi_lazy', value: true, source: 'native_flush_tlb_multi() IPIs lazy CPUs when freed_tables (every kernel with the lazy-TLB rework)' });
  out.push({ knob: 'batch_alloc', value: 'succeeds', source: 'the guest has no memory pressure: the GFP_NOWAIT batch page allocation succeeds (the guest shows no fallback broadcast)' });
  return out;
}

/** What of a phase the scenario does not reproduce, and the rows of the comparison it explains. */
export interface ScenarioLimit {
  readonly text: string;
  /** [metric, CPU class] pairs ('TLB' | 'CAL-TLB', 'op' | 'spin' | 'lazy' | 'child' | 'idle'). */
  readonly rows: ReadonlyArray<readonly [string, string]>;
}

export interface PhaseScenario {
  readonly scenario: ScenarioInput;
  readonly limits: readonly ScenarioLimit[];
}

/** What the kernel was built with, beyond the model's knobs, that changes what a phase does. */
export interface KernelFeatures {
  /** CONFIG_TRANSPARENT_HUGEPAGE: without it MADV_COLLAPSE fails with EINVAL (Debian 6.1 and 6.12 PREEMPT_RT: THP depends on !PREEMPT_RT). */
  readonly thp: boolean;
}

export function featuresOf(k: KernelImage): KernelFeatures {
  return { thp: k.config.get('CONFIG_TRANSPARENT_HUGEPAGE') === 'y' };
}

/** The scenario of one phase: the same CPUs, roles and operations. */
export function phaseScenario(w: Workload, ph: Phase, knobs: readonly KnobSource[], features: KernelFeatures = { thp: true }): PhaseScenario {
  const config: Record<string, string | boolean> = { preset: 'broadcast-ipi' };
  for (const k of knobs) config[k.knob] = k.value;
  const limits: ScenarioLimit[] = [];
  const ops = ph.threads.filter((t) => t.role === 'op');
  const mm: Record<string, unknown> = {};
  const cpus: Array<Record<string, unknown>> = Array.from({ length: w.vcpus }, () => ({}));
  let hugetlbfs: Record<string, unknown> | undefined;
  const vmaOf = (i: number): { name: string; start: number; end: number; mapped: boolean } => ({ name: `heap${i}`, start: i, end: i + 1, mapped: false });
  switch (ph.op) {
    case 'munmap':
    case 'collapse':
    case 'gup_fast':
    case 'baseline': {
      const gup = ph.op === 'gup_fast';
      mm.W = { ptes_per_table: 1, vmas: ops.map((_, i) => ({ ...vmaOf(i), mapped: gup })) };
      ops.forEach((t, i) => {
        const h = `heap${i}`;
        const run =
          ph.op === 'munmap' ? [{ mmap: h }, { touch: h }, { munmap: h }]
          : ph.op === 'collapse' ? [{ mmap: h }, { touch: h }, ...(features.thp ? [{ collapse: { slot: i } }] : []), { munmap: h }]
          : ph.op === 'gup_fast' ? [{ gup_fast: { slot: i, page: 0, pages: 1 } }]
          : ['idle'];
        cpus[t.cpu] = { mm: 'W', run, repeat: ph.count };
      });
      for (const t of ph.threads) {
        if (t.role === 'spin') cpus[t.cpu] = { mm: 'W', mode: 'user', run: ['user'] };
        if (t.role === 'sleep') cpus[t.cpu] = { mm: 'W', lazy: true };
      }
      if (ph.op === 'munmap') limits.push({ text: 'the guest maps 8 pages of a 2 MiB region (one PTE table) and frees the PMD and PUD tables above it too; the scenario maps 1 page and frees its PTE table: one flush per munmap either way', rows: [] });
      if (ph.op === 'collapse' && !features.thp) limits.push({ text: 'this kernel has no CONFIG_TRANSPARENT_HUGEPAGE (Debian\'s PREEMPT_RT builds of 6.1 and 6.12: THP depends on !PREEMPT_RT there): MADV_COLLAPSE fails with EINVAL in the guest (its warnings say so), and the scenario does the phase without the collapse step', rows: [] });
      if (ph.op === 'collapse' && features.thp) limits.push({ text: 'MADV_COLLAPSE drains the per-CPU LRU caches first (lru_add_drain_all(): work queued on each CPU with pages in them, a kworker woken there); the model\'s collapse is khugepaged\'s collapse_huge_page() alone', rows: [] });
      if (ph.op === 'gup_fast') limits.push({ text: 'vmsplice() pins 16 pages through get_user_pages_fast(); the scenario pins 1 (GUP-fast sends no IPI either way)', rows: [] });
      break;
    }
    case 'fork_exit':
    case 'hugetlb_fork': {
      const huge = ph.op === 'hugetlb_fork';
      const parent = ops[0] as { cpu: number };
      if (huge) {
        hugetlbfs = { F: { tables: 1, pages: 1 } };
        mm.P = { vmas: [{ name: 'text', start: 0, end: 1 }], hugetlb: { name: 'sga', file: 'F' } };
        mm.C = { ptes_per_table: 2, vmas: [{ name: 'text', start: 0, end: 1, mapped: false }], hugetlb: { name: 'sga', file: 'F', mapped: false } };
      } else {
        mm.P = { ptes_per_table: 8, vmas: [{ name: 'heap', start: 0, end: 8 }] };
        mm.C = { ptes_per_table: 8, vmas: [{ name: 'heap', start: 0, end: 8, mapped: false }] };
      }
      const child = ph.child_cpu as number;
      const run = huge ? [{ mmap: 'sga' }, exitStep()] : [{ mmap: 'heap' }, { touch: 'heap' }, exitStep()];
      cpus[child] = { mm: 'C', run, repeat: ph.count };
      // The parent waits in waitpid(): its CPU idles, lazy in the mm of the child born there.
      if (parent.cpu !== child) cpus[parent.cpu] = { mm: 'C', lazy: true };
      for (const t of ph.threads) {
        if (t.role === 'spin') cpus[t.cpu] = { mm: 'P', mode: 'user', run: ['user'] };
        if (t.role === 'sleep') cpus[t.cpu] = { mm: 'P', lazy: true };
      }
      limits.push({
        text: 'the model has no fork: a child is an mm that maps (shares) and exits; in the guest each child is born on the parent\'s CPU, which stays lazy in the child\'s mm until the child\'s exit IPIs it (freed_tables); the scenario has that lazy CPU for the first child only, and its hugetlb child touches no page of its own (no table to free, no such IPI)',
        rows: parent.cpu !== child ? [['TLB', 'op']] : [],
      });
      if (!huge) limits.push({ text: 'fork()\'s COW write-protect flush and the child\'s COW faults are not modelled (with no other thread of either mm on another CPU they IPI nobody, or only a lazy CPU skipped without freed_tables)', rows: [] });
      break;
    }
  }
  const scenario = {
    name: `${w.name}-${ph.name}`,
    description: `kernel-run phase ${ph.name} (${ph.op} x${ph.count}) on ${w.vcpus} vCPUs`,
    machine: { arch: 'x86', cpus: w.vcpus },
    config,
    mm,
    ...(hugetlbfs ? { hugetlbfs } : {}),
    cpus,
    sim: { profile: 'x86-2s', duration: '1s', seed: 1 },
    check: { invariants: 'all' },
  } as unknown as ScenarioInput;
  return { scenario, limits };
}

function exitStep(): string {
  return 'exit_mmap';
}

export interface SimCounts {
  /** Per CPU: function-call IPIs (not shootdowns) and TLB shootdown IPIs, as the model counts them. */
  readonly CAL: readonly number[];
  readonly TLB: readonly number[];
  readonly smpCalls: { readonly [func: string]: number };
  readonly complete: boolean;
  readonly violations: number;
}

/** Simulate a phase's scenario: its run lists to the end (fixed work), seed 1. */
export function simulatePhase(ps: PhaseScenario, name: string): SimCounts {
  const { run } = simulate(ps.scenario, { name, work: 1, duration: 60e9, seed: 1 });
  return {
    CAL: run.metrics.interrupts.map((x) => x.CAL),
    TLB: run.metrics.interrupts.map((x) => x.TLB),
    smpCalls: run.metrics.smpCalls,
    complete: run.complete,
    violations: run.result.violations.length,
  };
}
