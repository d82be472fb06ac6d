/**
 * Stateless exploration of every interleaving of a program, with source-set dynamic partial-order
 * reduction and sleep sets.
 *
 * The story. An execution is replayed from the start for every branch (JS generators cannot be
 * cloned, so like loom and shuttle we re-run the program along a schedule prefix). Along the
 * current execution we keep one node per step: which threads were enabled, which we still have
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
import type { ScheduleStep } from '../../core/schedule.js';
import type { StepRecord } from '../../core/trace.js';
import type { Violation } from '../../core/property.js';

export interface Footprint {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
}

export function footprintOf(p: { readonly reads: readonly string[]; readonly writes: readonly string[] }): Footprint {
  return { reads: new Set(p.reads), writes: new Set(p.writes) };
}

function recordFootprint(r: StepRecord): Footprint {
  return { reads: new Set(r.reads), writes: new Set(r.writes.map(([l]) => l)) };
}

/** Two steps of different threads conflict if one writes a location the other reads or writes. */
export function conflicts(a: Footprint, b: Footprint): boolean {
  for (const w of a.writes) if (b.writes.has(w) || b.reads.has(w)) return true;
  for (const w of b.writes) if (a.reads.has(w)) return true;
  return false;
}

export interface ExploreOptions {
  readonly reduction: 'dpor' | 'none';
  /** Stop after this many executions (the result then says the exploration was not exhaustive). */
  readonly maxExecutions?: number;
  /** Stop as soon as every property has been violated once (or at the first deadlock if none). */
  readonly stopWhenAllViolated?: boolean;
  /** Called after every execution (progress reporting). */
  readonly onExecution?: (stats: ExploreStats) => void;
  /** Called with every execution that reached a final state (tests count traces with it). */
  readonly onComplete?: (exec: Execution) => void;
}

export interface Counterexample {
  readonly schedule: readonly ScheduleStep[];
  readonly trace: readonly StepRecord[];
  readonly violation: Violation | null;
  /** Threads left unfinished, for a deadlock. */
  readonly blocked: readonly number[];
  readonly threadNames: readonly string[];
  readonly threadKinds: readonly string[];
  readonly threadCpus: ReadonlyArray<number | null>;
}

export interface ExploreStats {
  /** Executions run to their end (complete, deadlocked, or sleep-set blocked). */
  executions: number;
  /** Executions that reached a final state (finished or deadlocked): distinct Mazurkiewicz traces under DPOR. */
  complete: number;
  /** Executions abandoned because every enabled thread was asleep (redundant under source-DPOR). */
  sleepBlocked: number;
  deadlocks: number;
  /** Steps executed, replays included. */
  steps: number;
  maxDepth: number;
}

export interface ExploreResult {
  readonly stats: ExploreStats;
  readonly exhaustive: boolean;
  /** Shortest counterexample per violated property id. */
  readonly violations: ReadonlyMap<string, Counterexample>;
  /** Shortest deadlocking execution, if any. */
  readonly deadlock: Counterexample | null;
}

interface Node {
  /** Threads enabled at this node, with their pending footprints. */
  readonly enabled: readonly number[];
  readonly pending: Map<number, Footprint>;
  readonly backtrack: Set<number>;
  readonly done: Set<number>;
  readonly sleep: Set<number>;
  /** The step taken from this node (on the current path). */
  taken: ScheduleStep | null;
  /** Remaining options of a choose step taken here, and its thread. */
  choicesLeft: number[];
  choiceThread?: number;
}

interface Event {
  readonly thread: number;
  readonly fp: Footprint;
  /** Vector clock: for each thread, the number of its events that happen before or are this one. */
  readonly vc: number[];
  /** This event's position in its thread (1-based). */
  readonly seq: number;
}

function join(a: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) if ((b[i] as number) > (a[i] ?? 0)) a[i] = b[i] as number;
}

function hb(e: Event, vc: readonly number[]): boolean {
  return (vc[e.thread] ?? 0) >= e.seq;
}

export class Explorer {
  private readonly program: Program;
  private readonly opts: ExploreOptions;
  readonly stats: ExploreStats = { executions: 0, complete: 0, sleepBlocked: 0, deadlocks: 0, steps: 0, maxDepth: 0 };
  private readonly violations = new Map<string, Counterexample>();
  private deadlock: Counterexample | null = null;

  constructor(program: Program, opts: ExploreOptions) {
    this.program = program;
    this.opts = opts;
  }

  run(): ExploreResult {
    const stack: Node[] = [];
    let exec = new Execution(this.program);
    let events: Event[] = [];
    let threadClock: number[][] = [];
    let threadSeq: number[] = [];
    let exhaustive = true;
    const spawnVc = new Map<number, number[]>();

    const resetTo = (depth: number): void => {
      // Replay the schedule of the first `depth` nodes from a fresh execution.
      exec = new Execution(this.program);
      events = [];
      threadClock = [];
      threadSeq = [];
      spawnVc.clear();
      for (let i = 0; i < depth; i++) {
        const step = (stack[i] as Node).taken as ScheduleStep;
        this.execute(exec, step, events, threadClock, threadSeq, spawnVc, stack, false);
      }
    };

    const newNode = (sleep: Set<number>): Node => {
      const enabled = exec.enabled();
      const pending = new Map<number, Footprint>();
      for (const t of enabled) pending.set(t, footprintOf(exec.pending(t)));
      for (const t of sleep) if (!pending.has(t) && !exec.thread(t).phase.startsWith('done')) pending.set(t, footprintOf(exec.pending(t)));
      const node: Node = { enabled, pending, backtrack: new Set(), done: new Set(), sleep, taken: null, choicesLeft: [] };
      const awake = enabled.filter((t) => !sleep.has(t));
      if (this.opts.reduction === 'none') for (const t of awake) node.backtrack.add(t);
      else if (awake.length > 0) node.backtrack.add(awake[0] as number);
      return node;
    };

    stack.push(newNode(new Set()));
    for (;;) {
      // Extend the current execution until it ends.
      for (;;) {
        const node = stack[stack.length - 1] as Node;
        const next = this.pickNext(node, exec);
        if (next === null) break;
        node.taken = next;
        const ev = this.execute(exec, next, events, threadClock, threadSeq, spawnVc, stack, true);
        const childSleep = new Set<number>();
        if (this.opts.reduction === 'dpor') for (const q of [...node.sleep, ...node.done]) {
          if (q === next.thread) continue;
          const fp = node.pending.get(q);
          if (fp && !conflicts(fp, ev.fp)) childSleep.add(q);
        }
        stack.push(newNode(childSleep));
      }
      this.finishExecution(exec, stack);
      if (this.opts.maxExecutions !== undefined && this.stats.executions >= this.opts.maxExecutions) {
        exhaustive = false;
        break;
      }
      if (this.opts.stopWhenAllViolated && this.allViolated()) {
        exhaustive = false;
        break;
      }
      // Backtrack: the deepest node with something left to try.
      let depth = stack.length - 1;
      while (depth >= 0) {
        const n = stack[depth] as Node;
        if (n.choicesLeft.length > 0) break;
        if (n.taken) {
          n.done.add(n.taken.thread);
          n.taken = null;
        }
        if ([...n.backtrack].some((t) => !n.done.has(t) && !n.sleep.has(t))) break;
        depth--;
      }
      if (depth < 0) break;
      stack.length = depth + 1;
      resetTo(depth);
    }
    return { stats: this.stats, exhaustive, violations: this.violations, deadlock: this.deadlock };
  }

  private allViolated(): boolean {
    const ids = this.program.properties.map((p) => p.id);
    if (ids.length === 0) return this.deadlock !== null;
    return ids.every((id) => this.violations.has(id));
  }

  /** The step to take from `node`, or null when the execution has ended (or is sleep-blocked). */
  private pickNext(node: Node, exec: Execution): ScheduleStep | null {
    if (node.enabled.length === 0) return null;
    if (node.choicesLeft.length > 0) {
      // The other options of the choose step taken here come before any other thread.
      return { thread: node.choiceThread as number, choice: node.choicesLeft.shift() as number };
    }
    let t: number | undefined;
    for (const q of node.backtrack) if (!node.done.has(q) && !node.sleep.has(q) && (t === undefined || q < t)) t = q;
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

  private execute(
    exec: Execution,
    step: ScheduleStep,
    events: Event[],
    threadClock: number[][],
    threadSeq: number[],
    spawnVc: Map<number, number[]>,
    stack: Node[],
    detectRaces: boolean,
  ): Event {
    const rec = exec.step(step.thread, step.choice);
    this.stats.steps++;
    const t = step.thread;
    const fp = recordFootprint(rec);
    const vc = [...(threadClock[t] ?? spawnVc.get(t) ?? [])];
    const seq = (threadSeq[t] ?? 0) + 1;
    threadSeq[t] = seq;
    // Backward scan: an earlier conflicting event of another thread that is not already ordered
    // before this one through a later conflicting event is a direct race. Joining every
    // conflicting event's clock gives this event's clock.
    const races: number[] = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i] as Event;
      if (e.thread === t || !conflicts(e.fp, fp)) continue;
      if (!hb(e, vc)) races.push(i);
      join(vc, e.vc);
    }
    vc[t] = seq;
    const ev: Event = { thread: t, fp, vc, seq };
    threadClock[t] = vc;
    if (rec.spawned !== undefined) spawnVc.set(rec.spawned, [...vc]);
    if (detectRaces && this.opts.reduction === 'dpor') {
      for (const i of races) this.addBacktrack(i, ev, events, stack);
    }
    events.push(ev);
    return ev;
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
    for (const q of initials) if (node.backtrack.has(q) || node.done.has(q) || node.sleep.has(q)) return;
    // An initial that is not enabled at E' can only have been enabled by e' itself (anything else
    // that enables it conflicts with it, hence happens before it, and would make it non-initial):
    // the race is not reversible, and there is nothing to add.
    const candidates = [...initials].filter((q) => node.enabled.includes(q));
    if (candidates.length > 0) node.backtrack.add(candidates.includes(e.thread) ? e.thread : (candidates[0] as number));
  }

  private finishExecution(exec: Execution, stack: Node[]): void {
    this.stats.executions++;
    this.stats.maxDepth = Math.max(this.stats.maxDepth, exec.trace.length);
    const last = stack[stack.length - 1] as Node;
    const ended = last.enabled.length === 0;
    if (!ended) this.stats.sleepBlocked++;
    else {
      this.stats.complete++;
      this.opts.onComplete?.(exec);
    }
    const schedule = stack.slice(0, -1).map((n) => n.taken as ScheduleStep);
    const cx = (violation: Violation | null): Counterexample => ({
      schedule,
      trace: [...exec.trace],
      violation,
      blocked: exec.blocked(),
      threadNames: exec.threads.map((t) => t.spec.name),
      threadKinds: exec.threads.map((t) => t.spec.kind),
      threadCpus: exec.threads.map((t) => t.spec.cpu),
    });
    for (const v of exec.violations) {
      const prev = this.violations.get(v.property);
      if (!prev || (prev.violation && v.step < prev.violation.step)) this.violations.set(v.property, cx(v));
    }
    if (ended && !exec.finished) {
      this.stats.deadlocks++;
      if (!this.deadlock || exec.trace.length < this.deadlock.trace.length) this.deadlock = cx(null);
    }
    this.opts.onExecution?.(this.stats);
  }
}
