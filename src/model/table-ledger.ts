/**
 * What an execution did to page-table pages, read off its steps, for the traces (text and
 * Perfetto) of both engines: which page is which table, when each table page was allocated and
 * freed, how many tables were unhooked and not yet freed, and which walker reads were stale.
 *
 * Names. Boot builds each mm's tables under the names of include/linux/pgtable.ts (`A.pmd`,
 * `A.pte0`); a table allocated later is a page the allocator hands out fresh, `pfn<n>`
 * (mm/page_alloc.ts freshPage). The checker's scenarios mostly free boot tables, the simulator's
 * loops free tables they allocated themselves, so the same table read `A.pte0` in one trace and
 * `pfn87` in the other. A fresh page is named here, for the life it starts at its allocation, by
 * the table it becomes when linked (`pmd_populate()` of A's slot 0 links an `A.pte0`), with the
 * page it is: `A.pte0@pfn87`. Boot pages keep their names.
 *
 * Everything comes from the model's own records: `page_alloc`, `pt_unhook`, `pt_free` and
 * `walk_read` events, and the writes of table entries (`pt.<table>.<index>`).
 */
import type { StepRecord } from '../core/trace.js';
import { pmdTable, pteTable, pudTable } from './include/linux/pgtable.js';

/** One life of a table page: from its allocation (or the trace's start) to its free. */
export interface TableLife {
  readonly page: string;
  readonly gen: number;
  readonly owner: string | null;
  readonly level: string | null;
  /** The table it was linked as (`A.pte0`), or null before it is linked (or if it never is). */
  role: string | null;
  /** Step index of its allocation, or null when it was allocated before the recorded steps. */
  readonly allocStep: number | null;
  readonly allocFn: string | null;
  freeStep: number | null;
  freeFn: string | null;
}

/** A lockless walker's read of a table page that was freed, or reused, since it entered it. */
export interface StaleRead {
  readonly step: number;
  readonly page: string;
  readonly expectGen: number;
  /** What the page was at the read: 'free', or 'pgtable'/'data' of a later generation. */
  readonly state: string;
  /** The step that freed the life the walker entered, when it is known. */
  readonly freeStep: number | null;
}

const FRESH = /^pfn\d+$/;
const PT_LOC = /^pt\.(.+)\.(\d+)$/;
/** Lives kept per page: enough for a window of steps, bounded over a long simulation. */
const LIVES_PER_PAGE = 8;

export class TableLedger {
  private readonly lives = new Map<string, TableLife[]>();
  /** Tables unhooked from their parent and not yet freed (mmu_gather batches, RCU callbacks). */
  pending = 0;

  /** The lives that began or ended in the steps observed, in order of their first step. */
  readonly seen: TableLife[] = [];
  readonly staleReads: StaleRead[] = [];
  /** Every change of `pending`: [step, count after it]. */
  readonly pendingAt: Array<readonly [number, number]> = [];
  private keep: (step: number) => boolean;

  /** `keep(step)`: whether to list what happens at that step in `seen`, `staleReads`, `pendingAt`. */
  constructor(keep: (step: number) => boolean = () => true) {
    this.keep = keep;
  }

  /** Read one step (in order); `keep` overrides the constructor's choice of listing its facts. */
  observe(rec: StepRecord, keep = this.keep(rec.index)): void {
    for (const ev of rec.events) {
      switch (ev.type) {
        case 'page_alloc': {
          const page = String(ev.page);
          const life: TableLife = {
            page,
            gen: Number(ev.gen),
            owner: typeof ev.owner === 'string' ? ev.owner : null,
            level: typeof ev.level === 'string' ? ev.level : null,
            role: null,
            allocStep: rec.index,
            allocFn: String(ev.fn),
            freeStep: null,
            freeFn: null,
          };
          const list = this.lives.get(page) ?? [];
          list.push(life);
          if (list.length > LIVES_PER_PAGE) list.shift();
          this.lives.set(page, list);
          if (keep && life.level !== null) this.seen.push(life);
          break;
        }
        case 'pt_unhook':
          this.pending++;
          if (keep) this.pendingAt.push([rec.index, this.pending]);
          break;
        case 'pt_free': {
          this.pending = Math.max(0, this.pending - 1);
          if (keep) this.pendingAt.push([rec.index, this.pending]);
          const page = String(ev.table);
          let life = this.lifeOf(page, Number(ev.gen));
          if (!life) {
            // Allocated before the recorded steps (a boot table, or before a simulator's window).
            life = { page, gen: Number(ev.gen), owner: typeof ev.owner === 'string' ? ev.owner : null, level: typeof ev.level === 'string' ? ev.level : null, role: FRESH.test(page) ? null : page, allocStep: null, allocFn: null, freeStep: null, freeFn: null };
            const list = this.lives.get(page) ?? [];
            list.unshift(life);
            this.lives.set(page, list);
          }
          life.freeStep = rec.index;
          life.freeFn = String(ev.fn);
          if (keep && !this.seen.includes(life)) this.seen.push(life);
          break;
        }
        case 'walk_read': {
          if (ev.walker === 'hw' || !keep) break;
          const stale = ev.state !== 'pgtable' || ev.gen !== ev.expect_gen;
          if (!stale) break;
          const page = String(ev.table);
          const entered = this.lifeOf(page, Number(ev.expect_gen));
          this.staleReads.push({ step: rec.index, page, expectGen: Number(ev.expect_gen), state: String(ev.state), freeStep: entered?.freeStep ?? null });
          break;
        }
      }
    }
    // Linking a table names it: pmd_populate() of A's slot 3 makes the page A.pte3.
    for (const [loc, v] of rec.writes) {
      if (v === null || typeof v !== 'object' || !('table' in v)) continue;
      const m = PT_LOC.exec(loc);
      if (!m) continue;
      const page = String((v as { table: unknown }).table);
      const life = this.lifeOf(page, Number((v as { gen: unknown }).gen));
      if (life && life.role === null && life.owner !== null) life.role = roleOf(life.owner, life.level, Number(m[2]));
    }
  }

  /**
   * Drop the listed facts of the steps in [from, to) (a long run's steps that no trace will
   * draw); the pending count at `to` stays known. A life is dropped when no step of it is kept.
   */
  forget(from: number, to: number): void {
    if (to <= from) return;
    const gone = (step: number | null): boolean => step === null || (step >= from && step < to);
    const last = this.pendingAt.findLast(([s]) => s < to);
    const early = this.pendingAt.filter(([s]) => s < from);
    const late = this.pendingAt.filter(([s]) => s >= to);
    this.pendingAt.length = 0;
    this.pendingAt.push(...early);
    // The count as the dropped steps left it, so that the kept steps after them read it right.
    if (last && last[0] >= from) this.pendingAt.push([to - 1, last[1]]);
    this.pendingAt.push(...late);
    const seen = this.seen.filter((l) => !(gone(l.allocStep) && gone(l.freeStep)) || (l.allocStep === null && l.freeStep === null));
    this.seen.length = 0;
    this.seen.push(...seen);
    const reads = this.staleReads.filter((r) => !gone(r.step));
    this.staleReads.length = 0;
    this.staleReads.push(...reads);
  }

  /** The life of `page` at generation `gen`, if recorded. */
  lifeOf(page: string, gen: number): TableLife | undefined {
    const list = this.lives.get(page);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if ((list[i] as TableLife).gen === gen) return list[i];
    return undefined;
  }

  /** The name of `page` at step `step`: `A.pte0@pfn87` for a fresh page linked as A.pte0. */
  nameAt(page: string, step: number): string {
    if (!FRESH.test(page)) return page;
    const list = this.lives.get(page);
    if (!list) return page;
    for (let i = list.length - 1; i >= 0; i--) {
      const life = list[i] as TableLife;
      if (life.allocStep === null || life.allocStep <= step) return life.role !== null ? `${life.role}@${page}` : page;
    }
    return page;
  }

  /** The display name of a life (its role and page, or its page). */
  static nameOf(life: TableLife): string {
    if (!FRESH.test(life.page)) return life.page;
    return life.role !== null ? `${life.role}@${life.page}` : life.page;
  }

  /** `text` (a step's description or note) with every fresh page named as at step `step`. */
  rename(text: string, step: number): string {
    return text.includes('pfn') ? text.replace(/\bpfn\d+\b/g, (page) => this.nameAt(page, step)) : text;
  }

  /** A ledger of a whole execution (the checker's, from boot). */
  static of(trace: readonly StepRecord[]): TableLedger {
    const l = new TableLedger();
    for (const r of trace) l.observe(r);
    return l;
  }
}

/** The table a page of `level` owned by `owner` becomes when linked at entry `index` of its parent. */
function roleOf(owner: string, level: string | null, index: number): string | null {
  switch (level) {
    case 'pte':
      return pteTable(owner, index);
    case 'pmd':
      return pmdTable(owner);
    case 'pud':
      return pudTable(owner);
    default:
      return null;
  }
}
