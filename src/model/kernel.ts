/**
 * The booted kernel a scenario runs: configuration, architecture hooks and the address spaces'
 * layout. It is immutable; everything that changes lives in the store (state.ts).
 *
 * `Ctx` is what the kernel calls `current` plus smp_processor_id(): the CPU a model function runs
 * on, the task's name and mm, and the context (task, hardirq, softirq). Model functions take it
 * as their first argument.
 */
import type { Proc } from '../core/index.js';
import type { ArchId, KernelConfig } from './config.js';
import type { mmu_gather } from './include/asm-generic/tlb.js';
import type { KernelPtSpec } from './mm/kernel_pgtable.js';
import type { KernelHooks } from './strategy-hooks.js';

/** A VMA, in units of PMD slots (2 MiB each): it covers slots [start, end). */
export interface VmaSpec {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /**
   * false: the VMA is not mapped at boot (no page tables under it); a workload maps it with the
   * `mmap` step. Absent or true: mapped at boot with every PTE present.
   */
  readonly mapped?: boolean;
}

/**
 * An address space, reduced to one PGD entry, one PUD entry and one PMD table whose slots hold
 * PTE tables (see docs/model.md, "Geometry").
 */
export interface MmSpec {
  readonly name: string;
  readonly vmas: readonly VmaSpec[];
  /** Present PTEs in each PTE table. */
  readonly ptes_per_table: number;
  /** x86 INVLPGB: the mm has a global ASID and is flushed by broadcast (consider_global_asid()). */
  readonly global_asid: boolean;
  /**
   * A MAP_SHARED mapping of a whole hugetlbfs file (mm/hugetlb.ts), reached through PGD entry 1:
   * one PUD entry per 1 GiB PMD table of the file, shared with the other mms that map the file.
   */
  readonly hugetlb?: HugetlbMapping;
}

/** An mm's mapping of a hugetlbfs file: a VMA named `name` covering every table of `file`. */
export interface HugetlbMapping {
  readonly name: string;
  readonly file: string;
  /** false: not mapped at boot (no PUD entries); a workload maps and shares it with `mmap`. */
  readonly mapped?: boolean;
}

/**
 * A hugetlbfs file of 2 MiB pages: `tables` PMD tables (1 GiB each, the unit of PMD sharing), each
 * mapping `pages` huge pages (the model's stand-in for 512).
 */
export interface HugetlbFileSpec {
  readonly name: string;
  readonly tables: number;
  readonly pages: number;
}

/** Architecture hooks: the arch's asm/tlb.h and tlbflush.h, as far as the model needs them. */
export interface ArchOps {
  readonly id: ArchId;
  /** asm/tlb.h tlb_flush(): flush what the gather recorded. */
  tlb_flush(cur: Ctx, tlb: mmu_gather): Proc;
  /** tlb_table_flush_implies_ipi_broadcast() (a boot-time constant, a static key on x86). */
  tlb_table_flush_implies_ipi_broadcast(k: Kernel): boolean;
  /** tlb_needs_table_invalidate(): true on x86 and arm64 (false on powerpc hash and sparc). */
  readonly tlb_needs_table_invalidate: boolean;
}

export interface Kernel {
  readonly arch: ArchOps;
  readonly config: KernelConfig;
  readonly nr_cpus: number;
  readonly mms: ReadonlyMap<string, MmSpec>;
  /** vCPUs the host may preempt (x86-kvm). */
  readonly preemptible_vcpus: readonly number[];
  /**
   * CPUs that have a user mm loaded at boot. The model never switches a CPU to a user mm, so
   * only these can ever cache user translations.
   */
  readonly user_mm_cpus: readonly number[];
  /**
   * Mark each workload operation's begin and end with a step (the simulator times them; the
   * checker leaves them out, as they would only add steps).
   */
  readonly mark_operations?: boolean;
  /**
   * Run the ghost check at the return of madvise(MADV_DONTNEED) (mm/madvise.ts zap_returns()): set
   * when the scenario checks no-stale-tlb-after-zap. The check only reads, but its reads of every
   * CPU's TLB race with flushes and walks, so leaving it out elsewhere keeps the explorations of the
   * other scenarios as they were.
   */
  readonly observe_zap_return?: boolean;
  /**
   * Emit the data-page free step (mm/page_alloc.ts free_pages_and_swap_cache()): set when the
   * scenario checks no-tlb-entry-to-freed-page. Data pages are names and their free changes no
   * state, so without the invariant the step would only add reads (of every CPU's TLB) that race.
   */
  readonly observe_data_page_free?: boolean;
  /** hugetlbfs files that mms map (MmSpec.hugetlb), by name. */
  readonly hugetlbfs?: ReadonlyMap<string, HugetlbFileSpec>;
  /** Kernel (init_mm) page tables for a vmalloc range, and the SVA device's DMA (mm/kernel_pgtable.ts). */
  readonly kernel_pt?: KernelPtSpec;
  /**
   * Tree RCU grace periods (issue #12, kernel/rcu/tree.ts): one grace period at a time, run by
   * the GP kthread, shared by the synchronize_rcu() and call_rcu() callers of its window. Set for
   * the simulator; the checker keeps a grace period per call, which waits for the same readers
   * (those present at the call) and no more (docs/model.md §5).
   */
  readonly rcu_tree_gp?: boolean;
  /**
   * The kernel's lock queues (issue #12, kernel/locking/{rwsem,spinlock}.ts): the rwsem's FIFO
   * wait list with reader batching, stealing and the RWSEM_WAIT_TIMEOUT handoff, and qspinlock's
   * arrival order. Set for the simulator, where who waits how long is the measurement. The checker
   * lets any waiter take a free lock (one guarded step): every acquisition order the queues allow
   * is among those, so its verdicts cover the queued form (docs/model.md §5.23).
   */
  readonly fifo_locks?: boolean;
  /** The strategy's hooks, when it comes from a strategy file (model/strategy-hooks.ts). */
  readonly hooks?: KernelHooks;
}

export interface Ctx {
  readonly k: Kernel;
  /** smp_processor_id() */
  readonly cpu: number;
  /** current->comm */
  readonly comm: string;
  /** current->mm (null for kthreads) */
  readonly mm: string | null;
  readonly context: 'task' | 'hardirq' | 'softirq';
}

export function mmSpec(k: Kernel, mm: string): MmSpec {
  const s = k.mms.get(mm);
  if (!s) throw new Error(`no mm named '${mm}'`);
  return s;
}

/** The VMA of the mm's layout that covers 2 MiB slot `slot` (mapped now or not), if any. */
export function vmaAt(k: Kernel, mm: string, slot: number): VmaSpec | undefined {
  return mmSpec(k, mm).vmas.find((v) => slot >= v.start && slot < v.end);
}

/** The number of PMD entries the mm's layout uses: one per 2 MiB slot up to the last VMA's end. */
export function pmd_slots(mm: MmSpec): number {
  return Math.max(0, ...mm.vmas.map((v) => v.end));
}

/** online CPUs: all of them (the model does not hotplug). Built once per kernel (it is immutable). */
export function cpu_online_mask(k: Kernel): readonly number[] {
  let m = ONLINE.get(k);
  if (!m) {
    const cpus: number[] = [];
    for (let i = 0; i < k.nr_cpus; i++) cpus.push(i);
    ONLINE.set(k, (m = cpus));
  }
  return m;
}
const ONLINE = new WeakMap<Kernel, readonly number[]>();

/** cpu_online(cpu), as a set of cpu_online_mask(). */
export function cpu_online_set(k: Kernel): ReadonlySet<number> {
  let s = ONLINE_SET.get(k);
  if (!s) ONLINE_SET.set(k, (s = new Set(cpu_online_mask(k))));
  return s;
}
const ONLINE_SET = new WeakMap<Kernel, ReadonlySet<number>>();
