/**
 * I-5 (kernel.md §6): no cross-CPU call from IRQ-disabled or non-task context.
 * smp_call_function_many_cond() asserts IRQs enabled (lockdep) and task context (WARN_ON_ONCE):
 * two CPUs each waiting for the other's IPI with IRQs off deadlock.
 */
import { eventProperty } from '../core/index.js';

export const noIpiWithIrqsOff = eventProperty(
  'no-ipi-wait-with-irqs-off',
  'No IPI sent with IRQs disabled or outside task context',
  'smp_call_function*() was called with IRQs disabled or from interrupt context. With wait, two CPUs doing this ' +
    'to each other deadlock; the kernel asserts against it (lockdep_assert_irqs_enabled(), WARN_ON_ONCE(!in_task())).',
  (ev) => {
    if (ev.type !== 'smp_call') return null;
    if (ev.irqs_off !== true && ev.in_task === true) return null;
    const why = ev.irqs_off === true ? 'with IRQs disabled' : 'outside task context';
    return {
      message: `CPU${ev.cpu} ${ev.fn} sent ${ev.func} IPIs${ev.wait ? ' and waits' : ''} ${why}`,
      details: { cpu: ev.cpu, fn: ev.fn, func: ev.func, wait: ev.wait, irqs_off: ev.irqs_off },
    };
  },
);
