/**
 * The kernel's shared state, as locations of the core store.
 *
 * Every piece of state more than one CPU (or a CPU and the hardware) can touch is a location, so
 * that each model step declares exactly what it reads and writes. The names follow the kernel's
 * own: per-CPU variables are `cpuN.<name>`, mm fields are `mm.<mm>.<field>`, a page-table page's
 * `struct ptdesc` state is `page.<id>`, and entry `i` of that table is `pt.<id>.<i>`.
 */
import { internByIndex, internByKey, internByKeyIndex, machineLocs, type Loc, type Value } from '../core/index.js';

// ---------------------------------------------------------------------------------------------
// Per-CPU state (struct rq / cpu_tlbstate / rcu_data / irq state, reduced to what matters).

export const cpuLoc = {
  /** arch_irqs_disabled(): interrupt flag (shared with the machine, which delivers IPIs on it). */
  irqs_off: machineLocs.irqsOff,
  /** preempt_count() without the hardirq bits: preempt_disable() and spin_lock() nesting. */
  preempt_count: internByIndex((c) => `cpu${c}.preempt_count`),
  /** in_hardirq(): inside an interrupt handler. */
  hardirq: internByIndex((c) => `cpu${c}.hardirq`),
  /** Spinlocks held (names), for might_sleep() reports. */
  locks_held: internByIndex((c) => `cpu${c}.locks_held`),
  /** rcu_read_lock() nesting of the task running there (current->rcu_read_lock_nesting). */
  rcu_nesting: internByIndex((c) => `cpu${c}.rcu_read_lock_nesting`),
  /**
   * The CPU's RCU state, `RcuState`: whether it is inside a read-side critical section of any
   * flavour (derived from the fields above, kept in step by every step that changes them), and a
   * count of the quiescent states it has passed (rcu_data.gp_seq progress, reduced): bumped when
   * the CPU leaves its last read-side section, context-switches, goes idle or returns to user
   * mode. A grace period snapshots every CPU's state and waits for the count to advance on each
   * CPU that was a reader.
   */
  rcu: internByIndex((c) => `cpu${c}.rcu`),
  /** Grace periods started from this CPU (names them in traces: `cpuN#k`). */
  rcu_gp_started: internByIndex((c) => `cpu${c}.rcu_gp_started`),
  /**
   * v4 1/3 of "targeted TLB sync IPIs" (S3): the mm this CPU is walking locklessly, or null;
   * set and cleared by GUP-fast, scanned by tlb_remove_table_sync_mm().
   */
  active_lockless_pt_walk_mm: internByIndex((c) => `cpu${c}.active_lockless_pt_walk_mm`),
  /** cpu_tlbstate.loaded_mm: whose page tables the MMU may walk here ('init_mm' for none). */
  loaded_mm: internByIndex((c) => `cpu${c}.loaded_mm`),
  /** cpu_tlbstate_shared.is_lazy: a kthread/idle runs on a borrowed user mm. */
  is_lazy: internByIndex((c) => `cpu${c}.is_lazy`),
  /** 'user' | 'kernel' | 'idle' */
  mode: internByIndex((c) => `cpu${c}.mode`),
  /** TLB and paging-structure (walk) cache entries: TlbEntry[]. */
  tlb: internByIndex((c) => `cpu${c}.tlb`),
  /** Host view of a vCPU (KVM steal_time.preempted): { preempted, flush }. */
  steal_time: internByIndex((c) => `cpu${c}.steal_time.preempted`),
  /** vCPU descheduled by the host (machine-level flag). */
  stopped: machineLocs.stopped,
} as const;

// ---------------------------------------------------------------------------------------------
// mm_struct

export const mmLoc = {
  /** mm_cpumask(mm): sorted CPU numbers. */
  cpumask: internByKey((mm) => `mm.${mm}.cpumask`),
  /** mmap_lock (rw_semaphore): RwsemState (kernel/locking/rwsem.ts); its timer ticks in `rwsemTimedOutLoc`. */
  mmap_lock: internByKey((mm) => `mm.${mm}.mmap_lock`),
  /** mm->tlb_flush_pending */
  tlb_flush_pending: internByKey((mm) => `mm.${mm}.tlb_flush_pending`),
  /** The VMAs still mapped (names), the maple tree reduced to a list. */
  vmas: internByKey((mm) => `mm.${mm}.vmas`),
  // x86 defaults and guests (issue #11)
  /** mm->context.global_asid != 0 (x86-invlpgb only): a boolean; set by consider_global_asid(). */
  global_asid: internByKey((mm) => `mm.${mm}.context.global_asid`),
  // old mmu_gather forms (issue #11)
  /**
   * atomic_read(&mm->mm_users): the user threads of the mm, one per CPU that runs it non-lazily
   * (0 once exit_mmap() runs: mmput() dropped the last). Read by the pre-v4.19 shortcut only.
   */
  mm_users: internByKey((mm) => `mm.${mm}.mm_users`),
  /** atomic_read(&mm->mm_count): 1 for all the users together, plus one per lazy CPU. */
  mm_count: internByKey((mm) => `mm.${mm}.mm_count`),
} as const;

// ---------------------------------------------------------------------------------------------
// struct address_space of a hugetlbfs file (mm/hugetlb.ts)

export const mappingLoc = {
  /** mapping->i_mmap_rwsem (rw_semaphore): { writer: comm | null, readers: number }. */
  i_mmap_rwsem: internByKey((file) => `mapping.${file}.i_mmap_rwsem`),
} as const;

/**
 * struct ptdesc fields other than the page state of `page.<id>`: the hugetlb PMD-table share count
 * (ptdesc->pt_share_count, CONFIG_HUGETLB_PMD_PAGE_TABLE_SHARING): how many mms other than one
 * link the table; 0 means exclusively owned (ptdesc_pmd_is_shared() is false). A location of its
 * own, so that the count's updates do not conflict with walkers' reads of `page.<id>`.
 */
export const ptdescLoc = {
  pt_share_count: internByKey((table) => `ptdesc.${table}.pt_share_count`),
} as const;

// ---------------------------------------------------------------------------------------------
// Pages and page tables

/** `struct ptdesc`/`struct page` state of a page that can hold a page table. */
export interface PageState {
  readonly [key: string]: Value;
  /** 'free' in the buddy allocator, 'pgtable' in use as a page table, 'data' reused for data. */
  readonly state: 'free' | 'pgtable' | 'data';
  /** Bumped at every allocation: a walker that entered generation g and finds g' != g reads a reused page. */
  readonly gen: number;
  /** Owner mm while a page table, or the user that reallocated it. */
  readonly owner: string | null;
  readonly level: Level | null;
}

export type Level = 'pgd' | 'pud' | 'pmd' | 'pte';

export const LEVELS: readonly Level[] = ['pgd', 'pud', 'pmd', 'pte'];

/** An entry of a page table: none, a pointer to a lower table, or a leaf mapping a data page. */
export type PtEntry =
  | null
  | { readonly table: string; readonly gen: number }
  /**
   * A leaf: a data page (PTE level) or a huge page (PMD level, a THP installed by khugepaged).
   * `invalid`: a huge PMD that __split_huge_pmd_locked() has marked not-present with
   * pmdp_invalidate() (pmd_mkinvalid(): still huge, not accessible) until the table replaces it.
   */
  | { readonly pfn: string; readonly invalid?: boolean }
  // split and migration entries (issue #11)
  /**
   * A PMD migration entry (a non-present swap PMD, set_pmd_migration_entry()) of the THP whose
   * head page is `migration`. `invalid`: pmd_mkinvalid() was applied to it by an unconditional
   * pmdp_invalidate() (split_pmd_invalidate: always) on arm64 before e783331c7720, which sets
   * PMD_PRESENT_INVALID: pmd_present() is then true for what is still a swap entry (its swap
   * fields read as a pfn). Elsewhere pmd_mkinvalid() leaves a swap entry as it is.
   */
  | { readonly migration: string; readonly invalid?: boolean };

export const pageLoc = internByKey((id) => `page.${id}`);
export const ptLoc = internByKeyIndex((table, index) => `pt.${table}.${index}`);
/** The buddy allocator's free list (most recently freed first, as the per-CPU lists behave). */
export const freeListLoc: Loc = 'buddy.free_list';
/**
 * The next never-used page frame: when the free list is empty, pagetable_alloc() hands out page
 * `pfn<n>` (mm/page_alloc.ts freshPage) and bumps this counter. Deterministic, so that every engine
 * names the same page the same way.
 */
export const nextPfnLoc: Loc = 'buddy.next_pfn';

/** A cached translation. Non-leaf entries are the paging-structure/walk cache. */
export interface TlbEntry {
  readonly [key: string]: Value;
  readonly mm: string;
  /** Level of the table whose entry was cached: 'pgd' | 'pud' | 'pmd' for non-leaf, 'pte' for leaf. */
  readonly level: Level;
  /** Index path of the cached entry (from the PGD). */
  readonly path: string;
  /** Non-leaf: the table the entry points to, and its generation when cached. */
  readonly table: string | null;
  readonly gen: number | null;
  /** Leaf: the data page. */
  readonly pfn: string | null;
}

/** Value of `cpuN.rcu`. */
export interface RcuState {
  readonly [key: string]: Value;
  readonly reader: boolean;
  readonly qs: number;
}

/** KVM's per-vCPU steal_time.preempted flags (KVM_VCPU_PREEMPTED, KVM_VCPU_FLUSH_TLB). */
export interface StealTime {
  readonly [key: string]: Value;
  readonly preempted: boolean;
  readonly flush: boolean;
}

/**
 * A data folio, as far as GUP-fast and khugepaged look at it: the references beyond the mapping's
 * (folio_ref_count() - folio_expected_ref_count(): GUP-fast's speculative references and pins), and
 * where khugepaged is with it. Small pages are their own folio; a THP's subpages share the head's
 * (mm/khugepaged.ts, include/linux/pgtable.ts page_folio()).
 */
export interface FolioState {
  readonly [key: string]: Value;
  readonly pins: number;
  /**
   * 'mapped': mapped by a page table, nothing in progress; 'isolated': __collapse_huge_page_isolate()
   * checked its refcount and isolated it, so a collapse will copy it and unmap it (ghost: a pin taken
   * now is one khugepaged did not see); 'freed': released after the copy with no reference left
   * (try_grab_folio_fast() fails on a zero refcount).
   */
  readonly state: 'mapped' | 'isolated' | 'freed';
}

/** `folio.<head page>`: its FolioState (implied initial value: mapped, no pins; boot.ts). */
export const folioLoc = internByKey((folio) => `folio.${folio}`);
export const FOLIO_MAPPED: FolioState = { pins: 0, state: 'mapped' };

/**
 * pmd_huge_pte(mm, pmdp): the PTE tables deposited for the THPs a PMD table maps
 * (pgtable_trans_huge_deposit()), one list per PMD table page with split PMD locks, as on x86-64
 * and arm64. The list is in withdrawal order (mm/pgtable-generic.ts). Implied initial value: [].
 */
export const pmdHugePteLoc = internByKey((pmdTable) => `pmd_huge_pte.${pmdTable}`);

/**
 * smp_call_function's per-(source, target) call_single_data lock. Names built once per pair, as
 * internByIndex() does per CPU; all-to-all calls on a large machine would make that a million
 * names kept for the life of the process, so past CSD_NAME_LIMIT pairs the names are built at each
 * call instead (the same strings).
 */
const csdNames: Loc[][] = [];
const CSD_NAME_LIMIT = 1 << 18;
let csdNamed = 0;
export const csdLoc = (src: number, dst: number): Loc => {
  const row = csdNames[src] ?? (csdNames[src] = []);
  let name = row[dst];
  if (name === undefined) {
    name = `csd.${src}.${dst}`;
    if (csdNamed < CSD_NAME_LIMIT) {
      row[dst] = name;
      csdNamed++;
    }
  }
  return name;
};

export const asNumber = (v: Value | undefined): number => {
  if (typeof v !== 'number') throw new Error(`expected a number, got ${JSON.stringify(v)}`);
  return v;
};
export const asBool = (v: Value | undefined): boolean => {
  if (typeof v !== 'boolean') throw new Error(`expected a boolean, got ${JSON.stringify(v)}`);
  return v;
};
export const asNumbers = (v: Value | undefined): readonly number[] => {
  if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(v)}`);
  return v as readonly number[];
};

// ---------------------------------------------------------------------------------------------
// per-VMA locks (issue #11): include/linux/mmap_lock.h, CONFIG_PER_VMA_LOCK

/**
 * The per-VMA lock of VMA `vma` of `mm`, reduced to `VmaLockState`: a VMA is write-locked from
 * vma_start_write() until its mmap_lock writer calls vma_end_write_all() (mmap_write_unlock() or
 * mmap_write_downgrade()), the kernel's vm_lock_seq == mm->mm_lock_seq; readers are the
 * vma_start_read() holders (vm_refcnt less the attached count). Implied initial value: unlocked
 * (boot.ts).
 */
const vmLockByKey = internByKey((key) => `vma.${key}.vm_lock`);
export const vmaLoc = {
  vm_lock: (mm: string, vma: string): Loc => vmLockByKey(`${mm}.${vma}`),
} as const;

/** Value of `vma.<mm>.<vma>.vm_lock`. */
export interface VmaLockState {
  readonly [key: string]: Value;
  /** The comm of the mmap_lock writer that write-locked the VMA, or null. */
  readonly writer: string | null;
  readonly readers: number;
}

export const VMA_UNLOCKED: VmaLockState = { writer: null, readers: 0 };

// ---------------------------------------------------------------------------------------------
// Tree RCU grace periods (issue #12): struct rcu_state, reduced.

export const rcuLoc = {
  /** rcu_state.gp_seq: grace-period sequence number, low two bits the state (kernel/rcu/rcu.h). */
  gp_seq: 'rcu_state.gp_seq',
  /** rcu_state.gp_seq_needed: the furthest gp_seq a caller has asked for (rcu_start_this_gp()). */
  gp_seq_needed: 'rcu_state.gp_seq_needed',
  /** The grace-period kthread has been started (rcu_state.gp_kthread != NULL). */
  gp_kthread: 'rcu_state.gp_kthread',
} as const;
// rwsem (issue #12): kernel/locking/rwsem.ts

/**
 * The highest ticket of a waiter on rwsem `lock` (the lock's location) whose RWSEM_WAIT_TIMEOUT
 * has passed: a number, 0 at boot. Tickets are issued in queuing order and the timeout is one
 * constant, so every waiter with a ticket up to it has timed out. Kept apart from the lock so that
 * the timers race only with the steps that look at it (a steal attempt), not with every lock step.
 */
export const rwsemTimedOutLoc = internByKey((lock) => `${lock}.timed_out`);
