/**
 * I-7 (kernel.md §6): GUP-fast only returns pages its own mm mapped at those addresses. A walk
 * through a freed or reused table can pick up a PTE of another mm (hugetlb unshare,
 * 1013af4f585f), of another address of the same mm (a deposited PTE table withdrawn for another
 * PMD's split), or garbage. The pages an address can map are its small page and, after a collapse,
 * the THP's subpage (`expected`, `huge` in the event). A small page pinned after khugepaged copied
 * it passes this check (it was mapped there): no-gup-fast-pin-of-collapsed-page catches that.
 */
import { eventProperty } from '../core/index.js';

export const gupFastPinsOwnPages = eventProperty(
  'gup-fast-pins-own-pages',
  'GUP-fast pins only the pages its own mm maps',
  'GUP-fast returned a page that its own mm does not map at that address: it walked a table that had been freed ' +
    'and reused (by another address space, or as garbage).',
  (ev) => {
    if (ev.type !== 'gup_fast_done') return null;
    const pages = ev.pages as readonly string[];
    const expected = ev.expected as readonly string[];
    const huge = (ev.huge ?? []) as readonly string[];
    const wrong = pages.flatMap((p, i) => (p === expected[i] || p === huge[i] ? [] : [`${p} (expected ${expected[i]})`]));
    if (wrong.length === 0) return null;
    return {
      message: `CPU${ev.cpu} gup_fast for ${ev.mm} pinned ${wrong.join(', ')}: ${ev.mm} does not map it there`,
      details: { cpu: ev.cpu, mm: ev.mm, pages: wrong },
    };
  },
);
