/**
 * I-4 (kernel.md §6): nothing sleeps in atomic context. synchronize_rcu() (hence
 * tlb_remove_table_sync_rcu()) and the mmap_lock may only be used with preemption enabled, no
 * spinlock held, IRQs enabled and outside interrupt context.
 */
import { eventProperty } from '../core/index.js';

export const noSleepInAtomic = eventProperty(
  'no-sleep-in-atomic',
  'No sleeping in atomic context',
  'A function that may sleep was called with preemption disabled, a spinlock held, IRQs disabled, inside ' +
    'rcu_read_lock() or in interrupt context ("BUG: sleeping function called from invalid context").',
  (ev) => {
    if (ev.type !== 'might_sleep') return null;
    const why: string[] = [];
    const locks = ev.locks_held as readonly string[];
    if (locks.length > 0) why.push(`holding ${locks.join(', ')}`);
    else if ((ev.preempt_count as number) > 0) why.push(`preempt_count ${ev.preempt_count}`);
    if (ev.irqs_off === true) why.push('IRQs disabled');
    if ((ev.rcu_nesting as number) > 0) why.push('inside rcu_read_lock()');
    if (ev.hardirq === true || ev.context !== 'task') why.push(`in ${ev.context} context`);
    if (why.length === 0) return null;
    return {
      message: `CPU${ev.cpu} ${ev.fn} may sleep but is atomic: ${why.join(', ')}`,
      details: { cpu: ev.cpu, fn: ev.fn, comm: ev.comm, locks_held: ev.locks_held, preempt_count: ev.preempt_count, irqs_off: ev.irqs_off },
    };
  },
);
