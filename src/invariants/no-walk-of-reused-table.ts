/**
 * I-2 (kernel.md §6): no lockless walker observes a table after it was reused. A walker that
 * entered page T at generation g must have finished before T is reused (generation g+1): freed
 * and reallocated for another level, another mm or data, or refilled in place for a new purpose
 * (the PTE table khugepaged deposited, withdrawn and refilled by a THP split: mm/huge_memory.ts).
 */
import { eventProperty } from '../core/index.js';

export const noWalkOfReusedTable = eventProperty(
  'no-walk-of-reused-table',
  'No walker reads a reused page-table page',
  'A lockless software walker read a page that it reached as a page table of one generation after the page ' +
    'had been reused (freed and reallocated, or deposited by khugepaged and refilled by a THP split): it now ' +
    'interprets someone else\'s data (or entries written for another purpose) as the page-table entries it came for.',
  (ev) => {
    if (ev.type !== 'walk_read' || ev.walker === 'hw' || ev.state === 'free' || ev.gen === ev.expect_gen) return null;
    const now = ev.state === 'pgtable' ? `a ${ev.level} table of ${ev.owner}` : `data of ${ev.owner}`;
    return {
      message: `CPU${ev.cpu} ${ev.fn} read ${ev.table} as gen ${ev.expect_gen}, but it was reused (gen ${ev.gen}, now ${now})`,
      details: { cpu: ev.cpu, fn: ev.fn, table: ev.table, gen: ev.expect_gen, now_gen: ev.gen, owner: ev.owner },
    };
  },
);
