/**
 * I-3 (kernel.md §6): no TLB / paging-structure-cache entry points at a freed table. Before T is
 * freed, every CPU's cached non-leaf entries that point to it must have been invalidated
 * (x86: a flush with freed_tables reaching lazy CPUs too; arm64: a non-leaf TLBI).
 */
import { eventProperty, type Value } from '../core/index.js';

export const noStaleWalkCache = eventProperty(
  'no-stale-walk-cache',
  'No walk-cache entry points at a freed table',
  'A page-table page was freed while a CPU\'s paging-structure (walk) cache still held an entry pointing to it: ' +
    'the MMU can walk the page after it is reused and read garbage as page-table entries (or set A/D bits in it).',
  (ev) => {
    if (ev.type !== 'pt_free') return null;
    const stale = ev.stale as ReadonlyArray<{ readonly cpu: number; readonly level: string }>;
    if (stale.length === 0) return null;
    const where = stale.map((s) => `CPU${s.cpu} (${s.level} entry)`).join(', ');
    return {
      message: `CPU${ev.cpu} ${ev.fn} freed ${ev.table} (gen ${ev.gen}) while the walk cache of ${where} still points to it`,
      details: { cpu: ev.cpu, fn: ev.fn, table: ev.table, gen: ev.gen, stale: ev.stale as Value },
    };
  },
);
