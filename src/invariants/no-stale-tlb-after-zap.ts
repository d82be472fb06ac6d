/**
 * MADV_DONTNEED returns with the range flushed: when madvise(MADV_DONTNEED) returns to user space,
 * no CPU that runs a task of the mm (usableLeafEntries(), mm/page_alloc.ts) holds a TLB entry for an
 * address of the range that its PTE no longer maps. Otherwise the caller, or another thread, reads
 * the old page instead of a zero-filled one and its writes go to a page about to be freed (the
 * race 99baac21e458 "mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem" closed: a second
 * MADV_DONTNEED finds the PTEs already cleared by a first one, records nothing to flush, and
 * returns before the first one's flush; tlb_finish_mmu() now forces a flush when
 * mm_tlb_flush_nested()).
 */
import { eventProperty, type Value } from '../core/index.js';
import { staleLeaves } from './stale-leaves.js';

export const noStaleTlbAfterZap = eventProperty(
  'no-stale-tlb-after-zap',
  'MADV_DONTNEED returns with no usable TLB entry for the range',
  'madvise(MADV_DONTNEED) returned while a CPU running a task of the mm still held a TLB entry for an address of ' +
    'the range whose PTE no longer maps that page: the task reads stale data instead of zeroes, and writes to a ' +
    'page that another thread is about to free (99baac21e458).',
  (ev) => {
    if (ev.type !== 'zap_return') return null;
    const s = staleLeaves(ev.stale);
    if (s === null) return null;
    return {
      message: `CPU${ev.cpu} ${ev.fn} on ${ev.mm} returns while the TLB of ${s.where} still maps the zapped range`,
      details: { cpu: ev.cpu, mm: ev.mm, stale: ev.stale as Value, holders: s.holders },
    };
  },
);
