/**
 * include/asm-generic/tlb.h: the mmu_gather structure and its inline helpers.
 *
 * The rule the whole file exists for (from the header's opening comment):
 *
 *   1) unhook the page (clear the entry that points to it)
 *   2) TLB invalidate the page (including paging-structure/walk caches for page tables)
 *   3) free the page
 *
 * and, for page-table pages, the extra rule that software walkers (GUP-fast) that disable IRQs
 * must not see a table freed under them: either the TLB invalidate of step 2 is an IPI they hold
 * off, or the free of step 3 waits for them (RCU table free, tlb_remove_table_sync_one(),
 * tlb_remove_table_sync_rcu()).
 *
 * The gather is on the unmapping task's stack: plain local data here, never shared.
 */
import { access, local, type Proc } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { asNumber, ptdescLoc } from '../../state.js';
import { hookedImpliesIpiBroadcast } from '../../strategy-hooks.js';

/** struct mmu_table_batch: tables waiting for tlb_table_flush(). */
export interface mmu_table_batch {
  readonly tables: string[];
}

/** struct mmu_gather, the fields the model needs. */
export interface mmu_gather {
  readonly mm: string;
  fullmm: boolean;
  need_flush_all: boolean;
  /** A page table was freed since the last flush: the flush must also invalidate walk caches. */
  freed_tables: boolean;
  cleared_ptes: boolean;
  cleared_pmds: boolean;
  cleared_puds: boolean;
  cleared_p4ds: boolean;
  /** hugetlb: a PMD table was unshared (8ce720d5bd91). */
  unshared_tables: boolean;
  /** hugetlb: a PMD table became exclusively owned; needs the walker sync before reuse. */
  fully_unshared_tables: boolean;
  /** CONFIG_MMU_GATHER_TABLE_FREE batch. */
  batch: mmu_table_batch | null;
  /** !CONFIG_MMU_GATHER_TABLE_FREE: tables queued with the data pages (tlb_remove_page). */
  pages: string[];
  /**
   * The data pages zap_pte_range() unmapped, queued by __tlb_remove_page() in the gather's
   * struct mmu_gather_batch (tlb->active; the kernel keeps tables and data pages in one list of
   * encoded pages, the model two lists: a data page is a name, a table a tracked page).
   */
  data_pages: string[];
  /** Range, in PMD slots, for traces. */
  start: number;
  end: number;
}

export function new_mmu_gather(mm: string): mmu_gather {
  return {
    mm,
    fullmm: false,
    need_flush_all: false,
    freed_tables: false,
    cleared_ptes: false,
    cleared_pmds: false,
    cleared_puds: false,
    cleared_p4ds: false,
    unshared_tables: false,
    fully_unshared_tables: false,
    batch: null,
    pages: [],
    data_pages: [],
    start: Number.MAX_SAFE_INTEGER,
    end: 0,
  };
}

/** __tlb_reset_range(): clears the range and freed_tables, cleared_* and unshared_tables (not fully_unshared_tables). */
export function __tlb_reset_range(tlb: mmu_gather): void {
  if (tlb.fullmm) {
    tlb.start = tlb.end = Number.MAX_SAFE_INTEGER;
  } else {
    tlb.start = Number.MAX_SAFE_INTEGER;
    tlb.end = 0;
  }
  tlb.freed_tables = false;
  tlb.cleared_ptes = false;
  tlb.cleared_pmds = false;
  tlb.cleared_puds = false;
  tlb.cleared_p4ds = false;
  tlb.unshared_tables = false;
}

function __tlb_adjust_range(tlb: mmu_gather, slot: number): void {
  tlb.start = Math.min(tlb.start, slot);
  tlb.end = Math.max(tlb.end, slot + 1);
}

/** tlb_flush_pte_range() / tlb_remove_tlb_entry(): a PTE was cleared. */
export function tlb_flush_pte_range(tlb: mmu_gather, slot: number): void {
  __tlb_adjust_range(tlb, slot);
  tlb.cleared_ptes = true;
}

/**
 * __tlb_remove_page(tlb, page) (include/asm-generic/tlb.h -> __tlb_remove_folio_pages_size(),
 * mm/mmu_gather.c @06d07429): queue a data page to be freed after the flush. Returns whether
 * the batch is full (the caller then force-flushes); the model's batch never fills: MAX_GATHER_BATCH
 * is hundreds of pages and a scenario unmaps a handful.
 */
export function __tlb_remove_page(tlb: mmu_gather, page: string): boolean {
  tlb.data_pages.push(page);
  return false;
}

/** tlb_flush_pmd_range(): a PMD entry was cleared (pte_free_tlb records it). */
export function tlb_flush_pmd_range(tlb: mmu_gather, slot: number): void {
  __tlb_adjust_range(tlb, slot);
  tlb.cleared_pmds = true;
}

export function tlb_flush_pud_range(tlb: mmu_gather, slot: number): void {
  __tlb_adjust_range(tlb, slot);
  tlb.cleared_puds = true;
}

export function tlb_flush_p4d_range(tlb: mmu_gather, slot: number): void {
  __tlb_adjust_range(tlb, slot);
  tlb.cleared_p4ds = true;
}

/**
 * tlb_flush_mmu_tlbonly(): flush if anything was recorded (returns early otherwise), then reset
 * the range. The arch's tlb_flush() decides who gets interrupted and which caches are cleared.
 */
export function* tlb_flush_mmu_tlbonly(cur: Ctx, tlb: mmu_gather): Proc<void> {
  if (!(tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_puds || tlb.cleared_p4ds || tlb.unshared_tables)) {
    return;
  }
  yield* cur.k.arch.tlb_flush(cur, tlb);
  __tlb_reset_range(tlb);
}

/**
 * tlb_table_flush_implies_ipi_broadcast() (v8 1/2; the generic default is false, x86 overrides
 * it with a static key, see arch/x86/mm/tlb.ts).
 */
export function tlb_table_flush_implies_ipi_broadcast(cur: Ctx): boolean {
  // implies_ipi_broadcast: always (counterfactual, no kernel): every arch claims it.
  const dflt = cur.k.config.implies_ipi_broadcast === 'always' || cur.k.arch.tlb_table_flush_implies_ipi_broadcast(cur.k);
  // A strategy file may answer instead (model/strategy-hooks.ts).
  return cur.k.hooks ? hookedImpliesIpiBroadcast(cur, dflt) : dflt;
}

/** A marker step so traces show where a sync was skipped. */
export function* sync_skipped(cur: Ctx, fn: string): Proc<void> {
  yield* local({ fn, desc: 'skipped: tlb_table_flush_implies_ipi_broadcast()' }, undefined, [
    { type: 'sync_skipped', cpu: cur.cpu, fn },
  ]);
}

/**
 * ptdesc_pmd_pts_dec() (include/linux/mm_types.h) on a hugetlb PMD table: one atomic decrement of
 * ptdesc->pt_share_count. Returns the count after it: 0 means the table is now exclusively owned
 * by the one mm still linking it (ptdesc_pmd_is_shared() is false).
 */
export function* ptdesc_pmd_pts_dec(cur: Ctx, caller: string, table: string): Proc<number> {
  void cur;
  const loc = ptdescLoc.pt_share_count(table);
  return yield* access<number>({
    fn: caller,
    desc: `ptdesc_pmd_pts_dec(${table})`,
    reads: [loc],
    writes: [loc],
    effect: ([n]) => {
      const left = asNumber(n) - 1;
      if (left < 0) throw new Error(`${caller}: ${table}'s pt_share_count goes below 0`);
      return { writes: [[loc, left]], result: left, note: left === 0 ? `${table} is now exclusive` : `${left} other sharer(s) left` };
    },
  });
}

/**
 * tlb_unshare_pmd_ptdesc(tlb, pt, addr) (8ce720d5bd91; CONFIG_HUGETLB_PMD_PAGE_TABLE_SHARING). The
 * caller (__huge_pmd_unshare()) has already cleared its PUD entry (sources §2, Disagreement 9).
 * VM_WARN_ON_ONCE(!ptdesc_pmd_is_shared(pt)) (the model's caller checked it under the same locks),
 * ptdesc_pmd_pts_dec(), tlb_flush_pmd_range(addr & PUD_MASK, PUD_SIZE) (the model records PMD slot
 * `t`, the table's index: ranges are for traces only), fully_unshared_tables if the table is now
 * exclusive, and unshared_tables always.
 */
export function* tlb_unshare_pmd_ptdesc(cur: Ctx, tlb: mmu_gather, table: string, t: number): Proc<void> {
  const left = yield* ptdesc_pmd_pts_dec(cur, 'tlb_unshare_pmd_ptdesc', table);
  tlb_flush_pmd_range(tlb, t);
  if (left === 0) tlb.fully_unshared_tables = true;
  tlb.unshared_tables = true;
}
