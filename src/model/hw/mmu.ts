/**
 * The CPU's MMU: a hardware page walker with a TLB and a paging-structure (walk) cache.
 *
 * A walk may happen at any time on a CPU that has an mm loaded, lazily or not (speculation,
 * prefetch), regardless of its interrupt flag. It starts from the deepest cached non-leaf entry
 * for the address (or from the PGD in CR3/TTBR0), reads one level per step, and caches what it
 * reads: a pointer to a lower table in the walk cache, a leaf in the TLB. Only an invalidation
 * that covers them removes cached entries (flush_tlb_func(), INVLPGB, TLBI, a switch to another
 * mm). A walk whose cached starting point was invalidated while it was in flight is abandoned
 * (invalidation completes in-flight walks; a later walk starts afresh); each step re-checks it.
 *
 * What a stale walk-cache entry means is checked where it matters, when the page is freed
 * (no-stale-walk-cache); the walker's reads are reported as `walk_read` events for traces.
 */
import { access, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { describeEntry, pgdTable } from '../include/linux/pgtable.js';
import { cpuLoc, pageLoc, ptLoc, type Level, type PageState, type PtEntry, type TlbEntry } from '../state.js';

interface Cursor {
  readonly mm: string;
  readonly table: string;
  readonly gen: number;
  readonly level: Level;
  /** The cached entry the cursor came from (null when it came from CR3). */
  readonly via: TlbEntry | null;
}

const NEXT: { readonly [L in Level]: Level | null } = { pgd: 'pud', pud: 'pmd', pmd: 'pte', pte: null };

function indexAt(level: Level, slot: number, pte: number): number {
  return level === 'pmd' ? slot : level === 'pte' ? pte : 0;
}

function pathAt(level: Level, slot: number, pte: number): string {
  return level === 'pmd' ? `${slot}` : level === 'pte' ? `${slot}.${pte}` : '0';
}

function sameEntry(a: TlbEntry, b: TlbEntry): boolean {
  return a.mm === b.mm && a.level === b.level && a.path === b.path && a.table === b.table && a.gen === b.gen && a.pfn === b.pfn;
}

/** Deepest cached non-leaf entry usable for (slot, pte) in `mm`. */
function startCursor(mm: string, entries: readonly TlbEntry[], slot: number, pte: number): Cursor {
  for (const level of ['pmd', 'pud', 'pgd'] as const) {
    const e = entries.find((x) => x.mm === mm && x.level === level && x.table !== null && x.path === pathAt(level, slot, pte));
    if (e) return { mm, table: e.table as string, gen: e.gen as number, level: NEXT[level] as Level, via: e };
  }
  return { mm, table: pgdTable(mm), gen: 1, level: 'pgd', via: null };
}

/** One hardware walk of address (slot, pte) on CPU `cpu`. */
export function* hw_page_walk(cur: Ctx, slot: number, pte: number): Proc<void> {
  const c = cur.cpu;
  let cursor = yield* access<Cursor | null>({
    fn: 'hw_page_walk',
    desc: `CPU${c} MMU walks slot ${slot} pte ${pte}`,
    reads: [cpuLoc.loaded_mm(c), cpuLoc.tlb(c)],
    effect: ([mm, tlb]) => {
      if (mm === 'init_mm' || mm === null) return { result: null, note: 'no user mm loaded' };
      const cur0 = startCursor(mm as string, tlb as readonly TlbEntry[], slot, pte);
      return { result: cur0, note: cur0.via ? `walk-cache hit: ${cur0.level} table ${cur0.table}` : `from CR3: ${cur0.table}` };
    },
  });
  while (cursor) {
    const k: Cursor = cursor;
    const index = indexAt(k.level, slot, pte);
    cursor = yield* access<Cursor | null>({
      fn: 'hw_page_walk',
      desc: `MMU reads ${k.level}[${index}] of ${k.table}`,
      cost: { cls: 'hw_walk_step' },
      reads: [cpuLoc.loaded_mm(c), cpuLoc.tlb(c), ptLoc(k.table, index), pageLoc(k.table)],
      writes: [cpuLoc.tlb(c)],
      effect: ([mm, tlb, e, pg]) => {
        const entries = tlb as readonly TlbEntry[];
        if (mm !== k.mm || (k.via && !entries.some((x) => sameEntry(x, k.via as TlbEntry)))) {
          return { result: null, note: 'walk aborted: its cached entry was invalidated' };
        }
        const entry = e as PtEntry;
        const page = pg as PageState;
        const events = [{
          type: 'walk_read', walker: 'hw', cpu: c, fn: 'hw_page_walk', mm: k.mm, table: k.table, level: k.level, index,
          expect_gen: k.gen, state: page.state, gen: page.gen, owner: page.owner, entry: entry as Value,
        }];
        // pmd_mkinvalid() (a huge PMD being split): not present to the hardware either.
        if (entry === null || ('pfn' in entry && entry.invalid === true)) return { result: null, events, note: 'not present: walk ends (fault)' };
        // A migration entry (issue #11): not valid to the MMU (arm64 PMD_PRESENT_INVALID is a
        // software bit; the valid bit stays clear).
        if ('migration' in entry) return { result: null, events, note: 'migration entry: not valid, walk ends (fault)' };
        const path = pathAt(k.level, slot, pte);
        if ('pfn' in entry) {
          const leaf: TlbEntry = { mm: k.mm, level: k.level, path, table: null, gen: null, pfn: entry.pfn };
          const rest = entries.filter((x) => !(x.mm === k.mm && x.level === k.level && x.path === path));
          return { writes: [[cpuLoc.tlb(c), [...rest, leaf] as unknown as Value]], result: null, events, note: `TLB fill: ${entry.pfn}` };
        }
        const cached: TlbEntry = { mm: k.mm, level: k.level, path, table: entry.table, gen: entry.gen, pfn: null };
        const rest = entries.filter((x) => !(x.mm === k.mm && x.level === k.level && x.path === path));
        const next = NEXT[k.level];
        return {
          writes: [[cpuLoc.tlb(c), [...rest, cached] as unknown as Value]],
          result: next ? { mm: k.mm, table: entry.table, gen: entry.gen, level: next, via: cached } : null,
          events,
          note: `walk-cache fill ${describeEntry(entry)}`,
        };
      },
    });
  }
}
