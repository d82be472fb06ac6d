/**
 * Workloads: what each CPU runs in a scenario, as sequences of kernel entry points. Each step
 * calls into the model; nothing here decides kernel behaviour.
 */
import { local, type Proc, type ThreadSpec } from '../core/index.js';
import type { Ctx, Kernel } from '../model/kernel.js';
import { do_mmap, do_munmap } from '../model/mm/vma.js';
import { do_user_addr_fault } from '../model/mm/memory.js';
import { exit_mmap } from '../model/mm/mmap.js';
import { gup_fast, gup_fast_hugetlb } from '../model/mm/gup.js';
import { pte_offset_map_walk } from '../model/mm/pgtable-generic.js';
import { do_idle, enter_user_mode, preempt_disable, preempt_enable } from '../model/kernel/sched.js';
import { hw_page_walk } from '../model/hw/mmu.js';
import { kvm_host_vcpu } from '../model/arch/x86/kernel/kvm.js';
import { alloc_page } from '../model/mm/page_alloc.js';
import { pxd_set } from '../model/include/linux/pgtable.js';
import { spin_lock, spin_unlock } from '../model/kernel/locking/spinlock.js';
import { local_irq_disable, local_irq_enable } from '../model/include/linux/irqflags.js';
import { tlb_remove_table_sync_one, tlb_remove_table_sync_rcu } from '../model/mm/mmu_gather.js';
import { rcu_read_lock, rcu_read_unlock, synchronize_rcu, synchronize_rcu_expedited } from '../model/kernel/rcu/tree.js';
import { mmSpec } from '../model/kernel.js';
import { do_nanosleep } from '../model/kernel/time.js';
import { hugetlb_reuse } from '../model/mm/hugetlb.js';
import { collapse_file, collapse_huge_page } from '../model/mm/khugepaged.js';
import { migrate_thp, split_huge_pmd } from '../model/mm/huge_memory.js';
import { madvise_dontneed } from '../model/mm/madvise.js';
import { vmap_small, vmap_try_huge_pmd, vmap_try_huge_pud } from '../model/mm/vmalloc.js';
import { context_switch, kthread_unuse_mm, kthread_use_mm } from '../model/kernel/sched/switch.js';

/** A sync primitive a workload can call directly (to test its context rules). */
export type SyncFn = 'tlb_remove_table_sync_one' | 'tlb_remove_table_sync_rcu' | 'synchronize_rcu' | 'synchronize_rcu_expedited';
export const SYNC_FNS: readonly SyncFn[] = ['tlb_remove_table_sync_one', 'tlb_remove_table_sync_rcu', 'synchronize_rcu', 'synchronize_rcu_expedited'];

/** The context a direct call is made from. */
export type CallContext = 'task' | 'spinlock' | 'irqs_off' | 'preempt_off' | 'rcu_read_lock';
export const CALL_CONTEXTS: readonly CallContext[] = ['task', 'spinlock', 'irqs_off', 'preempt_off', 'rcu_read_lock'];

/**
 * One entry point of a CPU's run list. The address-space steps:
 *  - `munmap`: munmap() of a whole VMA (frees its page tables);
 *  - `mmap`: mmap() of a VMA of the mm's layout that is not mapped now (after a munmap, or declared
 *    `mapped: false`); it allocates no page table;
 *  - `fault`: the task touches one page (a write fault at PTE `page` of 2 MiB slot `slot`), which
 *    allocates and populates any missing table and maps the page;
 *  - `touch`: a fault on every page of a VMA, in address order, one fault (and one mmap_lock
 *    round trip) per page, as a task writing to each page in turn;
 *  - `collapse`: khugepaged (or MADV_COLLAPSE) collapses 2 MiB slot `slot` of `mm` into a THP
 *    (collapse_huge_page(); the old PTE table is deposited for reuse);
 *  - `split`: the task splits the THP mapping slot `slot` (__split_huge_pmd(): the deposited table
 *    is withdrawn, refilled and linked again);
 *  - `madvise_dontneed`: madvise(MADV_DONTNEED) of a whole VMA: zaps it, and with PT_RECLAIM frees
 *    its emptied PTE tables.
 */
export type Step =
  | { readonly kind: 'munmap'; readonly vma: string }
  | { readonly kind: 'mmap'; readonly vma: string }
  | { readonly kind: 'fault'; readonly slot: number; readonly page: number }
  | { readonly kind: 'touch'; readonly vma: string }
  | { readonly kind: 'exit_mmap'; readonly mm: string }
  | { readonly kind: 'gup_fast'; readonly slot: number; readonly page: number; readonly pages: number }
  | { readonly kind: 'pte_offset_map'; readonly slot: number; readonly page: number }
  | { readonly kind: 'idle' }
  | { readonly kind: 'user' }
  | { readonly kind: 'reuse_table'; readonly owner: string; readonly entries: number }
  | { readonly kind: 'cyclictest'; readonly interval: number }
  | { readonly kind: 'call'; readonly fn: SyncFn; readonly context: CallContext }
  /** GUP-fast of huge page `page` of PMD table `table` of the mm's hugetlb mapping (mm/gup.ts). */
  | { readonly kind: 'gup_fast_hugetlb'; readonly table: number; readonly page: number }
  /** The mm takes over PMD table `table` of its hugetlb mapping once no other mm shares it (mm/hugetlb.ts). */
  | { readonly kind: 'hugetlb_reuse'; readonly table: number; readonly page: number }
  | { readonly kind: 'collapse'; readonly mm: string; readonly slot: number }
  | { readonly kind: 'split'; readonly slot: number }
  | { readonly kind: 'madvise_dontneed'; readonly vma: string }
  /** vmap of a huge page over the kernel vmalloc range: frees its PTE table (mm/vmalloc.ts). */
  | { readonly kind: 'vmap_huge' }
  /** vmap of small pages over the kernel vmalloc range: allocates a kernel PTE table if none. */
  | { readonly kind: 'vmap_small' }
  // context switches (issue #11)
  /**
   * The CPU schedules to another task: a user task of mm `mm` (switch_mm_irqs_off() on x86,
   * switch_mm() on arm64), or a kernel thread (`mm` null: enter_lazy_tlb(), the loaded mm is
   * borrowed). Later steps of the CPU run in that task: current->mm is `mm`. A migration of a task
   * of A from CPU X to CPU Y is `switch_to: kthread` (or another task) on X and `switch_to: A` on Y.
   */
  | { readonly kind: 'switch_to'; readonly mm: string | null }
  /** The CPU's kernel thread adopts mm `mm` (kthread_use_mm()); later steps run on it. */
  | { readonly kind: 'kthread_use_mm'; readonly mm: string }
  /** The CPU's kernel thread drops the mm it adopted (kthread_unuse_mm()): lazy on it. */
  | { readonly kind: 'kthread_unuse_mm' }
  // file THP collapse and split/migration entries (issue #11)
  /**
   * khugepaged (or MADV_COLLAPSE) collapses the page cache behind 2 MiB slot `slot` of `mm`'s
   * file/shmem mapping into a THP: collapse_file() unmaps the small pages and
   * retract_page_tables() frees the PTE table with pte_free_defer() (mm/khugepaged.ts).
   */
  | { readonly kind: 'collapse_file'; readonly mm: string; readonly slot: number }
  // kernel page tables (issue #11)
  /** vmap of a PUD-sized huge page over the vmalloc range: frees its PMD and PTE tables (mm/vmalloc.ts). */
  | { readonly kind: 'vmap_huge_pud' }
  // split and migration entries (issue #11)
  /**
   * The task migrates the THP mapping 2 MiB slot `slot` of its mm (migrate_thp(): a PMD migration
   * entry, then the THP again), splitting the PMD while the migration entry is in place if `split`.
   */
  | { readonly kind: 'migrate_thp'; readonly slot: number; readonly split: boolean };

function* runSync(cur: Ctx, fn: SyncFn): Proc<void> {
  switch (fn) {
    case 'tlb_remove_table_sync_one':
      return yield* tlb_remove_table_sync_one(cur);
    case 'tlb_remove_table_sync_rcu':
      return yield* tlb_remove_table_sync_rcu(cur);
    case 'synchronize_rcu':
      return yield* synchronize_rcu(cur);
    case 'synchronize_rcu_expedited':
      return yield* synchronize_rcu_expedited(cur);
  }
}

/** Call a sync primitive from the given context (a caller that holds a lock, disables IRQs...). */
function* callIn(cur: Ctx, fn: SyncFn, context: CallContext): Proc<void> {
  const caller = `caller of ${fn}`;
  switch (context) {
    case 'task':
      return yield* runSync(cur, fn);
    case 'spinlock':
      yield* spin_lock(cur, caller, 'demo_lock');
      yield* runSync(cur, fn);
      return yield* spin_unlock(cur, caller, 'demo_lock');
    case 'irqs_off':
      yield* local_irq_disable(cur, caller);
      yield* runSync(cur, fn);
      return yield* local_irq_enable(cur, caller);
    case 'preempt_off':
      yield* preempt_disable(cur, caller);
      yield* runSync(cur, fn);
      return yield* preempt_enable(cur, caller);
    case 'rcu_read_lock':
      yield* rcu_read_lock(cur, caller);
      yield* runSync(cur, fn);
      return yield* rcu_read_unlock(cur, caller);
  }
}

/**
 * Reallocate the most recently freed page as a PTE table of `owner` and fill it with `owner`'s
 * PTEs: how a freed page-table page comes back as something else.
 */
function* reuseTable(cur: Ctx, owner: string, entries: number): Proc<void> {
  const got = yield* alloc_page(cur, 'pte_alloc_one', owner, 'pte');
  if (!got) return;
  for (let i = 0; i < entries; i++) {
    yield* pxd_set(cur, 'set_pte_at', 'set_pte', got.page, i, { pfn: `${owner}.reused.${i}` });
  }
}

/** Fault in every page of a VMA, in address order. */
function* touch(cur: Ctx, vmaName: string): Proc<void> {
  const spec = mmSpec(cur.k, cur.mm as string);
  const vma = spec.vmas.find((v) => v.name === vmaName);
  if (!vma) throw new Error(`touch: ${cur.mm} has no VMA '${vmaName}'`);
  for (let slot = vma.start; slot < vma.end; slot++) {
    for (let i = 0; i < spec.ptes_per_table; i++) yield* do_user_addr_fault(cur, slot, i);
  }
}

export function* runStep(cur: Ctx, step: Step): Proc<void> {
  switch (step.kind) {
    case 'cyclictest':
      return yield* do_nanosleep(cur, 'cyclictest', step.interval);
    case 'munmap':
      return yield* do_munmap(cur, cur.mm as string, step.vma);
    case 'mmap':
      return yield* do_mmap(cur, cur.mm as string, step.vma);
    case 'fault':
      yield* do_user_addr_fault(cur, step.slot, step.page);
      return;
    case 'touch':
      return yield* touch(cur, step.vma);
    case 'exit_mmap':
      return yield* exit_mmap(cur, step.mm);
    case 'pte_offset_map':
      return yield* pte_offset_map_walk(cur, step.slot, step.page);
    case 'gup_fast':
      yield* gup_fast(cur, step.slot, step.page, step.pages);
      return;
    case 'idle':
      return yield* do_idle(cur);
    case 'user':
      return yield* enter_user_mode(cur, 'exit_to_user_mode');
    case 'reuse_table':
      return yield* reuseTable(cur, step.owner, step.entries);
    case 'call':
      return yield* callIn(cur, step.fn, step.context);
    case 'gup_fast_hugetlb':
      yield* gup_fast_hugetlb(cur, step.table, step.page);
      return;
    case 'hugetlb_reuse':
      yield* hugetlb_reuse(cur, step.table, step.page);
      return;
    case 'collapse':
      yield* collapse_huge_page(cur, step.mm, step.slot);
      return;
    case 'split':
      yield* split_huge_pmd(cur, cur.mm as string, step.slot);
      return;
    case 'madvise_dontneed':
      return yield* madvise_dontneed(cur, step.vma);
    case 'vmap_huge':
      return yield* vmap_try_huge_pmd(cur);
    case 'vmap_small':
      return yield* vmap_small(cur);
    case 'vmap_huge_pud':
      return yield* vmap_try_huge_pud(cur);
    case 'collapse_file':
      yield* collapse_file(cur, step.mm, step.slot);
      return;
    case 'migrate_thp':
      yield* migrate_thp(cur, cur.mm as string, step.slot, step.split);
      return;
    case 'switch_to':
    case 'kthread_use_mm':
    case 'kthread_unuse_mm':
      // The new context is the caller's to keep (taskThread()); here only the switch itself.
      yield* changeMm(cur, step);
      return;
  }
}

/** The steps that change current->mm: the context the CPU's later steps run in. */
function* changeMm(cur: Ctx, step: Step): Proc<Ctx> {
  switch (step.kind) {
    case 'switch_to':
      return yield* context_switch(cur, step.mm, switchComm(cur.cpu, step.mm));
    case 'kthread_use_mm':
      return yield* kthread_use_mm(cur, step.mm);
    case 'kthread_unuse_mm':
      return yield* kthread_unuse_mm(cur);
    default:
      return cur;
  }
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'munmap':
      return `munmap(${step.vma})`;
    case 'mmap':
      return `mmap(${step.vma})`;
    case 'fault':
      return `page fault (slot ${step.slot}, page ${step.page})`;
    case 'touch':
      return `touch(${step.vma}): fault in every page`;
    case 'exit_mmap':
      return `exit_mmap(${step.mm})`;
    case 'pte_offset_map':
      return `pte_offset_map walk (slot ${step.slot}, page ${step.page}) under rcu_read_lock()`;
    case 'gup_fast':
      return `gup_fast(slot ${step.slot}, page ${step.page}, ${step.pages} page(s))`;
    case 'idle':
      return 'idle';
    case 'user':
      return 'user';
    case 'reuse_table':
      return `reuse a freed page as ${step.owner}'s PTE table`;
    case 'call':
      return `${step.fn}() from ${step.context} context`;
    case 'cyclictest':
      return `cyclictest: sleep ${step.interval} ns, measure the wakeup`;
    case 'gup_fast_hugetlb':
      return `gup_fast of hugetlb table ${step.table}, page ${step.page}`;
    case 'hugetlb_reuse':
      return `reuse hugetlb table ${step.table} once exclusive (a THP at page ${step.page})`;
    case 'collapse':
      return `collapse_huge_page(${step.mm}, slot ${step.slot})`;
    case 'split':
      return `split the THP of slot ${step.slot}`;
    case 'madvise_dontneed':
      return `madvise(${step.vma}, MADV_DONTNEED)`;
    case 'vmap_huge':
      return 'vmap a huge page over the vmalloc range (pmd_free_pte_page)';
    case 'vmap_small':
      return 'vmap small pages over the vmalloc range (pte_alloc_kernel)';
    case 'switch_to':
      return step.mm === null ? 'context switch to a kernel thread (lazy TLB)' : `context switch to a task of ${step.mm}`;
    case 'kthread_use_mm':
      return `kthread_use_mm(${step.mm})`;
    case 'kthread_unuse_mm':
      return 'kthread_unuse_mm()';
    case 'collapse_file':
      return `collapse_file(${step.mm}, slot ${step.slot}): retract_page_tables()`;
    case 'vmap_huge_pud':
      return 'vmap a PUD-sized huge page over the vmalloc range (pud_free_pmd_page)';
    case 'migrate_thp':
      return `migrate the THP of slot ${step.slot}${step.split ? ', splitting its migration entry' : ''}`;
  }
}

/** The comm of the task a CPU switches to. */
function switchComm(cpu: number, mm: string | null): string {
  return mm === null ? `kthread/${cpu}` : `task-${mm}/${cpu}`;
}

/** The task of CPU `cpu`: its steps in order. */
/**
 * The task of CPU `cpu`: its steps in order, `repeat` times (Infinity: until the simulation
 * stops). With k.mark_operations, each step is bracketed by `workload` begin/end events.
 */
export function taskThread(k: Kernel, cpu: number, comm: string, mm: string | null, steps: readonly Step[], repeat = 1): ThreadSpec {
  return {
    name: comm,
    cpu,
    kind: 'task',
    body: function* () {
      const first: Ctx = { k, cpu, comm, mm, context: 'task' };
      let cur = first;
      for (let r = 0; r < repeat; r++) {
        // Each round starts in the task the CPU booted with (a round of a repeated run list is the
        // same work again).
        if (r > 0 && cur.mm !== first.mm) cur = yield* context_switch(cur, first.mm, first.comm);
        for (const s of steps) {
          // cyclictest measures itself (its wakeup latency), not as an operation; running in user
          // mode or idling is not an operation either.
          const mark = k.mark_operations && s.kind !== 'cyclictest' && s.kind !== 'user' && s.kind !== 'idle';
          if (mark) yield* local({ fn: s.kind, desc: `${describeStep(s)} begins` }, { cls: 'marker' }, [{ type: 'workload', cpu, op: s.kind, phase: 'begin' }]);
          if (s.kind === 'switch_to' || s.kind === 'kthread_use_mm' || s.kind === 'kthread_unuse_mm') cur = yield* changeMm(cur, s);
          else yield* runStep(cur, s);
          if (mark) yield* local({ fn: s.kind, desc: `${describeStep(s)} ends` }, { cls: 'marker' }, [{ type: 'workload', cpu, op: s.kind, phase: 'end' }]);
        }
      }
      if (steps.length === 0) yield* local({ fn: 'schedule', desc: 'nothing to run' });
    },
  };
}

/** The MMU of CPU `cpu`, doing `times` speculative walks of (slot, page). */
export function hwWalkerThread(k: Kernel, cpu: number, slot: number, page: number, times: number): ThreadSpec {
  return {
    name: `CPU${cpu} MMU`,
    cpu,
    kind: 'agent',
    body: function* () {
      const cur: Ctx = { k, cpu, comm: `mmu/${cpu}`, mm: null, context: 'task' };
      for (let i = 0; i < times; i++) yield* hw_page_walk(cur, slot, page);
    },
  };
}

/** The KVM host scheduler for vCPU `cpu`. */
export function kvmHostThread(k: Kernel, cpu: number): ThreadSpec {
  return { name: `host vCPU${cpu}`, cpu: null, kind: 'agent', body: () => kvm_host_vcpu(k, cpu) };
}

/** Checks a step against the kernel's layout; returns an error message or null. */
export function validateStep(k: Kernel, mm: string | null, step: Step): string | null {
  if (step.kind === 'kthread_use_mm' && !k.mms.has(step.mm)) return `kthread_use_mm: '${step.mm}' is not an mm of the scenario (has: ${[...k.mms.keys()].join(', ') || 'none'})`;
  if (step.kind === 'kthread_use_mm' && mm !== null) return `kthread_use_mm needs a kernel thread (current->mm is ${mm}): switch_to: kthread first, or start the CPU without mm`;
  if (step.kind === 'kthread_unuse_mm' && mm === null) return 'kthread_unuse_mm needs a kernel thread that adopted an mm (kthread_use_mm first)';
  if (step.kind === 'switch_to' && step.mm !== null && !k.mms.has(step.mm)) return `switch_to: '${step.mm}' is not an mm of the scenario (has: ${[...k.mms.keys()].join(', ')}; 'kthread' for a kernel thread)`;
  if (step.kind === 'exit_mmap' && !k.mms.has(step.mm)) return 'exit_mmap needs the CPU to have an mm loaded (set mm; an exiting task runs lazily on it)';
  if (step.kind === 'munmap' || step.kind === 'mmap' || step.kind === 'touch' || step.kind === 'fault' || step.kind === 'gup_fast' || step.kind === 'pte_offset_map') {
    if (mm === null) return `${step.kind} needs the CPU to run a task of an mm (set 'mm', not lazy)`;
    const spec = mmSpec(k, mm);
    const hugetlb = (step.kind === 'munmap' || step.kind === 'mmap') && spec.hugetlb?.name === step.vma;
    if ((step.kind === 'munmap' || step.kind === 'mmap' || step.kind === 'touch') && !hugetlb && !spec.vmas.some((v) => v.name === step.vma)) {
      return `mm ${mm} has no VMA '${step.vma}' (has: ${[...spec.vmas.map((v) => v.name), ...(spec.hugetlb ? [spec.hugetlb.name] : [])].join(', ')})`;
    }
    if (step.kind === 'gup_fast' || step.kind === 'pte_offset_map' || step.kind === 'fault') {
      if (!spec.vmas.some((v) => step.slot >= v.start && step.slot < v.end)) return `slot ${step.slot} is not inside a VMA of ${mm}`;
      if (step.kind === 'fault' && step.page >= spec.ptes_per_table) return `page ${step.page} is beyond ptes_per_table ${spec.ptes_per_table}`;
      const pages = step.kind === 'gup_fast' ? step.pages : 1;
      if (step.page + pages > spec.ptes_per_table) return `pages ${step.page}..${step.page + pages - 1} exceed ptes_per_table ${spec.ptes_per_table}`;
    }
  }
  if ((step.kind === 'vmap_huge' || step.kind === 'vmap_small') && !k.kernel_pt) return `${step.kind} needs kernel page tables: add 'kernel_pt: { ptes: 1 }' to the scenario`;
  if (step.kind === 'vmap_huge_pud' && !k.kernel_pt?.pud) return `vmap_huge_pud needs a kernel PUD level: add 'kernel_pt: { ptes: 1, pud: true }' to the scenario`;
  if (step.kind === 'reuse_table' && !k.mms.has(step.owner)) return `reuse_table owner '${step.owner}' is not an mm of the scenario`;
  if (step.kind === 'gup_fast_hugetlb' || step.kind === 'hugetlb_reuse') {
    if (mm === null) return `${step.kind} needs the CPU to run a task of an mm (set 'mm', not lazy)`;
    const h = mmSpec(k, mm).hugetlb;
    if (!h) return `${step.kind}: mm ${mm} has no hugetlb mapping (mm.${mm}.hugetlb)`;
    const f = k.hugetlbfs?.get(h.file);
    if (!f) return `${step.kind}: hugetlbfs file '${h.file}' is not defined`;
    if (step.table >= f.tables) return `table ${step.table} is beyond the ${f.tables} PMD table(s) of hugetlbfs file ${f.name}`;
    if (step.page >= f.pages) return `page ${step.page} is beyond the ${f.pages} huge page(s) per table of ${f.name}`;
  }
  if (step.kind === 'collapse_file') {
    if (!k.mms.has(step.mm)) return step.mm === '' ? 'collapse_file needs an mm: set the CPU\'s mm or collapse_file: { mm, slot }' : `collapse_file: '${step.mm}' is not an mm of the scenario`;
    if (!mmSpec(k, step.mm).vmas.some((v) => step.slot >= v.start && step.slot < v.end)) return `slot ${step.slot} is not inside a VMA of ${step.mm}`;
  }
  if (step.kind === 'collapse') {
    if (!k.mms.has(step.mm)) return step.mm === '' ? 'collapse needs an mm: set the CPU\'s mm or collapse: { mm, slot }' : `collapse: '${step.mm}' is not an mm of the scenario`;
    if (!mmSpec(k, step.mm).vmas.some((v) => step.slot >= v.start && step.slot < v.end)) return `slot ${step.slot} is not inside a VMA of ${step.mm}`;
  }
  if (step.kind === 'split' || step.kind === 'madvise_dontneed' || step.kind === 'migrate_thp') {
    if (mm === null) return `${step.kind} needs the CPU to run a task of an mm (set 'mm', not lazy)`;
    const spec = mmSpec(k, mm);
    if ((step.kind === 'split' || step.kind === 'migrate_thp') && !spec.vmas.some((v) => step.slot >= v.start && step.slot < v.end)) return `slot ${step.slot} is not inside a VMA of ${mm}`;
    if (step.kind === 'madvise_dontneed' && !spec.vmas.some((v) => v.name === step.vma)) return `mm ${mm} has no VMA '${step.vma}' (has: ${spec.vmas.map((v) => v.name).join(', ')})`;
  }
  return null;
}
