/**
 * mm/madvise.c: madvise(MADV_DONTNEED) of a whole VMA.
 *
 * madvise_lock() takes the mmap_lock for read, or, since a6fde7add78d "mm: use per_vma lock for
 * MADV_DONTNEED" (v6.17-rc1; config.madvise_dontneed_lock), nothing: get_lock_mode() returns
 * MADVISE_VMA_READ_LOCK and madvise_walk_vmas() -> try_vma_read_lock() takes only the VMA's read
 * lock (lock_vma_under_rcu()), falling back to mmap_read_lock() when that fails; madvise_do_behavior()
 * gathers one mmu_gather for the call;
 * madvise_dontneed_single_vma() -> zap_page_range_single_batched(tlb, vma, start, size, details)
 * with details = { .reclaim_pt = true } (6375e95f381e) -> unmap_single_vma() -> unmap_page_range()
 * -> zap_pmd_range(): zap_huge_pmd() for a THP covering the whole PMD, else zap_pte_range(), which
 * with PT_RECLAIM ends in try_to_free_pte() (mm/pt_reclaim.ts); tlb_finish_mmu(); unlock.
 * The zap queues the data pages; tlb_finish_mmu() frees them after the flush (docs/model.md §2.30).
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import type { mmu_gather } from '../include/asm-generic/tlb.js';
import { pxd_read } from '../include/linux/pgtable.js';
import { mmap_read_lock, mmap_read_unlock } from '../kernel/locking/rwsem.js';
import { pmd_table_of, zap_huge_pmd } from './huge_memory.js';
import { lock_vma_under_rcu, zap_pte_range } from './memory.js';
import { vma_end_read } from '../include/linux/mmap_lock.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { reclaim_pt_is_enabled, try_to_free_pte } from './pt_reclaim.js';
import { leafTlbReads, usableLeafEntries } from './page_alloc.js';
import { mmLoc, ptLoc, type PtEntry } from '../state.js';

/**
 * zap_pmd_range() for one 2 MiB slot, with details->reclaim_pt: a huge PMD is zapped whole
 * (zap_huge_pmd()); a PTE table is zapped (zap_pte_range()) and, with PT_RECLAIM, freed if empty
 * (try_to_free_pte()).
 */
function* zap_pmd_slot(cur: Ctx, tlb: mmu_gather, pmdT: string, slot: number): Proc<void> {
  const pmd = yield* pxd_read(cur, 'zap_pmd_range', pmdT, slot);
  if (pmd === null) return;
  if ('pfn' in pmd) {
    if (yield* zap_huge_pmd(cur, tlb, pmdT, slot)) return;
    // Split meanwhile: fall back to the PTE table now linked there.
    const again = yield* pxd_read(cur, 'zap_pmd_range', pmdT, slot);
    if (again === null || !('table' in again)) return;
    yield* zap_pte_range(cur, tlb, again.table, slot);
  } else if ('table' in pmd) {
    yield* zap_pte_range(cur, tlb, pmd.table, slot);
  }
  if (reclaim_pt_is_enabled(cur, true)) yield* try_to_free_pte(cur, tlb, pmdT, slot);
}

/** madvise(MADV_DONTNEED) of the VMA named `vmaName` of the current task's mm. */
export function* madvise_dontneed(cur: Ctx, vmaName: string): Proc<void> {
  const mm = cur.mm;
  if (mm === null) throw new Error(`madvise on CPU${cur.cpu}: current->mm is NULL (a kthread)`);
  const vma = mmSpec(cur.k, mm).vmas.find((v) => v.name === vmaName);
  if (!vma) throw new Error(`madvise: ${mm} has no VMA '${vmaName}'`);
  // get_lock_mode(): MADVISE_VMA_READ_LOCK for MADV_DONTNEED since a6fde7add78d (with
  // CONFIG_PER_VMA_LOCK), else MADVISE_MMAP_READ_LOCK.
  const vmaLock = cur.k.config.per_vma_lock && cur.k.config.madvise_dontneed_lock === 'vma_read';
  // try_vma_read_lock(): lock_vma_under_rcu(mm, start); NULL -> take_mmap_read_lock. The range is
  // the whole VMA, so the end check (range->end > vma->vm_end) never sends it to the fallback.
  const locked = vmaLock ? yield* lock_vma_under_rcu(cur, mm, vma.start) : null;
  let mapped = true;
  if (locked === null) {
    yield* mmap_read_lock(cur, vmaLock ? 'try_vma_read_lock' : 'madvise_lock', mm);
    mapped = yield* access<boolean>({
      fn: 'madvise_walk_vmas',
      desc: `find_vma(${vmaName})`,
      reads: [mmLoc.vmas(mm)],
      effect: ([v]) => {
        const ok = (v as readonly string[]).includes(vmaName);
        return { result: ok, note: ok ? 'mapped' : 'not mapped: -ENOMEM' };
      },
    });
  }
  if (mapped) {
    const tlb = yield* tlb_gather_mmu(cur, mm);
    const pmdT = yield* pmd_table_of(cur, 'unmap_page_range', mm);
    if (pmdT !== null) {
      for (let slot = vma.start; slot < vma.end; slot++) yield* zap_pmd_slot(cur, tlb, pmdT, slot);
    }
    yield* tlb_finish_mmu(cur, tlb);
    if (pmdT !== null && cur.k.observe_zap_return === true) yield* zap_returns(cur, mm, pmdT, vma.start, vma.end);
  }
  if (locked !== null) yield* vma_end_read(cur, 'madvise_walk_vmas', mm, locked.name);
  else yield* mmap_read_unlock(cur, 'madvise_unlock', mm);
}

/**
 * Not a kernel function: the postcondition of MADV_DONTNEED (madvise(2): later accesses see
 * zero-filled pages) at the point where the call is about to return, checked by ghost reads that
 * cost nothing. Step 1 reads the PMD entries of the range (which PTE tables to look at); step 2
 * reads them again, the PTEs of those tables and every user CPU's TLB, and reports each usable leaf
 * entry (usableLeafEntries()) of `mm` for an address of the range that its PTE no longer maps.
 * A slot whose PMD entry changed between the two steps, or now maps a huge page, is not judged
 * (no false alarm; a concurrent refault or PT_RECLAIM free of that slot can hide a stale entry).
 */
function* zap_returns(cur: Ctx, mm: string, pmdT: string, start: number, end: number): Proc<void> {
  const slots = Array.from({ length: end - start }, (_, i) => start + i);
  const n = mmSpec(cur.k, mm).ptes_per_table;
  const tables = yield* access<(string | null)[]>({
    fn: 'madvise_dontneed',
    desc: 'returns: which PTE tables map the range (ghost)',
    reads: slots.map((s) => ptLoc(pmdT, s)),
    effect: (vals) => ({ result: vals.map((v) => (v !== null && typeof v === 'object' && 'table' in v ? (v as { table: string }).table : null)) }),
  });
  const pteLocs = slots.flatMap((s, i) => (tables[i] ? Array.from({ length: n }, (_, j) => ptLoc(tables[i] as string, j)) : []));
  const tlbReads = leafTlbReads(cur);
  yield* access({
    fn: 'madvise_dontneed',
    desc: 'returns to user space (ghost check of the TLBs)',
    reads: [...tlbReads, ...slots.map((s) => ptLoc(pmdT, s)), ...pteLocs],
    effect: (vals) => {
      const pmds = vals.slice(tlbReads.length, tlbReads.length + slots.length) as PtEntry[];
      const ptes = vals.slice(tlbReads.length + slots.length) as PtEntry[];
      const mapped = new Map<string, string | null>();
      let k = 0;
      slots.forEach((s, i) => {
        const t = tables[i];
        if (!t) {
          if (pmds[i] === null) for (let j = 0; j < n; j++) mapped.set(`${s}.${j}`, null);
          return;
        }
        const now = pmds[i] ?? null;
        const same = now !== null && 'table' in now && now.table === t;
        for (let j = 0; j < n; j++, k++) {
          const pte = ptes[k] ?? null;
          if (same) mapped.set(`${s}.${j}`, pte !== null && 'pfn' in pte ? pte.pfn : null);
        }
      });
      const leaves = usableLeafEntries(cur, null, vals);
      const stale = leaves.filter((e) => e.mm === mm && e.level === 'pte' && mapped.has(e.path) && mapped.get(e.path) !== e.page);
      return {
        events: [{ type: 'zap_return', cpu: cur.cpu, fn: 'madvise_dontneed', comm: cur.comm, mm, stale }],
        note: stale.length ? `${stale.length} stale TLB entr${stale.length === 1 ? 'y' : 'ies'} for the range` : 'range flushed everywhere',
      };
    },
  });
}
