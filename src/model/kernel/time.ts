/**
 * kernel/time/hrtimer.c do_nanosleep(), reduced: the task arms a timer and schedules out; the CPU
 * goes idle (a quiescent state) until the timer interrupt wakes the task. How late the wakeup is
 * after the expiry is what cyclictest measures; in the simulator it is the delay of the wakeup
 * step past its minimum wait (interrupts, handlers and IRQ-off regions on that CPU push it).
 * The checker ignores time: there, the sleep is just two steps.
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { cpuLoc } from '../state.js';
import { rcuQs } from './rcu/reader.js';

export function* do_nanosleep(cur: Ctx, caller: string, interval_ns: number): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: caller,
    desc: `hrtimer_start(+${interval_ns} ns); schedule(): CPU idle`,
    cost: { cls: 'context_switch' },
    reads: [cpuLoc.rcu(c)],
    writes: [cpuLoc.mode(c), cpuLoc.rcu(c)],
    effect: ([rcu]) => ({ writes: [[cpuLoc.mode(c), 'idle'], [cpuLoc.rcu(c), rcuQs(rcu)]] }),
  });
  yield* access({
    fn: 'hrtimer_wakeup',
    desc: 'timer expired: wake the task',
    minWait: { cls: 'timer', n: interval_ns },
    cost: { cls: 'context_switch' },
    reads: [],
    writes: [cpuLoc.mode(c)],
    effect: () => ({ writes: [[cpuLoc.mode(c), 'user']], events: [{ type: 'timer_wakeup', cpu: c, interval_ns }] }),
  });
}
