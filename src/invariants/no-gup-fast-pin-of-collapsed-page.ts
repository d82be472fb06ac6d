/**
 * I-7, the THP-collapse case (kernel.md §6, §7.1; 70cbc3cc78a9 "mm: gup: fix the fast GUP race
 * against THP collapse"): GUP-fast does not return a small page whose folio khugepaged had already
 * isolated for a collapse when GUP-fast took its reference.
 *
 * khugepaged unlinks the PTE table (pmdp_collapse_flush()), then checks each small folio's refcount
 * (__collapse_huge_page_isolate(): folio_expected_ref_count() == folio_ref_count()) and, if no one
 * holds an extra reference, copies it into the THP and releases it. A GUP-fast that read the old PMD
 * and PTE before the unlink but grabs the folio after the refcount check is not seen by khugepaged;
 * unless its PMD re-check notices that the PMD changed, it returns a pin on a page the process no
 * longer maps: DMA or writes through the pin are lost. gup-fast-pins-own-pages does not catch this:
 * the page was mapped at that address when GUP-fast read the PTE.
 */
import { eventProperty } from '../core/index.js';

export const noGupFastPinOfCollapsedPage = eventProperty(
  'no-gup-fast-pin-of-collapsed-page',
  'GUP-fast does not pin a page khugepaged is collapsing',
  'GUP-fast returned a page whose folio khugepaged had isolated for a THP collapse (its refcount check already ' +
    'passed) when GUP-fast took the reference: khugepaged copies the page into the THP and unmaps it, and the pin ' +
    'refers to a page the process no longer maps (lost writes; the race 70cbc3cc78a9 closed with the PMD re-check).',
  (ev) => {
    if (ev.type !== 'gup_fast_done') return null;
    const bad = (ev.collapsing ?? []) as readonly string[];
    if (bad.length === 0) return null;
    return {
      message: `CPU${ev.cpu} gup_fast for ${ev.mm} pinned ${bad.join(', ')} after khugepaged isolated it for a collapse: ` +
        'the pin outlives the mapping, writes through it are lost',
      details: { cpu: ev.cpu, mm: ev.mm, pages: [...bad] },
    };
  },
);
