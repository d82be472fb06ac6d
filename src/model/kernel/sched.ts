/**
 * kernel/sched/core.c and include/linux/preempt.h, reduced: preempt_disable()/preempt_enable(),
 * __might_sleep(), and a CPU's mode changes (idle, user, kernel) that count as quiescent states.
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { rcuQs, readerChange } from './rcu/reader.js';
import { asBool, asNumber, cpuLoc } from '../state.js';

const PREEMPT = { cls: 'preempt_toggle' } as const;

/** preempt_disable() (also get_cpu()). */
export function* preempt_disable(cur: Ctx, caller: string, what = 'preempt_disable()'): Proc<void> {
  yield* readerChange(cur.cpu, caller, what, 'preempt_count', (s) => s.preempt_count + 1, PREEMPT);
}

/** preempt_enable() (also put_cpu()). */
export function* preempt_enable(cur: Ctx, caller: string, what = 'preempt_enable()'): Proc<void> {
  yield* readerChange(cur.cpu, caller, what, 'preempt_count', (s) => {
    if (s.preempt_count <= 0) throw new Error(`${caller}: preempt_enable() with preempt_count 0 on CPU${cur.cpu}`);
    return s.preempt_count - 1;
  }, PREEMPT);
}

/**
 * __might_sleep(): report when the caller is in atomic context: preemption disabled (spinlock
 * held), interrupts disabled, inside rcu_read_lock(), or in interrupt context. The event is what
 * the `no-sleep-in-atomic` property checks; the kernel prints "BUG: sleeping function called from
 * invalid context" at this point.
 */
export function* might_sleep(cur: Ctx, caller: string): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: caller,
    desc: 'might_sleep()',
    ordering: 'cpu',
    reads: [cpuLoc.preempt_count(c), cpuLoc.irqs_off(c), cpuLoc.rcu_nesting(c), cpuLoc.hardirq(c), cpuLoc.locks_held(c)],
    effect: ([pc, irqs, rcu, hard, locks]) => ({
      events: [{
        type: 'might_sleep',
        cpu: c,
        fn: caller,
        comm: cur.comm,
        context: cur.context,
        preempt_count: asNumber(pc),
        irqs_off: asBool(irqs),
        rcu_nesting: asNumber(rcu),
        hardirq: asBool(hard),
        locks_held: locks ?? [],
      }],
    }),
  });
}

/** A CPU leaving the kernel for user mode: a quiescent state (rcu_user_enter with nohz_full). */
export function* enter_user_mode(cur: Ctx, caller: string): Proc<void> {
  yield* access({
    fn: caller,
    desc: 'return to user mode',
    reads: [cpuLoc.rcu(cur.cpu)],
    writes: [cpuLoc.mode(cur.cpu), cpuLoc.rcu(cur.cpu)],
    effect: ([rcu]) => ({ writes: [[cpuLoc.mode(cur.cpu), 'user'], [cpuLoc.rcu(cur.cpu), rcuQs(rcu)]] }),
  });
}

/** Entering the idle loop: an extended quiescent state (rcu_idle_enter / ct_idle_enter). */
export function* do_idle(cur: Ctx): Proc<void> {
  yield* access({
    fn: 'do_idle',
    desc: 'enter idle',
    cost: { cls: 'idle_enter' },
    reads: [cpuLoc.rcu(cur.cpu)],
    writes: [cpuLoc.mode(cur.cpu), cpuLoc.rcu(cur.cpu)],
    effect: ([rcu]) => ({ writes: [[cpuLoc.mode(cur.cpu), 'idle'], [cpuLoc.rcu(cur.cpu), rcuQs(rcu)]] }),
  });
}

/**
 * rcu_note_context_switch(): the task on this CPU schedules out. That is a quiescent state even
 * when it wrongly sleeps with preemption or IRQs disabled ("scheduling while atomic"), but not
 * inside rcu_read_lock() under PREEMPT_RCU: a task preempted in a read-side section keeps blocking
 * the grace period (rcu_preempt_ctxt_queue()).
 */
export function* rcu_note_context_switch(cur: Ctx, caller: string): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: caller,
    desc: 'schedule(): rcu_note_context_switch()',
    cost: { cls: 'context_switch' },
    reads: [cpuLoc.rcu_nesting(c), cpuLoc.rcu(c)],
    writes: [cpuLoc.rcu(c)],
    effect: ([nest, rcu]) => (asNumber(nest) === 0 ? { writes: [[cpuLoc.rcu(c), rcuQs(rcu)]] } : { note: 'inside rcu_read_lock(): still blocks the grace period' }),
  });
}
