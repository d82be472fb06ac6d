/**
 * mm/page_alloc.c and the page-table page lifecycle (include/linux/mm.h pagetable_*):
 * allocated -> linked -> unlinked -> freed -> reallocated. A page's generation is bumped at every
 * allocation, so a walker that entered a table at generation g and finds another generation is
 * reading a reused page.
 *
 * Pages come off the free list most recently freed first (the per-CPU lists behave so), which is
 * how a freed page-table page gets reused. When the list is empty, pagetable_alloc() takes a page
 * never used before, `pfn<n>`, from a counter (`buddy.next_pfn`); alloc_page() (the `reuse_table`
 * step) does not: it exists to reuse a freed page.
 */
import { access, choose, internByKey, type Loc, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { lockLoc } from '../kernel/locking/spinlock.js';
import { asNumber, cpuLoc, freeListLoc, nextPfnLoc, pageLoc, ptLoc, type Level, type PageState, type StealTime, type TlbEntry } from '../state.js';

/** The n-th page the allocator hands out fresh (never used before). */
export const freshPage = (n: number): string => `pfn${n}`;

/** pte_lockptr() / ptlock_ptr(): the split PTE lock of a PTE table page (include/linux/mm.h). */
export const ptl = internByKey((table) => `ptl:${table}`);

/**
 * __get_free_page(GFP_NOWAIT) for an mmu_gather table batch. It may fail at any time under memory
 * pressure; config.batch_alloc says whether it always succeeds, always fails, or either (a
 * nondeterministic choice the checker explores and the simulator draws).
 * The batch page itself is not tracked as a page (it never holds a page table).
 */
export function* __get_free_page_batch(cur: Ctx, caller: string): Proc<boolean> {
  switch (cur.k.config.batch_alloc) {
    case 'succeeds':
      return true;
    case 'fails':
      yield* access({ fn: caller, desc: '__get_free_page(GFP_NOWAIT) fails', cost: { cls: 'page_alloc' } });
      return false;
    case 'may-fail': {
      const i = yield* choose({ fn: caller, desc: '__get_free_page(GFP_NOWAIT)' }, 'gfp_nowait', ['allocated', 'failed']);
      return i === 0;
    }
  }
}

/**
 * The ghost read a page-table page's free or reuse does (it costs nothing in the kernel): every
 * CPU's TLB/walk cache, then each preemptible vCPU's steal-time record. Only CPUs that ever load a
 * user mm can cache a pointer to a user page table.
 */
export function walkCacheReads(cur: Ctx): Loc[] {
  return [...cur.k.user_mm_cpus.map(cpuLoc.tlb), ...cur.k.preemptible_vcpus.map(cpuLoc.steal_time)];
}

/**
 * The cached non-leaf entries that still point at generation `gen` of `table`, from the values of
 * walkCacheReads() starting at `vals[first]`. A descheduled vCPU whose flush KVM deferred
 * (KVM_VCPU_FLUSH_TLB) cannot use its cached entries: the host flushes them before it runs again.
 */
export function staleWalkCacheEntries(cur: Ctx, table: string, gen: number, vals: readonly Value[], first: number): Value[] {
  const cpus = cur.k.user_mm_cpus;
  const vcpus = cur.k.preemptible_vcpus;
  const flushPending = new Set(vcpus.filter((_, i) => (vals[first + cpus.length + i] as StealTime).flush));
  const stale: Value[] = [];
  cpus.forEach((c, i) => {
    if (flushPending.has(c)) return;
    for (const e of vals[first + i] as readonly TlbEntry[]) {
      if (e.table === table && e.gen === gen) stale.push({ cpu: c, level: e.level, path: e.path });
    }
  });
  return stale;
}

/**
 * Free a page-table page (pagetable_dtor_free() -> __free_page()). The step also looks at every
 * CPU's TLB/walk cache (a ghost read that costs nothing in the kernel) so that the
 * `no-stale-walk-cache` property can report a cached non-leaf entry still pointing at the page.
 */
export function* pagetable_free(cur: Ctx, caller: string, table: string): Proc<void> {
  yield* access({
    fn: caller,
    desc: `free page-table page ${table}`,
    cost: { cls: 'page_free' },
    reads: [pageLoc(table), freeListLoc, ...walkCacheReads(cur)],
    writes: [pageLoc(table), freeListLoc],
    effect: (vals) => {
      const pg = vals[0] as PageState;
      if (pg.state !== 'pgtable') throw new Error(`${caller}: freeing ${table}, which is ${pg.state} (double free)`);
      const stale = staleWalkCacheEntries(cur, table, pg.gen, vals, 2);
      const list = vals[1] as readonly string[];
      return {
        writes: [
          [pageLoc(table), { ...pg, state: 'free' }],
          [freeListLoc, [table, ...list]],
        ],
        events: [{ type: 'pt_free', cpu: cur.cpu, fn: caller, comm: cur.comm, table, gen: pg.gen, level: pg.level, owner: pg.owner, stale }],
        note: `${table} gen ${pg.gen} freed`,
      };
    },
  });
}

/** A usable leaf TLB entry that still maps a page: the payload of `data_page_free` and `zap_return` events. */
export type StaleLeaf = {
  readonly cpu: number;
  readonly mm: string;
  readonly level: string;
  readonly path: string;
  readonly page: string;
};

/**
 * The leaf TLB entries that still map one of `pages` (any page when null) and that their CPU can
 * use, from the values of leafTlbReads() at the start of `vals`. An entry is usable when its CPU
 * runs a task of the entry's mm: the mm is loaded and the CPU is not lazy (x86
 * cpu_tlbstate_shared.is_lazy: a kthread
 * or idle borrowing the mm never touches user addresses, and leaving lazy mode or switching back
 * goes through switch_mm_irqs_off(), which flushes when the CPU's tlb_gen is behind the mm's, bumped
 * by inc_mm_tlb_gen() before any flush is sent), and it is not a descheduled vCPU whose flush KVM
 * deferred (KVM_VCPU_FLUSH_TLB: the host flushes before the vCPU runs again). See docs/model.md §4.
 */
export function usableLeafEntries(cur: Ctx, pages: readonly string[] | null, vals: readonly Value[]): StaleLeaf[] {
  const cpus = cur.k.user_mm_cpus;
  const vcpus = cur.k.preemptible_vcpus;
  const n = cpus.length;
  const flushPending = new Set(vcpus.filter((_, i) => (vals[3 * n + i] as StealTime).flush));
  const wanted = pages === null ? null : new Set(pages);
  const stale: StaleLeaf[] = [];
  cpus.forEach((c, i) => {
    const loaded = vals[n + i];
    const lazy = vals[2 * n + i] === true;
    if (flushPending.has(c)) return;
    for (const e of vals[i] as readonly TlbEntry[]) {
      if (e.pfn === null || (wanted !== null && !wanted.has(e.pfn))) continue;
      const usable = loaded === e.mm && !lazy;
      if (usable) stale.push({ cpu: c, mm: e.mm, level: e.level, path: e.path, page: e.pfn });
    }
  });
  return stale;
}

/** The ghost reads of a data-page free: every user CPU's TLB, loaded mm and lazy flag, and each preemptible vCPU's steal time. */
export function leafTlbReads(cur: Ctx): Loc[] {
  const cpus = cur.k.user_mm_cpus;
  return [...cpus.map(cpuLoc.tlb), ...cpus.map(cpuLoc.loaded_mm), ...cpus.map(cpuLoc.is_lazy), ...cur.k.preemptible_vcpus.map(cpuLoc.steal_time)];
}

/**
 * free_pages_and_swap_cache(pages) (mm/swap_state.c, not read; called from tlb_batch_pages_flush()
 * in mm/mmu_gather.c @06d07429; folios_put_refs(): the last
 * reference of each unmapped anonymous folio is dropped and the page goes back to the allocator).
 * Data pages are names (docs/model.md §5.2): the free is an event, not a state change, so that a
 * later fault can map the same name again. The step also reads every CPU's TLB (a ghost read that
 * costs nothing) so that `no-tlb-entry-to-freed-page` can report a usable leaf entry still mapping
 * one of the pages.
 */
export function* free_pages_and_swap_cache(cur: Ctx, caller: string, mm: string, pages: readonly string[]): Proc<void> {
  yield* access({
    fn: caller,
    desc: `free_pages_and_swap_cache(${pages.join(', ')})`,
    reads: leafTlbReads(cur),
    effect: (vals) => {
      const stale = usableLeafEntries(cur, pages, vals);
      return {
        events: [{ type: 'data_page_free', cpu: cur.cpu, fn: caller, comm: cur.comm, mm, pages: [...pages], stale }],
        note: stale.length ? `freed while still mapped by ${stale.length} TLB entr${stale.length === 1 ? 'y' : 'ies'}` : 'freed',
      };
    },
  });
}

/**
 * Take the head of the free list (the most recently freed page), or null when it is empty: the
 * first step of both allocation paths.
 */
function* take_free_page(caller: string, desc: string): Proc<string | null> {
  return yield* access<string | null>({
    fn: caller,
    desc,
    cost: { cls: 'page_alloc' },
    reads: [freeListLoc],
    writes: [freeListLoc],
    effect: ([list]) => {
      const l = list as readonly string[];
      if (l.length === 0) return { result: null, note: 'no free page' };
      return { writes: [[freeListLoc, l.slice(1)]], result: l[0] as string, note: `got ${l[0]}` };
    },
  });
}

/**
 * Allocate a page from the free list (the most recently freed first, as the per-CPU free lists
 * behave) for `owner`, as a page table of `level` or as a data page (`level` null). Returns the
 * page and its new generation, or null when no page is free. This is how a freed page-table page
 * gets reused (the `reuse_table` step). Two steps: take the page off the free list, then
 * initialise its struct page. The page is not zeroed: the caller writes the entries it wants.
 */
export function* alloc_page(cur: Ctx, caller: string, owner: string, level: Level | null): Proc<{ page: string; gen: number } | null> {
  const page = yield* take_free_page(caller, level ? `pagetable_alloc() for ${owner}` : `alloc_page() for ${owner}`);
  if (page === null) return null;
  return yield* access<{ page: string; gen: number }>({
    fn: caller,
    desc: `initialise ${page} for ${owner}`,
    reads: [pageLoc(page)],
    writes: [pageLoc(page)],
    effect: ([pg]) => {
      const old = pg as PageState;
      const gen = old.gen + 1;
      const next: PageState = { state: level ? 'pgtable' : 'data', gen, owner, level };
      return {
        writes: [[pageLoc(page), next]],
        result: { page, gen },
        events: [{ type: 'page_alloc', cpu: cur.cpu, fn: caller, page, gen, owner, level }],
        note: `${page} gen ${gen} now ${level ? `${level} table` : 'data'} of ${owner}`,
      };
    },
  });
}

/**
 * A page-table page for a fault: include/linux/mm.h pagetable_alloc(GFP_PGTABLE_USER, 0) as
 * called by pud_alloc_one() / pmd_alloc_one() / pte_alloc_one(), then the constructor
 * (pagetable_pud_ctor() / pagetable_pmd_ctor() / pagetable_pte_ctor()). Never fails: the model has
 * no memory pressure for table pages (docs/model.md §5.17).
 *
 *  1. Take the most recently freed page; if none is free,
 *  2. take a never-used page `pfn<n>` (`buddy.next_pfn`), creating its `page.<id>` state;
 *  3. initialise it in one step: state `pgtable` of `owner` at `level`, generation + 1 (1 for a
 *     fresh page); entries 0..entries-1 zeroed (GFP_PGTABLE_USER includes __GFP_ZERO: the model
 *     zeroes the entries its walks of that level can read); for a PTE table, ptlock_init() of its
 *     split lock (pagetable_pte_ctor()). The split PMD lock is not modelled (mm/memory.ts).
 *
 * Returns the page and its new generation, for the pointer entry `{ table, gen }` that links it.
 */
export function* pagetable_alloc(cur: Ctx, caller: string, owner: string, level: Level, entries: number): Proc<{ page: string; gen: number }> {
  let page = yield* take_free_page(caller, `pagetable_alloc() for ${owner}`);
  const fresh = page === null;
  if (page === null) {
    page = yield* access<string>({
      fn: caller,
      desc: `pagetable_alloc(): a never-used page for ${owner}`,
      cost: { cls: 'page_alloc' },
      reads: [nextPfnLoc],
      writes: [nextPfnLoc],
      effect: ([n]) => {
        const id = freshPage(asNumber(n));
        return { writes: [[nextPfnLoc, asNumber(n) + 1]], result: id, note: `got ${id}` };
      },
    });
  }
  const p = page;
  const zeroed: Loc[] = Array.from({ length: entries }, (_, i) => ptLoc(p, i));
  const lock: Loc[] = level === 'pte' ? [lockLoc(ptl(p))] : [];
  return yield* access<{ page: string; gen: number }>({
    fn: caller,
    desc: `initialise ${p} as ${level} table of ${owner}${level === 'pte' ? ' (pagetable_pte_ctor)' : ''}`,
    reads: fresh ? [] : [pageLoc(p)],
    writes: [pageLoc(p), ...zeroed, ...lock],
    effect: (vals) => {
      const gen = fresh ? 1 : (vals[0] as PageState).gen + 1;
      const next: PageState = { state: 'pgtable', gen, owner, level };
      return {
        writes: [[pageLoc(p), next], ...zeroed.map((l): [Loc, Value] => [l, null]), ...lock.map((l): [Loc, Value] => [l, null])],
        result: { page: p, gen },
        events: [{ type: 'page_alloc', cpu: cur.cpu, fn: caller, page: p, gen, owner, level, fresh }],
        note: `${p} gen ${gen} now ${level} table of ${owner}${fresh ? ' (fresh page)' : ''}`,
      };
    },
  });
}
