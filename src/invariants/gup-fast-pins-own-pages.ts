/**
 * I-7 (kernel.md §6): GUP-fast only returns pages its own mm mapped. A walk through a freed or
 * reused table can pick up a PTE of another mm (hugetlb unshare, 1013af4f585f) or garbage.
 */
import { eventProperty } from '../core/index.js';

export const gupFastPinsOwnPages = eventProperty(
  'gup-fast-pins-own-pages',
  'GUP-fast pins only pages of its own mm',
  'GUP-fast returned a page that its own mm does not map: it walked a table that had been freed and reused by ' +
    'another address space.',
  (ev) => {
    if (ev.type !== 'gup_fast_done') return null;
    const foreign = (ev.pages as readonly string[]).filter((p) => !p.startsWith(`${ev.mm}.`));
    if (foreign.length === 0) return null;
    return {
      message: `CPU${ev.cpu} gup_fast for ${ev.mm} pinned ${foreign.join(', ')}, which ${ev.mm} does not map`,
      details: { cpu: ev.cpu, mm: ev.mm, pages: foreign },
    };
  },
);
