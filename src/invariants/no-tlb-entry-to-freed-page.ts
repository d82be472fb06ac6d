/**
 * No usable TLB entry maps a freed data page (the leaf-entry counterpart of no-stale-walk-cache).
 * include/asm-generic/tlb.h's rule: unhook the page, TLB-invalidate it, then free it. When the page
 * goes back to the allocator (free_pages_and_swap_cache() from tlb_flush_mmu(), mm/page_alloc.ts),
 * no CPU that can use a cached translation may still hold a leaf entry for it, or a thread of the
 * mm reads and writes a page that now belongs to someone else.
 *
 * "Usable" (usableLeafEntries()): the CPU runs a task of the entry's mm (loaded and not lazy) and is
 * not a descheduled vCPU whose flush KVM deferred. Lazy x86 CPUs keep stale user entries by design
 * (should_flush_tlb() skips them when no table is freed): they run a kthread or idle, which never
 * touch user addresses, and switch_mm_irqs_off() flushes them on the way back because their tlb_gen
 * is behind the mm's (docs/model.md §4).
 */
import { eventProperty, type Value } from '../core/index.js';
import { staleLeaves } from './stale-leaves.js';

export const noTlbEntryToFreedPage = eventProperty(
  'no-tlb-entry-to-freed-page',
  'No usable TLB entry maps a freed data page',
  'A data page was freed while a CPU running a task of its mm still held a TLB entry mapping it: that task can ' +
    'read and write the page after it is reallocated to another process or the kernel (use-after-free through the TLB).',
  (ev) => {
    if (ev.type !== 'data_page_free') return null;
    const s = staleLeaves(ev.stale);
    if (s === null) return null;
    return {
      message: `CPU${ev.cpu} ${ev.fn} freed ${(ev.pages as readonly string[]).join(', ')} of ${ev.mm} while the TLB of ${s.where} still maps it`,
      details: { cpu: ev.cpu, fn: ev.fn, pages: ev.pages as Value, stale: ev.stale as Value, holders: s.holders },
    };
  },
);
