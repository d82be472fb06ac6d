/**
 * I-1 (kernel.md §6): no lockless software walker reads a page-table page after it was freed.
 * If GUP-fast (or another IRQ-off/RCU walker) read an entry pointing to table T, T is freed only
 * after the walker's IRQ-off or RCU section ended.
 */
import { eventProperty } from '../core/index.js';

export const noWalkOfFreedTable = eventProperty(
  'no-walk-of-freed-table',
  'No walker reads a freed page-table page',
  'A lockless software walker (GUP-fast) read an entry of a page-table page that had already been freed: ' +
    'a use-after-free. The free did not wait for the walker: neither an IPI it held off with IRQs disabled, ' +
    'nor an RCU grace period.',
  (ev) => {
    if (ev.type !== 'walk_read' || ev.walker === 'hw' || ev.state !== 'free') return null;
    return {
      message: `CPU${ev.cpu} ${ev.fn} read ${ev.level}[${ev.index}] of ${ev.table} (gen ${ev.expect_gen}), which was freed`,
      details: { cpu: ev.cpu, fn: ev.fn, table: ev.table, gen: ev.expect_gen, level: ev.level, walker: ev.walker },
    };
  },
);
