/**
 * Context switches and mm switching: kernel/sched/core.c context_switch() and the arch hooks it
 * calls, switch_mm_irqs_off() / enter_lazy_tlb() (x86: arch/x86/mm/tlb.c; arm64:
 * arch/arm64/include/asm/mmu_context.h).
 *
 * Read at: arch/x86/mm/tlb.c linux-mm @ 1f617847cd907b4bcf244e3333f5939e75ceaa45: mainline
 * switch_mm_irqs_off(), with the mm_cpumask bit set only when it is not set yet (Rik van Riel's
 * "x86/mm/tlb: Update mm_cpumask lazily", 2024) and an explicit smp_mb() when it is (the later
 * "x86/mm: Fix SMP ordering in switch_mm_irqs_off()", 2025). Commit ids of those two were not
 * confirmed in the archive.
 *
 * What the model keeps of a task: current->mm is `Ctx.mm` (null for a kernel thread); a CPU's
 * current->active_mm is its `cpuN.loaded_mm` (on x86 cpu_tlbstate.loaded_mm follows active_mm,
 * except after flush_tlb_func() sent a lazy CPU to init_mm, when active_mm still names the
 * borrowed mm but nothing of it is loaded; the model has no use for the difference: only what is
 * loaded can be walked).
 */
import { access, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { local_irq_disable, local_irq_enable, local_irq_restore, local_irq_save } from '../../include/linux/irqflags.js';
import { rcu_note_context_switch } from '../sched.js';
import { asNumbers, cpuLoc, mmLoc, type TlbEntry } from '../../state.js';

/**
 * x86 switch_mm_irqs_off(unused, next, tsk) (arch/x86/mm/tlb.c @ 1f617847). Called with IRQs off,
 * so no flush_tlb_func() IPI runs on this CPU in the middle.
 *
 *  - prev == next (a thread of the same mm, or back from lazy mode): clear is_lazy. Back from lazy,
 *    the kernel compares the ASID's tlb_gen with the mm's and flushes if a flush was skipped while
 *    lazy (should_flush_tlb() skips lazy CPUs); the model keeps no tlb_gen and always drops the
 *    mm's cached entries then (docs/model.md §5.4).
 *  - prev != next: cpumask_set_cpu(cpu, mm_cpumask(next)) unless the bit is already set (it stays
 *    set since 209954cbc7d0: the CPU is not cleared from prev's mask on the way out;
 *    flush_tlb_func() clears it when an IPI finds another mm loaded), else smp_mb(): either way a
 *    full barrier before the CR3 write. config.x86_switch_mm_cpumask gives the older forms, which
 *    clear the CPU from prev's mask after the CR3 write (831d52bc1539) or before it (earlier). Then load_new_mm_cr3() (MOV to CR3, serializing), and
 *    loaded_mm = next. The model has no PCIDs: the write drops the cached entries of prev (and
 *    next starts with none), as a CR3 write without PCID does (§5.4).
 *
 * The ordering a flusher relies on (71b3c126e611, "x86/mm: Add barriers and document
 * switch_mm()-vs-flush synchronization", CVE-2016-2069): this CPU's store to mm_cpumask must be
 * visible before any page walk of next, and the flusher's page-table store before its read of
 * the mask. Here the mask update is a locked RMW and the CR3 write serializing: both are 'full'
 * under x86-TSO; the flusher's side is inc_mm_tlb_gen() in flush_tlb_mm_range().
 */
export function* x86_switch_mm_irqs_off(cur: Ctx, next: string): Proc<void> {
  const c = cur.cpu;
  const state = yield* access<{ prev: string; was_lazy: boolean }>({
    fn: 'switch_mm_irqs_off',
    desc: 'prev = cpu_tlbstate.loaded_mm; was_lazy = cpu_tlbstate_shared.is_lazy',
    ordering: 'load',
    reads: [cpuLoc.loaded_mm(c), cpuLoc.is_lazy(c)],
    effect: ([loaded, lazy]) => ({ result: { prev: String(loaded), was_lazy: lazy === true } }),
  });
  if (state.prev === next) {
    if (!state.was_lazy) return;
    // this_cpu_write(is_lazy, false); smp_mb(); tlb_gen check; flush (see above).
    yield* access({
      fn: 'switch_mm_irqs_off',
      desc: `back from lazy on ${next}: is_lazy = false, smp_mb(), flush ${next}'s stale entries`,
      cost: { cls: 'tlb_flush_local' },
      reads: [cpuLoc.tlb(c)],
      writes: [cpuLoc.is_lazy(c), cpuLoc.tlb(c)],
      effect: ([tlb]) => ({
        writes: [
          [cpuLoc.is_lazy(c), false],
          [cpuLoc.tlb(c), (tlb as readonly TlbEntry[]).filter((e) => e.mm !== next) as unknown as Value],
        ],
        events: [{ type: 'switch_mm', cpu: c, prev: state.prev, next, how: 'unlazy' }],
      }),
    });
    return;
  }
  const form = cur.k.config.x86_switch_mm_cpumask;
  // Before 831d52bc1539: cpumask_clear_cpu(cpu, mm_cpumask(prev)) first, while prev is still in CR3.
  if (form === 'clear-before-cr3') yield* cpumask_clear_prev(cur, state.prev);
  if (next !== 'init_mm') {
    // if (was_lazy) is_lazy = false; ... if (!cpumask_test_cpu()) cpumask_set_cpu(); else smp_mb();
    // (before 209954cbc7d0: cpumask_set_cpu() unconditionally; the same locked RMW.)
    yield* access({
      fn: 'switch_mm_irqs_off',
      desc: `cpumask_set_cpu(CPU${c}, mm_cpumask(${next})) (a locked RMW), or smp_mb() if already set`,
      reads: [mmLoc.cpumask(next)],
      writes: [mmLoc.cpumask(next), cpuLoc.is_lazy(c)],
      effect: ([mask]) => {
        const m = asNumbers(mask);
        return {
          writes: [
            [cpuLoc.is_lazy(c), false],
            ...(m.includes(c) ? [] : [[mmLoc.cpumask(next), [...m, c].sort((a, b) => a - b)] as const]),
          ],
          note: m.includes(c) ? `already in mm_cpumask(${next}): smp_mb()` : `mm_cpumask(${next}) = [${[...m, c].sort((a, b) => a - b).join(',')}]`,
        };
      },
    });
  } else if (state.was_lazy) {
    yield* access({ fn: 'switch_mm_irqs_off', desc: 'is_lazy = false', ordering: 'store', writes: [cpuLoc.is_lazy(c)], effect: () => ({ writes: [[cpuLoc.is_lazy(c), false]] }) });
  }
  // load_new_mm_cr3(): MOV to CR3 (serializing), then loaded_mm = next.
  yield* access({
    fn: 'switch_mm_irqs_off',
    desc: `load_new_mm_cr3(${next}->pgd); loaded_mm = ${next}`,
    cost: { cls: 'tlb_flush_local' },
    reads: [cpuLoc.tlb(c)],
    writes: [cpuLoc.loaded_mm(c), cpuLoc.tlb(c)],
    effect: ([tlb]) => ({
      writes: [
        [cpuLoc.loaded_mm(c), next],
        [cpuLoc.tlb(c), (tlb as readonly TlbEntry[]).filter((e) => e.mm !== state.prev && e.mm !== next) as unknown as Value],
      ],
      events: [{ type: 'switch_mm', cpu: c, prev: state.prev, next, how: 'cr3' }],
    }),
  });
  // 831d52bc1539 .. 209954cbc7d0: cpumask_clear_cpu(cpu, mm_cpumask(prev)) once CR3 no longer points at prev.
  if (form === 'clear-after-cr3') yield* cpumask_clear_prev(cur, state.prev);
}

/** cpumask_clear_cpu(cpu, mm_cpumask(prev)) (a locked RMW); nothing for init_mm ("skip kernel threads"). */
function* cpumask_clear_prev(cur: Ctx, prev: string): Proc<void> {
  if (prev === 'init_mm') return;
  const c = cur.cpu;
  yield* access({
    fn: 'switch_mm_irqs_off',
    desc: `cpumask_clear_cpu(CPU${c}, mm_cpumask(${prev}))`,
    reads: [mmLoc.cpumask(prev)],
    writes: [mmLoc.cpumask(prev)],
    effect: ([mask]) => {
      const m = asNumbers(mask).filter((x) => x !== c);
      return { writes: [[mmLoc.cpumask(prev), m]], note: `mm_cpumask(${prev}) = [${m.join(',')}]` };
    },
  });
}

/**
 * x86 enter_lazy_tlb(mm, tsk) (arch/x86/mm/tlb.c @ 1f617847): a kernel thread (or idle) runs on
 * the borrowed active_mm; if a user mm is loaded, this_cpu_write(cpu_tlbstate_shared.is_lazy,
 * true) (a plain store). Nothing is flushed and the CPU stays in mm_cpumask: flushes without
 * freed tables skip it (should_flush_tlb()), those with freed tables send it to init_mm.
 */
export function* x86_enter_lazy_tlb(cur: Ctx): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: 'enter_lazy_tlb',
    desc: 'is_lazy = true unless init_mm is loaded',
    ordering: 'store',
    reads: [cpuLoc.loaded_mm(c)],
    writes: [cpuLoc.is_lazy(c)],
    effect: ([loaded]) => (loaded === 'init_mm' ? { note: 'init_mm loaded: nothing to do' } : { writes: [[cpuLoc.is_lazy(c), true]], events: [{ type: 'enter_lazy_tlb', cpu: c, mm: String(loaded) }] }),
  });
}

/**
 * arm64 switch_mm() -> __switch_mm() -> check_and_switch_context() + cpu_switch_mm()
 * (arch/arm64/include/asm/mmu_context.h, arch/arm64/mm/context.c): a new TTBR0 with next's ASID.
 * arm64 keeps no mm_cpumask for flushing (TLBI is broadcast in hardware and reaches every CPU
 * whatever it has loaded), so the mask is not touched. Cached entries are tagged with the ASID
 * and stay; the model's walker only uses those of the loaded mm and the broadcast TLBI removes
 * an mm's entries from every CPU, so keeping them changes nothing the invariants see.
 * enter_lazy_tlb() is empty on arm64: a kernel thread leaves the user mm in TTBR0.
 */
export function* arm64_switch_mm(cur: Ctx, next: string): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: 'switch_mm',
    desc: `cpu_switch_mm(${next}->pgd): TTBR0 = ${next}`,
    reads: [cpuLoc.loaded_mm(c)],
    writes: [cpuLoc.loaded_mm(c)],
    effect: ([loaded]) => (loaded === next ? { note: 'same mm: nothing to do' } : { writes: [[cpuLoc.loaded_mm(c), next]], events: [{ type: 'switch_mm', cpu: c, prev: String(loaded), next, how: 'ttbr0' }] }),
  });
}

/**
 * context_switch(rq, prev, next) (kernel/sched/core.c), for the mm part, preceded by
 * __schedule()'s rcu_note_context_switch() and run with IRQs off (rq lock held):
 *  - next is a kernel thread (`next` null): enter_lazy_tlb(prev->active_mm); next->active_mm =
 *    prev->active_mm (the loaded mm is unchanged);
 *  - next is a user task: switch_mm_irqs_off(prev->active_mm, next->mm, next).
 * Returns the context of the task now running on the CPU: its current->mm is `next`.
 */
export function* context_switch(cur: Ctx, next: string | null, comm: string): Proc<Ctx> {
  yield* rcu_note_context_switch(cur, '__schedule');
  yield* local_irq_disable(cur, 'context_switch');
  const x86 = cur.k.arch.id !== 'arm64';
  if (next === null) {
    if (x86) yield* x86_enter_lazy_tlb(cur);
  } else if (x86) {
    yield* x86_switch_mm_irqs_off(cur, next);
  } else {
    yield* arm64_switch_mm(cur, next);
  }
  yield* local_irq_enable(cur, 'context_switch');
  return { ...cur, comm, mm: next };
}

/**
 * kthread_use_mm(mm) (kernel/kthread.c, torvalds/linux @ 00b89fe0197f): a kernel thread (io_uring
 * SQPOLL, vhost, USB gadget AIO) adopts a user mm: current->active_mm = mm, current->mm = mm,
 * switch_mm_irqs_off(active_mm, mm). Per config.kthread_use_mm_irqs:
 *  'off'        since 38cf307c1f20 ("mm: fix kthread_use_mm() vs TLB invalidate", Peter Zijlstra,
 *               v5.9): IRQs off across the ->active_mm update and switch_mm_irqs_off(), so that no
 *               flush IPI lands between the two;
 *  'switch_mm'  before: ->active_mm is updated with IRQs on, then switch_mm(), which on x86 is
 *               local_irq_save() + switch_mm_irqs_off() + local_irq_restore().
 * The race the fix closes is on architectures whose flush IPI tests current->active_mm (the
 * commit names Alpha, IA64, Xtensa; "x86 - N/A"): x86's flush_tlb_func() tests
 * cpu_tlbstate.loaded_mm, which only switch_mm_irqs_off() changes. The model has no separate
 * active_mm location (module header), so on x86 and arm64 the two forms differ only in where IRQs
 * are on. Returns the kthread's context with current->mm = mm.
 */
export function* kthread_use_mm(cur: Ctx, mm: string): Proc<Ctx> {
  const irqsOff = cur.k.config.kthread_use_mm_irqs === 'off';
  if (irqsOff) yield* local_irq_disable(cur, 'kthread_use_mm');
  const arch = function* (): Proc<void> {
    if (cur.k.arch.id === 'arm64') yield* arm64_switch_mm(cur, mm);
    else yield* x86_switch_mm_irqs_off(cur, mm);
  };
  if (irqsOff) {
    yield* arch();
    yield* local_irq_enable(cur, 'kthread_use_mm');
  } else {
    // switch_mm(): IRQs off only around switch_mm_irqs_off().
    const flags = yield* local_irq_save(cur, 'switch_mm');
    yield* arch();
    yield* local_irq_restore(cur, 'switch_mm', flags);
  }
  return { ...cur, mm };
}

/**
 * kthread_unuse_mm(mm) (kernel/kthread.c @ 00b89fe0197f): current->mm = NULL, then
 * enter_lazy_tlb(mm) ("active_mm is still 'mm'"), under local_irq_disable() since 38cf307c1f20
 * (config.kthread_use_mm_irqs 'off'); before, with IRQs on. Returns the kthread's context with
 * current->mm = NULL.
 */
export function* kthread_unuse_mm(cur: Ctx): Proc<Ctx> {
  const irqsOff = cur.k.config.kthread_use_mm_irqs === 'off';
  if (irqsOff) yield* local_irq_disable(cur, 'kthread_unuse_mm');
  if (cur.k.arch.id !== 'arm64') yield* x86_enter_lazy_tlb(cur);
  if (irqsOff) yield* local_irq_enable(cur, 'kthread_unuse_mm');
  return { ...cur, mm: null };
}
