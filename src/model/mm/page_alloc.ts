/**
 * mm/page_alloc.c and the page-table page lifecycle (include/linux/mm.h pagetable_*):
 * allocated -> linked -> unlinked -> freed -> reallocated. A page's generation is bumped at every
 * allocation, so a walker that entered a table at generation g and finds another generation is
 * reading a reused page.
 */
import { access, choose, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { cpuLoc, freeListLoc, pageLoc, type Level, type PageState, type StealTime, type TlbEntry } from '../state.js';

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
 * Free a page-table page (pagetable_dtor_free() -> __free_page()). The step also looks at every
 * CPU's TLB/walk cache (a ghost read that costs nothing in the kernel) so that the
 * `no-stale-walk-cache` property can report a cached non-leaf entry still pointing at the page.
 */
export function* pagetable_free(cur: Ctx, caller: string, table: string): Proc<void> {
  const cpus = Array.from({ length: cur.k.nr_cpus }, (_, i) => i);
  const vcpus = cur.k.preemptible_vcpus;
  yield* access({
    fn: caller,
    desc: `free page-table page ${table}`,
    cost: { cls: 'page_free' },
    reads: [pageLoc(table), freeListLoc, ...cpus.map(cpuLoc.tlb), ...vcpus.map(cpuLoc.steal_time)],
    writes: [pageLoc(table), freeListLoc],
    effect: (vals) => {
      const pg = vals[0] as PageState;
      if (pg.state !== 'pgtable') throw new Error(`${caller}: freeing ${table}, which is ${pg.state} (double free)`);
      // A descheduled vCPU whose flush KVM deferred (KVM_VCPU_FLUSH_TLB) cannot use its cached
      // entries: the host flushes them before it runs again.
      const flushPending = new Set(vcpus.filter((_, i) => (vals[2 + cpus.length + i] as StealTime).flush));
      const stale: Value[] = [];
      cpus.forEach((c, i) => {
        if (flushPending.has(c)) return;
        for (const e of vals[2 + i] as readonly TlbEntry[]) {
          if (e.table === table && e.gen === pg.gen) stale.push({ cpu: c, level: e.level, path: e.path });
        }
      });
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

/**
 * Allocate a page from the free list (the most recently freed first, as the per-CPU free lists
 * behave) for `owner`, as a page table of `level` or as a data page (`level` null). Returns the
 * page and its new generation, or null when no page is free. This is how a freed page-table page
 * gets reused. Two steps: take the page off the free list, then initialise its struct page.
 */
export function* alloc_page(cur: Ctx, caller: string, owner: string, level: Level | null): Proc<{ page: string; gen: number } | null> {
  const page = yield* access<string | null>({
    fn: caller,
    desc: level ? `pagetable_alloc() for ${owner}` : `alloc_page() for ${owner}`,
    cost: { cls: 'page_alloc' },
    reads: [freeListLoc],
    writes: [freeListLoc],
    effect: ([list]) => {
      const l = list as readonly string[];
      if (l.length === 0) return { result: null, note: 'no free page' };
      return { writes: [[freeListLoc, l.slice(1)]], result: l[0] as string, note: `got ${l[0]}` };
    },
  });
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
