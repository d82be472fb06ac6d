/**
 * Stateless exploration of every interleaving of a program, with source-set dynamic partial-order
 * reduction and sleep sets.
 *
 * The story. JS generators cannot be cloned, so like loom and shuttle we never copy a state: to
 * try another branch at depth d we roll the execution back to its first d steps (Execution.rollback
 * undoes the store writes and re-runs only the generators of the threads that moved since). Along
 * the current execution we keep one node per step: which threads were enabled, which we still have
 * to try there (the backtrack set), which we already tried (done), and which are asleep. After
 * each executed step we look back for races: an earlier step of another thread that touched a
 * location this step also touched, at least one of them writing, and that is not already ordered
 * before this step through other steps. For each race we make sure that the node just before the
 * earlier step will also try a thread that can start the reversed order (an "initial" of the
 * events that do not depend on the earlier step, followed by this step): source-DPOR, Abdulla,
 * Aronis, Jonsson and Sagonas, POPL 2014, Algorithm 1. Sleep sets (Godefroid) stop us from
 * re-exploring an order we already covered at the same node.
 *
 * Blocking. A step whose guard is false is simply not enabled. Its guard's locations, and the
 * machine's own conditions (interrupt flag, CPU context, vCPU stopped), are part of its footprint,
 * so whatever enables a step conflicts with it. A race whose later step was enabled only by the
 * earlier one is therefore not reversible, and adds nothing. A state where no thread can step and
 * some have not finished is a deadlock.
 *
 * Choices. A `choose` step is branched on at its node: every option is a separate child.
 *
 * Without reduction (`reduction: 'none'`), every enabled thread is tried at every node: the
 * baseline the benchmarks and the tests compare against.
 */
import { Execution, type Pending, type Program } from '../../core/execution.js';
import type { Op } from '../../core/op.js';
import type { ScheduleStep } from '../../core/schedule.js';
import type { StepRecord } from '../../core/trace.js';
import { Results, type ExploreResult, type ExploreStats } from './results.js';

export type { Counterexample, ExploreResult, ExploreStats } from './results.js';

/**
 * Locations a step reads and writes. Footprints are small: arrays beat sets here. A step with a
 * commutativity tag (AccessOp.commutes) also lists the locations it commutes on.
 */
export interface Footprint {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly commutes?: { readonly tag: string; readonly locs: readonly string[] };
}

export function footprintOf(p: { readonly reads: readonly string[]; readonly writes: readonly string[]; readonly op?: Op }): Footprint {
  const op = p.op;
  return { reads: p.reads, writes: p.writes, commutes: op?.kind === 'access' && op.commutes !== undefined ? { tag: op.commutes, locs: op.writes } : undefined };
}

/** An executed step's footprint: what it read, and what it actually wrote. */
function recordFootprint(r: StepRecord): Footprint {
  const writes = r.writes.length === 0 ? [] : r.writes.map(([l]) => l);
  return { reads: r.reads, writes, commutes: r.commutes };
}

/** Do `a` and `b` commute on location `loc` (same tag, both covering it)? */
function commuteOn(a: Footprint, b: Footprint, loc: string): boolean {
  return a.commutes !== undefined && b.commutes !== undefined && a.commutes.tag === b.commutes.tag && a.commutes.locs.includes(loc) && b.commutes.locs.includes(loc);
}

/**
 * Two steps of different threads conflict if one writes a location the other reads or writes,
 * unless the two commute on it.
 */
export function conflicts(a: Footprint, b: Footprint): boolean {
  for (const w of a.writes) if ((b.writes.includes(w) || b.reads.includes(w)) && !commuteOn(a, b, w)) return true;
  for (const w of b.writes) if (a.reads.includes(w) && !commuteOn(a, b, w)) return true;
  return false;
}

export interface ExploreOptions {
  readonly reduction: 'dpor' | 'none';
  /**
   * Preemption bound (Musuvathi and Qadeer, "Iterative context bounding", PLDI 2007): explore
   * only schedules that switch away from a thread that could have continued at most this many
   * times. Implies reduction 'none' (bounding and DPOR do not compose soundly without more work).
   */
  readonly preemptionBound?: number;
  /** Stop after this many executions (the result then says the exploration was not exhaustive). */
  readonly maxExecutions?: number;
  /** Stop as soon as every property has been violated once (or at the first deadlock if none). */
  readonly stopWhenAllViolated?: boolean;
  /** Called after every execution (progress reporting). */
  readonly onExecution?: (stats: ExploreStats) => void;
  /** Called with every execution that reached a final state (tests count traces with it). */
  readonly onComplete?: (exec: Execution) => void;
}

interface Node {
  /** Threads enabled at this node. */
  readonly enabled: readonly number[];
  /** Pending footprints of threads at this node, computed when a sleep set needs them. */
  pending: Map<number, Footprint> | null;
  /** Small sets of thread ids, as arrays (a node has a handful of threads). */
  readonly backtrack: number[];
  readonly done: number[];
  readonly sleep: ReadonlySet<number>;
  /** The step taken from this node (on the current path). */
  taken: ScheduleStep | null;
  /** Remaining options of a choose step taken here, and its thread. */
  choicesLeft: number[];
  choiceThread?: number;
  /** Preemptions on the path to this node, and the thread that ran the step into it. */
  readonly preemptions: number;
  readonly last: number | null;
}

interface Event {
  readonly thread: number;
  readonly fp: Footprint;
  /** Vector clock: for each thread, the number of its events that happen before or are this one. */
  readonly vc: number[];
  /** This event's position in its thread (1-based). */
  readonly seq: number;
  /** The thread's clock before this event (restored when the event is dropped). */
  readonly prevClock: number[] | undefined;
  /** Locations logged for this event (its writes, then the reads it did not write). */
  readonly logged: ReadonlyArray<number[]>;
}

function join(a: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) if ((b[i] as number) > (a[i] ?? 0)) a[i] = b[i] as number;
}

/** Does event `e` happen before (or equal) the point whose clock is `vc`? */
function hb(e: Event, vc: readonly number[]): boolean {
  return (vc[e.thread] ?? 0) >= e.seq;
}

/**
 * The events of the current path, kept across backtracking (a prefix of the path does not change
 * when we replay it), with per-location access logs so that race detection looks only at the
 * last write of each location and the reads since: any earlier access is ordered before those.
 */
class EventLog {
  readonly events: Event[] = [];
  /** Per location: the events that accessed it, as 2*index + (1 if it wrote). */
  private readonly byLoc = new Map<string, number[]>();
  /**
   * Per location: the events that wrote it (as above, all odd). A read scans only these: a
   * location such as a CPU's context slot is read at every step of its task and written rarely.
   */
  private readonly writesByLoc = new Map<string, number[]>();
  /** Per thread: the clock of its last event on the path (or of the spawn that created it). */
  private readonly clock: Array<number[] | undefined> = [];
  /** Spawns on the path, in order: the event index and the child thread. */
  private readonly spawns: Array<{ readonly at: number; readonly child: number }> = [];
  /** Candidates of the event being pushed (reused). */
  private readonly cand: number[] = [];

  get length(): number {
    return this.events.length;
  }

  private logOf(map: Map<string, number[]>, loc: string): number[] {
    let l = map.get(loc);
    if (!l) map.set(loc, (l = []));
    return l;
  }

  /**
   * Collect the race candidates of an access to `loc` (`writing`: the new event writes it) from
   * the location's log (for a read, its writes only): the last write, and the reads since if the
   * access writes. Commuting writes (a run of same-tag updates) are not ordered among themselves,
   * so the scan goes past them: a plain access collects the whole run and the write before it; an
   * update skips the updates it commutes with and collects what it does not.
   */
  private scan(log: readonly number[], fp: Footprint, loc: string, writing: boolean): void {
    const cand = this.cand;
    let run: string | undefined;
    for (let k = log.length - 1; k >= 0; k--) {
      const a = log[k] as number;
      const wrote = (a & 1) === 1;
      const other = (this.events[a >> 1] as Event).fp;
      const tag = wrote && other.commutes !== undefined && other.commutes.locs.includes(loc) ? other.commutes.tag : undefined;
      if (tag !== undefined && commuteOn(fp, other, loc)) continue;
      // A read conflicts only with writes; a write with the reads since the last write too.
      if ((wrote || writing) && !cand.includes(a >> 1)) cand.push(a >> 1);
      if (!wrote) continue;
      if (tag === undefined || (run !== undefined && run !== tag)) break;
      run = tag;
    }
  }

  /** Append the event of step `rec`; `races` receives the indices of the events it races with. */
  push(rec: StepRecord, races: number[]): Event {
    const t = rec.thread;
    const fp = recordFootprint(rec);
    const prevClock = this.clock[t];
    const vc = prevClock ? prevClock.slice() : [];
    const seq = (vc[t] ?? 0) + 1;
    const cand = this.cand;
    cand.length = 0;
    // The logs this event goes into: the full log and the write log of each location it writes,
    // then the full log of each location it only reads.
    const logged: number[][] = [];
    for (const l of fp.writes) {
      const log = this.logOf(this.byLoc, l);
      this.scan(log, fp, l, true);
      logged.push(log, this.logOf(this.writesByLoc, l));
    }
    const nw = logged.length;
    for (const l of fp.reads) {
      if (fp.writes.includes(l)) continue;
      const w = this.writesByLoc.get(l);
      if (w) this.scan(w, fp, l, false);
      logged.push(this.logOf(this.byLoc, l));
    }
    races.length = 0;
    // Latest first (an insertion sort: the list is short, and Array.prototype.sort with a
    // comparator costs more than the whole scan here).
    for (let i = 1; i < cand.length; i++) {
      const x = cand[i] as number;
      let j = i - 1;
      while (j >= 0 && (cand[j] as number) < x) {
        cand[j + 1] = cand[j] as number;
        j--;
      }
      cand[j + 1] = x;
    }
    for (const i of cand) {
      const e = this.events[i] as Event;
      if (e.thread === t) continue;
      if (!hb(e, vc)) races.push(i);
      join(vc, e.vc);
    }
    vc[t] = seq;
    const idx = this.events.length;
    const ev: Event = { thread: t, fp, vc, seq, prevClock, logged };
    this.events.push(ev);
    this.clock[t] = vc;
    if (rec.spawned !== undefined) {
      this.spawns.push({ at: idx, child: rec.spawned });
      this.clock[rec.spawned] = vc.slice();
    }
    for (let k = 0; k < logged.length; k++) (logged[k] as number[]).push(idx * 2 + (k < nw ? 1 : 0));
    return ev;
  }

  /** Drop the events from index `n` on (backtracking to depth n). */
  truncate(n: number): void {
    while (this.events.length > n) {
      const e = this.events.pop() as Event;
      for (const l of e.logged) l.pop();
      this.clock[e.thread] = e.prevClock;
    }
    while (this.spawns.length > 0 && (this.spawns[this.spawns.length - 1] as { at: number }).at >= n) {
      this.clock[(this.spawns.pop() as { child: number }).child] = undefined;
    }
  }
}

function addTo(set: number[], x: number): void {
  if (!set.includes(x)) set.push(x);
}

/** The empty sleep set and choice list most nodes have (never mutated). */
const NO_SLEEPERS: ReadonlySet<number> = new Set();
const NO_CHOICES: number[] = [];

export class Explorer {
  private readonly program: Program;
  private readonly opts: ExploreOptions;
  private readonly results: Results;

  constructor(program: Program, opts: ExploreOptions) {
    this.program = program;
    this.opts = opts;
    this.results = new Results(program);
  }

  get stats(): ExploreStats {
    return this.results.stats;
  }

  run(): ExploreResult {
    const stack: Node[] = [];
    const exec = new Execution(this.program);
    const log = new EventLog();
    let exhaustive = true;
    const bound = this.opts.preemptionBound;
    const dpor = this.opts.reduction === 'dpor' && bound === undefined;
    const races: number[] = [];

    const newNode = (sleep: ReadonlySet<number>, parent: Node | null): Node => {
      const enabled = exec.enabled();
      let preemptions = 0;
      let last: number | null = null;
      if (parent && parent.taken) {
        last = parent.taken.thread;
        const switched = parent.last !== null && parent.last !== last && parent.enabled.includes(parent.last);
        preemptions = parent.preemptions + (switched ? 1 : 0);
      }
      const node: Node = { enabled, pending: null, backtrack: [], done: [], sleep, taken: null, choicesLeft: NO_CHOICES, preemptions, last };
      const awake = sleep.size === 0 ? enabled : enabled.filter((t) => !sleep.has(t));
      if (bound !== undefined) {
        // Every thread whose choice keeps the path within the bound.
        const lastEnabled = last !== null && enabled.includes(last);
        for (const t of awake) if (!lastEnabled || t === last || preemptions < bound) addTo(node.backtrack, t);
      } else if (!dpor) for (const t of awake) addTo(node.backtrack, t);
      else if (awake.length > 0) node.backtrack.push(awake[0] as number);
      return node;
    };
    const pendingAt = (node: Node, q: number): Footprint | null => {
      node.pending ??= new Map();
      let fp = node.pending.get(q);
      if (!fp) {
        if (exec.thread(q).phase === 'done') return null;
        fp = footprintOf(exec.pending(q));
        node.pending.set(q, fp);
      }
      return fp;
    };

    stack.push(newNode(NO_SLEEPERS, null));
    for (;;) {
      // Extend the current execution until it ends.
      for (;;) {
        const node = stack[stack.length - 1] as Node;
        const next = this.pickNext(node, exec);
        if (next === null) break;
        node.taken = next;
        // Sleep set of the child: threads asleep or done here whose next step commutes with this one.
        const sleepers: Array<[number, Footprint]> = [];
        if (dpor && (node.sleep.size > 0 || node.done.length > 0)) {
          for (const q of node.sleep) if (q !== next.thread) { const fp = pendingAt(node, q); if (fp) sleepers.push([q, fp]); }
          for (const q of node.done) if (q !== next.thread && !node.sleep.has(q)) { const fp = pendingAt(node, q); if (fp) sleepers.push([q, fp]); }
        }
        const rec = exec.step(next.thread, next.choice);
        this.results.stats.steps++;
        const ev = log.push(rec, races);
        if (dpor) for (const i of races) this.addBacktrack(i, ev, log.events, stack);
        let childSleep: ReadonlySet<number> = NO_SLEEPERS;
        for (const [q, fp] of sleepers) {
          if (conflicts(fp, ev.fp)) continue;
          if (childSleep === NO_SLEEPERS) childSleep = new Set<number>();
          (childSleep as Set<number>).add(q);
        }
        stack.push(newNode(childSleep, node));
      }
      this.finishExecution(exec, stack);
      if (this.opts.maxExecutions !== undefined && this.stats.executions >= this.opts.maxExecutions) {
        exhaustive = false;
        break;
      }
      if (this.opts.stopWhenAllViolated && this.results.allViolated()) {
        exhaustive = false;
        break;
      }
      // Backtrack: the deepest node with something left to try.
      let depth = stack.length - 1;
      while (depth >= 0) {
        const n = stack[depth] as Node;
        if (n.choicesLeft.length > 0) break;
        if (n.taken) {
          addTo(n.done, n.taken.thread);
          n.taken = null;
        }
        let more = false;
        for (const t of n.backtrack) if (!n.done.includes(t) && !n.sleep.has(t)) more = true;
        if (more) break;
        depth--;
      }
      if (depth < 0) break;
      stack.length = depth + 1;
      // Roll the execution back to that node; the events of the prefix are unchanged.
      exec.rollback(depth);
      log.truncate(depth);
    }
    return this.results.result(exhaustive);
  }

  /** The step to take from `node`, or null when the execution has ended (or is sleep-blocked). */
  private pickNext(node: Node, exec: Execution): ScheduleStep | null {
    if (node.enabled.length === 0) return null;
    if (node.choicesLeft.length > 0) {
      // The other options of the choose step taken here come before any other thread.
      return { thread: node.choiceThread as number, choice: node.choicesLeft.shift() as number };
    }
    let t: number | undefined;
    for (const q of node.backtrack) if (!node.done.includes(q) && !node.sleep.has(q) && (t === undefined || q < t)) t = q;
    if (t === undefined) return null;
    const p: Pending = exec.pending(t);
    if (p.kind === 'choose') {
      const n = p.options?.length ?? 1;
      node.choicesLeft = Array.from({ length: n - 1 }, (_, i) => i + 1);
      node.choiceThread = t;
      return { thread: t, choice: 0 };
    }
    return { thread: t };
  }

  /** Race between events[i] and the new event `e`: make the node before events[i] try a reversal. */
  private addBacktrack(i: number, e: Event, events: Event[], stack: Node[]): void {
    const node = stack[i] as Node;
    const ePrime = events[i] as Event;
    // v = notdep(e', E).p: later events not causally after e', then e.
    const v: Event[] = [];
    for (let j = i + 1; j < events.length; j++) {
      const x = events[j] as Event;
      if (!hb(ePrime, x.vc)) v.push(x);
    }
    v.push(e);
    const initials = new Set<number>();
    for (let a = 0; a < v.length; a++) {
      const x = v[a] as Event;
      let initial = true;
      for (let b = 0; b < a; b++) {
        const y = v[b] as Event;
        if (hb(y, x.vc)) {
          initial = false;
          break;
        }
      }
      if (initial) initials.add(x.thread);
    }
    // Already covered: an initial is scheduled here, was explored here, or is asleep here.
    for (const q of initials) if (node.backtrack.includes(q) || node.done.includes(q) || node.sleep.has(q)) return;
    // An initial that is not enabled at E' can only have been enabled by e' itself (anything else
    // that enables it conflicts with it, hence happens before it, and would make it non-initial):
    // the race is not reversible, and there is nothing to add.
    const candidates = [...initials].filter((q) => node.enabled.includes(q));
    if (candidates.length > 0) addTo(node.backtrack, candidates.includes(e.thread) ? e.thread : (candidates[0] as number));
  }

  private finishExecution(exec: Execution, stack: Node[]): void {
    const ended = (stack[stack.length - 1] as Node).enabled.length === 0;
    this.results.record(exec, () => stack.slice(0, -1).map((n) => n.taken as ScheduleStep), ended);
    if (ended) this.opts.onComplete?.(exec);
    this.opts.onExecution?.(this.results.stats);
  }
}
