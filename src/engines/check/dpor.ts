/**
 * Stateless exploration of every interleaving of a program, with dynamic partial-order reduction
 * and sleep sets: optimal DPOR with wakeup trees (the default), source-set DPOR, or none.
 *
 * The story. JS generators cannot be cloned, so like loom and shuttle we never copy a state: to
 * try another branch at depth d we roll the execution back to its first d steps (Execution.rollback
 * undoes the store writes and puts the threads that moved since back at their ops; a thread that
 * retakes its undone steps on equal values replays them, and its generator is re-run only at the
 * first step that differs). Along the current execution we keep one node per step: which threads were enabled, what we still have
 * to try there, which threads we already tried (done), and which are asleep. Each executed step is
 * checked for races: an earlier step of another thread that touched a location this step also
 * touched, at least one of them writing, and that is not already ordered before this step through
 * other steps. Each race must be reversed: the node just before the earlier step must also explore
 * an execution where the later step comes first, i.e. one that starts with the events that do not
 * depend on the earlier step (notdep), followed by the later step.
 *
 *  - Optimal DPOR (reduction 'dpor'; Abdulla, Aronis, Jonsson and Sagonas, JACM 2017, Algorithm
 *    2): at the end of each execution, each race of a new step adds that whole sequence to the
 *    node's wakeup tree (wakeup.ts), unless a thread asleep or done there already covers it; the
 *    exploration follows the trees, so no execution ends sleep-set blocked and every Mazurkiewicz
 *    trace is explored exactly once.
 *  - Source-set DPOR (reduction 'source-dpor'; POPL 2014, Algorithm 1): each race adds one
 *    initial of that sequence to the node's backtrack set; cheaper bookkeeping, but an execution
 *    may end with every enabled thread asleep (counted as sleep-blocked: redundant work).
 * Sleep sets (Godefroid): a thread explored at a node sleeps in the later branches there until a
 * step that conflicts with its next step wakes it.
 *
 * Blocking. A step whose guard is false is simply not enabled. Its guard's locations, and the
 * machine's own conditions (interrupt flag, CPU context, vCPU stopped), are part of its footprint,
 * so whatever enables a step conflicts with it. A race whose later step was enabled only by the
 * earlier one is therefore not reversible, and adds nothing (a wakeup sequence that turns out not
 * to be executable is dropped when the exploration reaches it). A state where no thread can step
 * and some have not finished is a deadlock.
 *
 * Choices. A `choose` step is branched on at its node: every option is a separate child.
 *
 * Without reduction (`reduction: 'none'`), every enabled thread is tried at every node: the
 * baseline the benchmarks and the tests compare against.
 */
import { Execution, type Pending, type Phase, type Program } from '../../core/execution.js';
import type { Op } from '../../core/op.js';
import type { Loc, Value } from '../../core/value.js';
import type { Reduction } from './index.js';
import type { ScheduleStep } from '../../core/schedule.js';
import type { StepRecord } from '../../core/trace.js';
import { commuteOn, conflicts, footprintOf, recordFootprint, type Footprint } from './footprint.js';
import { Results, type ExploreResult, type ExploreStats } from './results.js';
import { hb, insert, isInitial, weakInitial, type WakeupBranch } from './wakeup.js';

export type { Counterexample, ExploreResult, ExploreStats } from './results.js';

export interface ExploreOptions {
  /** 'dpor': optimal DPOR (wakeup trees); 'source-dpor': source-set DPOR; 'none': every interleaving. */
  readonly reduction: Reduction;
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
  /** Source-set DPOR and no reduction: the threads to try here (small sets, as arrays). */
  readonly backtrack: number[];
  /** Threads fully explored here. */
  readonly done: number[];
  /** Threads asleep here, with the footprint of their next step. */
  readonly sleep: ReadonlyMap<number, Footprint>;
  /** Optimal DPOR: the wakeup tree; its leftmost branch is the one explored (or to explore). */
  wut: WakeupBranch[];
  /** Optimal DPOR: the node has taken a step (an empty tree then means nothing is left). */
  visited: boolean;
  /** Optimal DPOR: options of choose steps explored here, by thread, until the thread is done. */
  choicesDone: Map<number, number[]> | null;
  /** The step taken from this node (on the current path). */
  taken: ScheduleStep | null;
  /** Source-set DPOR and no reduction: remaining options of a choose step taken here, and its thread. */
  choicesLeft: number[];
  choiceThread?: number;
  /** Preemptions on the path to this node, and the thread that ran the step into it. */
  readonly preemptions: number;
  readonly last: number | null;
}

interface Event {
  readonly thread: number;
  /** The thread's phase and op when it took this step (to ask whether it could have run elsewhere). */
  readonly phase: Phase;
  readonly op: Op | null;
  /** What the step wrote, with the values. */
  readonly writes: StepRecord['writes'];
  /** For a `choose` step, the option taken. */
  readonly choice: number | undefined;
  readonly fp: Footprint;
  /** Vector clock: for each thread, the number of its events that happen before or are this one. */
  readonly vc: number[];
  /** This event's position in its thread (1-based). */
  readonly seq: number;
  /** The thread's clock before this event (restored when the event is dropped). */
  readonly prevClock: number[] | undefined;
  /** Locations logged for this event (its writes, then the reads it did not write). */
  readonly logged: ReadonlyArray<number[]>;
  /**
   * The earlier events it races with, or null (optimal DPOR reverses them when the execution
   * ends; source-set DPOR adds backtrack points at once).
   */
  readonly races: readonly number[] | null;
}

/** The value a step's writes left in `loc` (its last write there), or undefined. */
function writtenValue(writes: StepRecord['writes'], loc: Loc): Value | undefined {
  for (let x = writes.length - 1; x >= 0; x--) {
    const w = writes[x] as readonly [Loc, Value];
    if (w[0] === loc) return w[1];
  }
  return undefined;
}

function join(a: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) if ((b[i] as number) > (a[i] ?? 0)) a[i] = b[i] as number;
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

  /** Append the event of step `rec`, with the indices of the earlier events it races with. */
  push(rec: StepRecord, phase: Phase, op: Op | null): Event {
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
    // Latest first (an insertion sort: the list is short, and Array.prototype.sort with a
    // comparator costs more than the whole scan here).
    const nc = cand.length;
    for (let i = 1; i < nc; i++) {
      const x = cand[i] as number;
      let j = i - 1;
      while (j >= 0 && (cand[j] as number) < x) {
        cand[j + 1] = cand[j] as number;
        j--;
      }
      cand[j + 1] = x;
    }
    let races: number[] | null = null;
    for (let k = 0; k < nc; k++) {
      const i = cand[k] as number;
      const e = this.events[i] as Event;
      if (e.thread === t) continue;
      if (!hb(e, vc)) (races ??= []).push(i);
      join(vc, e.vc);
    }
    vc[t] = seq;
    const idx = this.events.length;
    const ev: Event = { thread: t, phase, op, writes: rec.writes, choice: rec.choice?.index, fp, vc, seq, prevClock, logged, races };
    this.events.push(ev);
    this.clock[t] = vc;
    if (rec.spawned !== undefined) {
      this.spawns.push({ at: idx, child: rec.spawned });
      this.clock[rec.spawned] = vc.slice();
    }
    for (let k = 0; k < logged.length; k++) (logged[k] as number[]).push(idx * 2 + (k < nw ? 1 : 0));
    return ev;
  }

  /** The value the last event before index `n` that wrote `loc` wrote there, or undefined. */
  valueBefore(loc: Loc, n: number): Value | undefined {
    const log = this.writesByLoc.get(loc);
    if (!log) return undefined;
    for (let k = log.length - 1; k >= 0; k--) {
      const idx = (log[k] as number) >> 1;
      if (idx >= n) continue;
      const v = writtenValue((this.events[idx] as Event).writes, loc);
      if (v !== undefined) return v;
    }
    return undefined;
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
const NO_SLEEPERS: ReadonlyMap<number, Footprint> = new Map();
const NO_CHOICES: number[] = [];

export class Explorer {
  private readonly program: Program;
  private readonly opts: ExploreOptions;
  private readonly results: Results;
  private readonly exec: Execution;

  constructor(program: Program, opts: ExploreOptions) {
    this.program = program;
    this.opts = opts;
    this.results = new Results(program);
    this.exec = new Execution(program);
  }

  get stats(): ExploreStats {
    return this.results.stats;
  }

  run(): ExploreResult {
    const stack: Node[] = [];
    const exec = this.exec;
    const log = new EventLog();
    let exhaustive = true;
    const bound = this.opts.preemptionBound;
    const mode = bound !== undefined ? 'none' : this.opts.reduction;
    const reducing = mode !== 'none';
    /** Index of the first event of the current execution that the previous one did not have. */
    let firstNew = 0;

    const newNode = (sleep: ReadonlyMap<number, Footprint>, parent: Node | null, wut: WakeupBranch[]): Node => {
      const enabled = exec.enabled();
      let preemptions = 0;
      let last: number | null = null;
      if (parent && parent.taken) {
        last = parent.taken.thread;
        const switched = parent.last !== null && parent.last !== last && parent.enabled.includes(parent.last);
        preemptions = parent.preemptions + (switched ? 1 : 0);
      }
      const node: Node = { enabled, pending: null, backtrack: [], done: [], sleep, wut, visited: false, choicesDone: null, taken: null, choicesLeft: NO_CHOICES, choiceThread: undefined, preemptions, last };
      if (mode === 'dpor') return node;
      const awake = sleep.size === 0 ? enabled : enabled.filter((t) => !sleep.has(t));
      if (bound !== undefined) {
        // Every thread whose choice keeps the path within the bound.
        const lastEnabled = last !== null && enabled.includes(last);
        for (const t of awake) if (!lastEnabled || t === last || preemptions < bound) addTo(node.backtrack, t);
      } else if (!reducing) for (const t of awake) addTo(node.backtrack, t);
      else if (awake.length > 0) node.backtrack.push(awake[0] as number);
      return node;
    };

    stack.push(newNode(NO_SLEEPERS, null, []));
    for (;;) {
      // Extend the current execution until it ends.
      for (;;) {
        const node = stack[stack.length - 1] as Node;
        const next = mode === 'dpor' ? this.pickFromTree(node) : this.pickNext(node);
        if (next === null) break;
        node.taken = next;
        // Sleep set of the child: threads asleep or done here whose next step commutes with this one.
        const sleepers: Array<[number, Footprint]> = [];
        if (reducing && (node.sleep.size > 0 || node.done.length > 0)) {
          for (const [q, fp] of node.sleep) if (q !== next.thread) sleepers.push([q, fp]);
          for (const q of node.done) {
            if (q === next.thread || node.sleep.has(q)) continue;
            const fp = this.pendingAt(node, q);
            if (fp) sleepers.push([q, fp]);
          }
        }
        const stepping = exec.thread(next.thread);
        const phase = stepping.phase;
        const op = stepping.op;
        const rec = exec.step(next.thread, next.choice);
        this.results.stats.steps++;
        const ev = log.push(rec, phase, op);
        if (mode === 'source-dpor' && ev.races !== null) for (const i of ev.races) this.addBacktrack(i, ev, log.events, stack);
        let childSleep: ReadonlyMap<number, Footprint> = NO_SLEEPERS;
        for (const [q, fp] of sleepers) {
          if (conflicts(fp, ev.fp)) continue;
          if (childSleep === NO_SLEEPERS) childSleep = new Map();
          (childSleep as Map<number, Footprint>).set(q, fp);
        }
        stack.push(newNode(childSleep, node, mode === 'dpor' ? (node.wut[0] as WakeupBranch).children : []));
      }
      if (mode === 'dpor') this.reverseRaces(log, stack, firstNew);
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
        if (mode === 'dpor') {
          if (n.taken) this.finishBranch(n);
          if (this.dropCovered(n)) break;
        } else {
          if (n.choicesLeft.length > 0) break;
          if (n.taken) {
            addTo(n.done, n.taken.thread);
            n.taken = null;
          }
          let more = false;
          for (const t of n.backtrack) if (!n.done.includes(t) && !n.sleep.has(t)) more = true;
          if (more) break;
        }
        depth--;
      }
      if (depth < 0) break;
      stack.length = depth + 1;
      // Roll the execution back to that node; the events of the prefix are unchanged.
      exec.rollback(depth);
      log.truncate(depth);
      firstNew = depth;
    }
    this.results.stats.replayed = exec.counters.replayed;
    this.results.stats.rerun = exec.counters.rerun;
    return this.results.result(exhaustive);
  }

  /** The footprint of thread `q`'s next step at `node`, which must be the current state. */
  private pendingAt(node: Node, q: number): Footprint | null {
    node.pending ??= new Map();
    let fp = node.pending.get(q);
    if (!fp) {
      if (this.exec.thread(q).phase === 'done') return null;
      fp = footprintOf(this.exec.pending(q));
      node.pending.set(q, fp);
    }
    return fp;
  }

  /** Source-set DPOR, no reduction: the step to take from `node`, or null when the execution has ended (or is sleep-blocked). */
  private pickNext(node: Node): ScheduleStep | null {
    if (node.enabled.length === 0) return null;
    if (node.choicesLeft.length > 0) {
      // The other options of the choose step taken here come before any other thread.
      return { thread: node.choiceThread as number, choice: node.choicesLeft.shift() as number };
    }
    let t: number | undefined;
    for (const q of node.backtrack) if (!node.done.includes(q) && !node.sleep.has(q) && (t === undefined || q < t)) t = q;
    if (t === undefined) return null;
    const p: Pending = this.exec.pending(t);
    if (p.kind === 'choose') {
      const n = p.options?.length ?? 1;
      node.choicesLeft = Array.from({ length: n - 1 }, (_, i) => i + 1);
      node.choiceThread = t;
      return { thread: t, choice: 0 };
    }
    return { thread: t };
  }

  /**
   * Optimal DPOR: the step to take from `node`: its wakeup tree's leftmost branch that can run
   * here; at a node reached for the first time with no such branch, the lowest awake enabled
   * thread. Null when the execution has ended (or is sleep-blocked).
   */
  private pickFromTree(node: Node): ScheduleStep | null {
    if (node.enabled.length === 0) return null;
    this.dropCovered(node);
    if (node.wut.length === 0) {
      if (node.visited) return null;
      let t: number | undefined;
      for (const q of node.enabled) if (!node.sleep.has(q) && !node.done.includes(q)) { t = q; break; }
      if (t === undefined) return null;
      const p = this.exec.pending(t);
      node.wut.push({ thread: t, choice: p.kind === 'choose' ? 0 : undefined, fp: footprintOf(p), children: [] });
    }
    node.visited = true;
    const b = node.wut[0] as WakeupBranch;
    if (b.choice === undefined) return { thread: b.thread };
    // The first option of this thread's choose step taken here: the others become branches right
    // after it (unless the tree has them already), so that they are explored before other threads.
    node.choicesDone ??= new Map();
    if (!node.choicesDone.has(b.thread)) {
      node.choicesDone.set(b.thread, []);
      const options = this.exec.pending(b.thread).options?.length ?? 1;
      const more: WakeupBranch[] = [];
      for (let o = 0; o < options; o++) {
        if (o === b.choice || node.wut.some((x) => x.thread === b.thread && x.choice === o)) continue;
        more.push({ thread: b.thread, choice: o, fp: b.fp, children: [] });
      }
      node.wut.splice(1, 0, ...more);
    }
    return { thread: b.thread, choice: b.choice };
  }

  /** Optimal DPOR: the branch taken at `n` is explored: drop it; its thread is done once all its options are. */
  private finishBranch(n: Node): void {
    const taken = n.taken as ScheduleStep;
    n.wut.shift();
    n.taken = null;
    if (taken.choice !== undefined) {
      const done = n.choicesDone?.get(taken.thread);
      done?.push(taken.choice);
      if (n.wut.some((x) => x.thread === taken.thread)) return;
    }
    addTo(n.done, taken.thread);
  }

  /**
   * Optimal DPOR: drop the leading branches of `n`'s tree that cannot or need not run here (their
   * thread is not enabled, asleep, done, or that option of its choose step was explored); true if
   * a branch is left.
   */
  private dropCovered(n: Node): boolean {
    while (n.wut.length > 0) {
      const b = n.wut[0] as WakeupBranch;
      const runnable =
        n.enabled.includes(b.thread) && !n.sleep.has(b.thread) && !n.done.includes(b.thread) && !(b.choice !== undefined && n.choicesDone?.get(b.thread)?.includes(b.choice));
      if (runnable) return true;
      n.wut.shift();
    }
    return false;
  }

  /**
   * Optimal DPOR, at the end of an execution: for each race of a step this execution added, the
   * sequence that reverses it, v = notdep(e, E).e' (the events after the earlier step e that do
   * not depend on it, then the later step e'), goes into the wakeup tree of the node before e,
   * unless a thread asleep or done there is a weak initial of v (that order is already covered).
   */
  private reverseRaces(log: EventLog, stack: readonly Node[], firstNew: number): void {
    const events = log.events;
    for (let j = firstNew; j < events.length; j++) {
      const later = events[j] as Event;
      if (!later.races) continue;
      for (const i of later.races) {
        const node = stack[i] as Node;
        const e = events[i] as Event;
        const v: Event[] = [];
        for (let k = i + 1; k < events.length; k++) {
          const x = events[k] as Event;
          if (k !== j && !hb(e, x.vc)) v.push(x);
        }
        v.push(later);
        if (!this.reversible(log, i, v)) continue;
        if (this.covered(node, v)) continue;
        insert(node.wut, v);
      }
    }
  }

  /**
   * Could the last event of `v` run after events[0..i) and the rest of `v`, i.e. without the
   * event at `i` it races with? Not if that event is what enabled it (a lock release, an IPI's
   * acknowledgement, the end of a grace period): such a race cannot be reversed. The state is
   * not built: the values its guard and the machine's conditions read are looked up in the
   * writes of those events.
   */
  private reversible(log: EventLog, i: number, v: readonly Event[]): boolean {
    const later = v[v.length - 1] as Event;
    const value = (loc: Loc): Value | undefined => {
      for (let b = v.length - 2; b >= 0; b--) {
        const w = writtenValue((v[b] as Event).writes, loc);
        if (w !== undefined) return w;
      }
      const before = log.valueBefore(loc, i);
      return before !== undefined ? before : this.exec.initialValue(loc);
    };
    return this.exec.enabledIn(this.exec.thread(later.thread), later.phase, later.op, value);
  }

  /** Is some thread asleep or done at `node` (or an option explored there) a weak initial of `v`? */
  private covered(node: Node, v: readonly Event[]): boolean {
    for (const [q, fp] of node.sleep) if (weakInitial(q, undefined, fp, v)) return true;
    for (const q of node.done) if (weakInitial(q, undefined, node.pending?.get(q), v)) return true;
    if (node.choicesDone) {
      for (const [q, options] of node.choicesDone) {
        if (node.done.includes(q)) continue;
        for (const o of options) if (weakInitial(q, o, undefined, v)) return true;
      }
    }
    return false;
  }

  /** Source-set DPOR: race between events[i] and the new event `e`: make the node before events[i] try a reversal. */
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
    for (let a = 0; a < v.length; a++) if (isInitial(v, a)) initials.add((v[a] as Event).thread);
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
