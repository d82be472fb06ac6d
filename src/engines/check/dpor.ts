/**
 * Stateless exploration of every interleaving of a program, with dynamic partial-order reduction
 * and sleep sets: optimal DPOR with wakeup trees (the default), source-set DPOR, or none.
 *
 * The story. JS generators cannot be cloned, so like loom and shuttle we never copy a state: to
 * try another branch at depth d we roll the execution back to its first d steps (Execution.rollback
 * undoes the store writes and puts the threads that moved since back at their ops; a thread that
 * retakes its undone steps on equal values replays them, and its generator is re-run only at the
 * first step that differs). Along the current execution we keep one node per step: which threads
 * were enabled, what we still have to try there, which threads we already tried (done), and which
 * are asleep. Each executed step is checked for races: an earlier step of another thread that
 * touched a location this step also touched, at least one of them writing, that is not already
 * ordered before this step through other steps, and that this step could have preceded (blocking,
 * below). Each race must be reversed: the node just before the earlier step must also explore an
 * execution where the later step comes first, i.e. one that starts with the events that do not
 * depend on the earlier step (notdep), followed by the later step.
 *
 *  - Optimal DPOR (reduction 'dpor'; Abdulla, Aronis, Jonsson and Sagonas, JACM 2017, Algorithm
 *    2): at the end of each execution, each of its races adds that whole sequence to the
 *    node's wakeup tree (wakeup.ts), unless a thread asleep or done there already covers it; the
 *    exploration follows the trees, so every Mazurkiewicz trace is explored exactly once. Without
 *    `choose` steps, no execution ends sleep-set blocked either; the other options of a choice
 *    are tried where it is made, and may end so (counted: redundant work).
 *  - Source-set DPOR (reduction 'source-dpor'; POPL 2014, Algorithm 1): each race adds one
 *    initial of that sequence to the node's backtrack set; cheaper bookkeeping, but an execution
 *    may end with every enabled thread asleep (counted as sleep-blocked: redundant work).
 * Sleep sets (Godefroid): a thread explored at a node sleeps in the later branches there until a
 * step that conflicts with its next step wakes it.
 *
 * Footprints. An executed step's footprint is what it read and what it actually wrote; a step not
 * yet run (a sleeping thread's, the reversed step of a race) is given what it would write in the
 * state it runs in (Execution.writesIn(): a compare-and-swap that fails writes nothing), so that
 * dependence is the same relation whichever execution a step is seen in.
 *
 * Blocking. A step whose guard is false is not enabled. Its guard's locations, and the machine's
 * own conditions (interrupt flag, CPU context, vCPU stopped, store buffer), are part of its
 * footprint, so whatever enables a step conflicts with it. A conflicting earlier step the later
 * one could not have run without (a lock's release) is no race; the later step's races are then
 * the earlier points where it could have run, found by moving it before the latest writes of what
 * it reads, as a thread retrying the step would (EventLog.leaps(): the acquire before that
 * release, so that every order of a lock's holders is explored). A thread still blocked when an
 * execution ends gets the races of the step it could not take, as if it came last. A state where
 * no thread can step and some have not finished is a deadlock. docs/checker.md tells the whole
 * story, and what "holds" then guarantees.
 *
 * Threads. A spawned thread's id follows creation order, which differs between executions where
 * two threads spawn in either order; wakeup trees, which hold steps of many executions, name
 * threads by a stable id instead (EventLog.sidOf()).
 *
 * Choices. A `choose` step is branched on at its node: every option is a separate child.
 *
 * Without reduction (`reduction: 'none'`), every enabled thread is tried at every node: the
 * baseline the benchmarks and the tests compare against.
 */
import { Execution, type Pending, type Program } from '../../core/execution.js';
import type { Reduction } from './index.js';
import type { ScheduleStep } from '../../core/schedule.js';
import { EventLog, type Event, type Reversal } from './events.js';
import { conflicts, footprintOf, type Footprint } from './footprint.js';
import { Results, runToEnd, type ExploreResult, type ExploreStats } from './results.js';
import type { BacktrackRequest, Delegation, SubtreeResult, SubtreeTask } from './subtree.js';
import { insert, isInitial, weakInitial, type WakeupBranch } from './wakeup.js';

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
  /**
   * Stop as soon as every property has been violated once (or at the first deadlock if none):
   * the verdicts are then all known, but a counterexample may not be the shortest.
   */
  readonly stopWhenAllViolated?: boolean;
  /** With stopWhenAllViolated: also wait for a deadlock (when one is expected, finding it is part of the answer). */
  readonly stopNeedsDeadlock?: boolean;
  /** Stop at the first execution that violates any property (or deadlocks), as Spin stops at its first error. */
  readonly stopAtFirst?: boolean;
  /**
   * Called after every execution (progress reporting), with a function that estimates the share
   * of the exploration done so far (see Explorer.exploredShare(); cheap, but call it sparingly).
   */
  readonly onExecution?: (stats: ExploreStats, explored: () => number) => void;
  /** Called with every execution that reached a final state (tests count traces with it). */
  readonly onComplete?: (exec: Execution) => void;
  /**
   * Source-set DPOR: hand subtrees to other explorers when they want one (subtree.ts); the
   * results are those of the exploration on its own.
   */
  readonly delegation?: Delegation;
  /** Source-set DPOR: explore this subtree only (subtree.ts; exploreSubtree()). */
  readonly subtree?: SubtreeTask;
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
  /** Executions before the step taken here was taken (handOut() judges subtree sizes by it). */
  since: number;
  /** Source-set DPOR: the next thread to try here, handed to another explorer (subtree.ts). */
  delegated?: { readonly thread: number; readonly done: readonly number[]; readonly handle: number };
}

/**
 * handOut(): hand a node's next thread out only once the node's current subtree has run this
 * many executions (docs/performance.md measures the choice).
 */
const MIN_SUBTREE = 16;

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
  private readonly log: EventLog;
  /**
   * Exploring a subtree: the depth of its node. Races whose reversal belongs at or above it go to
   * `requests` (subtree.ts), in order, without repeats (`requested`: the same initials).
   */
  private readonly rootDepth: number;
  private readonly requests: BacktrackRequest[] = [];
  private readonly requested = new Set<string>();
  /**
   * handOut(): the nodes above this depth had nothing to hand out when last looked at, and
   * nothing has been added to them or tried there since.
   */
  private unscanned = 0;

  constructor(program: Program, opts: ExploreOptions) {
    if ((opts.delegation !== undefined || opts.subtree !== undefined) && (opts.reduction !== 'source-dpor' || opts.preemptionBound !== undefined)) {
      throw new Error('explore: subtrees are split off source-set DPOR only');
    }
    if (opts.delegation !== undefined && opts.onComplete !== undefined) throw new Error('explore: onComplete needs every execution in this explorer (no delegation)');
    this.program = program;
    this.opts = opts;
    this.rootDepth = opts.subtree ? opts.subtree.prefix.length : -1;
    this.results = new Results(program);
    this.exec = new Execution(program);
    this.log = new EventLog(this.exec, opts.preemptionBound === undefined && opts.reduction !== 'none');
  }

  get stats(): ExploreStats {
    return this.results.stats;
  }

  /** Explore to the end (or a stop condition). */
  run(): ExploreResult {
    return runToEnd(this.explore());
  }

  /**
   * The exploration, one execution per step of the generator: a caller that drives it in slices
   * (checkPaced()) lets the event loop run between them, so that a Ctrl-C can stop it: `next(true)`
   * stops it after the execution it is in, with stopped 'interrupted'.
   */
  *explore(): Generator<void, ExploreResult, boolean | undefined> {
    let stopAsked = false;
    const stack: Node[] = [];
    this.path = stack;
    const exec = this.exec;
    const log = this.log;
    let exhaustive = true;
    let stopped: ExploreResult['stopped'] = null;
    /** The share explored when the run stopped early, taken before backtracking changes the path. */
    let shareAtStop = 1;
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
      const node: Node = { enabled, pending: null, backtrack: [], done: [], sleep, wut, visited: false, choicesDone: null, taken: null, choicesLeft: NO_CHOICES, choiceThread: undefined, preemptions, last, since: 0, delegated: undefined };
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

    const sub = this.opts.subtree;
    if (sub) this.replayPrefix(sub, stack, newNode);
    else stack.push(newNode(NO_SLEEPERS, null, []));
    const delegation = this.opts.delegation;
    for (;;) {
      // Extend the current execution until it ends.
      for (;;) {
        const node = stack[stack.length - 1] as Node;
        const next = mode === 'dpor' ? this.pickFromTree(node) : this.pickNext(node);
        if (next === null) break;
        node.taken = next;
        node.since = this.results.stats.executions;
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
        if (mode === 'source-dpor' && ev.races !== null) for (const r of ev.races) this.addBacktrack(r, ev, log.length - 1, stack);
        let childSleep: ReadonlyMap<number, Footprint> = NO_SLEEPERS;
        for (const [q, fp] of sleepers) {
          if (conflicts(fp, ev.fp)) continue;
          if (childSleep === NO_SLEEPERS) childSleep = new Map();
          (childSleep as Map<number, Footprint>).set(q, fp);
        }
        stack.push(newNode(childSleep, node, mode === 'dpor' ? (node.wut[0] as WakeupBranch).children : []));
      }
      if (mode === 'dpor') this.reverseRaces(stack, firstNew);
      else if (mode === 'source-dpor') for (const ev of this.blockedEvents()) for (const r of ev.races ?? []) this.addBacktrack(r, ev, log.length, stack);
      this.finishExecution(exec, stack);
      if (delegation?.wanted(this.share)) this.handOut(delegation, stack);
      if ((yield) === true) stopAsked = true;
      if (this.opts.maxExecutions !== undefined && this.stats.executions >= this.opts.maxExecutions) {
        exhaustive = false;
        stopped = 'max-executions';
        shareAtStop = this.exploredShare();
        break;
      }
      const answered = this.results.stopReason(this.opts);
      if (answered !== null || stopAsked) shareAtStop = this.exploredShare();
      // Backtrack: the deepest node with something left to try.
      let depth = stack.length - 1;
      const top = Math.max(0, this.rootDepth);
      let interruptedWaiting = false;
      while (depth >= top) {
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
          if (n.delegated !== undefined) {
            const d = n.delegated;
            n.delegated = undefined;
            let r: SubtreeResult | null | undefined = null;
            // With the answer known, the subtree only says the run stopped with work left, as it would have.
            if (answered === null && !stopAsked && this.wanting(n, d)) r = yield* this.waitFor(d.handle);
            else this.opts.delegation?.cancel(d.handle);
            if (r === undefined) {
              // Asked to stop while the subtree was being explored elsewhere.
              interruptedWaiting = true;
              break;
            }
            if (r !== null && this.takeIn(n, d.thread, r, stack)) continue;
          }
          let more = false;
          for (const t of n.backtrack) if (!n.done.includes(t) && !n.sleep.has(t)) more = true;
          if (more) break;
        }
        depth--;
      }
      if (interruptedWaiting) {
        exhaustive = false;
        stopped = 'interrupted';
        shareAtStop = this.exploredShare();
        break;
      }
      if (depth < top) break;
      // Stop at the answer, but only with something left to explore: a run whose last execution
      // gave the last counterexample is still exhaustive.
      if (answered !== null) {
        exhaustive = false;
        stopped = answered;
        break;
      }
      if (stopAsked) {
        exhaustive = false;
        stopped = 'interrupted';
        break;
      }
      stack.length = depth + 1;
      // Roll the execution back to that node; the events of the prefix are unchanged.
      exec.rollback(depth);
      this.unscanned = Math.min(this.unscanned, depth);
      log.truncate(depth);
      firstNew = depth;
    }
    this.results.stats.replayed += exec.counters.replayed;
    this.results.stats.rerun += exec.counters.rerun;
    if (delegation) this.cancelAll(delegation, stack);
    return this.results.result(exhaustive, stopped, exhaustive ? 1 : shareAtStop);
  }

  /** What exploring only the subtree found (subtree.ts), once explore() is done. */
  subtreeResult(): SubtreeResult {
    const r = this.results.result(true);
    return { stats: r.stats, violations: [...r.violations], deadlock: r.deadlock, requests: this.requests };
  }

  /**
   * Exploring a subtree: run its prefix, with a node per step that only records the step (their
   * races were the handing explorer's to reverse, and nothing backtracks to them here), then
   * make the subtree's node: its sleep set and done threads as given, the child as the one
   * thread to try. The prefix's steps are not counted (the handing explorer counted them).
   */
  private replayPrefix(sub: SubtreeTask, stack: Node[], newNode: (sleep: ReadonlyMap<number, Footprint>, parent: Node | null, wut: WakeupBranch[]) => Node): void {
    const exec = this.exec;
    for (const step of sub.prefix) {
      const node = newNode(NO_SLEEPERS, stack[stack.length - 1] ?? null, []);
      node.taken = step;
      stack.push(node);
      const th = exec.thread(step.thread);
      const phase = th.phase;
      const op = th.op;
      this.log.push(exec.step(step.thread, step.choice), phase, op);
    }
    const node = newNode(new Map(sub.sleep), stack[stack.length - 1] ?? null, []);
    node.backtrack.length = 0;
    node.backtrack.push(sub.child);
    node.done.push(...sub.done);
    stack.push(node);
  }

  /**
   * Hand the next thread of the shallowest node that has one to another explorer (subtree.ts):
   * the node's lowest thread left to try after the one it is exploring, while no choice's
   * options are left there, and none is handed out there already.
   */
  private handOut(delegation: Delegation, stack: readonly Node[]): void {
    let small = -1;
    for (let d = Math.max(this.rootDepth + 1, this.unscanned); d < stack.length - 1; d++) {
      const n = stack[d] as Node;
      if (n.delegated !== undefined || n.choicesLeft.length > 0 || n.taken === null) continue;
      const next = this.nextToTry(n, n.taken.thread);
      if (next === undefined) continue;
      // A node whose current subtree is still small is not worth it yet: its next thread would
      // be reached soon, and waited for rather than explored here in less time than the hand-off.
      if (this.results.stats.executions - n.since < (delegation.minSubtree ?? MIN_SUBTREE)) {
        if (small < 0) small = d;
        continue;
      }
      const done = [...n.done];
      addTo(done, n.taken.thread);
      const task: SubtreeTask = { prefix: stack.slice(0, d).map((x) => x.taken as ScheduleStep), done, sleep: [...n.sleep], child: next };
      const handle = delegation.submit(task);
      if (handle !== null) n.delegated = { thread: next, done, handle };
      this.unscanned = small >= 0 ? small : d;
      return;
    }
    // Look again from the first node that had a next thread but too small a subtree.
    this.unscanned = small >= 0 ? small : stack.length - 1;
  }

  /** The lowest thread in `n`'s backtrack set not tried, asleep, or `except`. */
  private nextToTry(n: Node, except?: number): number | undefined {
    let t: number | undefined;
    for (const q of n.backtrack) if (q !== except && !n.done.includes(q) && !n.sleep.has(q) && (t === undefined || q < t)) t = q;
    return t;
  }

  /**
   * Backtracking to `n`, which handed thread `d.thread` out: is it the thread to try next, with
   * the threads tried before it those it was handed out with? If not, the guess failed: the
   * result is dropped (cancelled), and the node goes on as usual.
   */
  private wanting(n: Node, d: NonNullable<Node['delegated']>): boolean {
    const same = d.done.length === n.done.length && d.done.every((t, i) => n.done[i] === t);
    return n.choicesLeft.length === 0 && same && this.nextToTry(n) === d.thread;
  }

  /** The result of a handed-out subtree, letting the caller run meanwhile; undefined if it asked to stop. */
  private *waitFor(handle: number): Generator<void, SubtreeResult | undefined, boolean | undefined> {
    const delegation = this.opts.delegation as Delegation;
    for (;;) {
      const r = delegation.wait(handle, 50);
      if (r !== null) return r;
      if ((yield) === true) {
        delegation.cancel(handle);
        return undefined;
      }
    }
  }

  /**
   * Take the result of the subtree of `thread`, the next thread to try at `n`, in as if it had
   * been explored here (true). A result that would take the run past a stop is dropped (false):
   * the stop lies inside the subtree, and exploring it here finds it.
   */
  private takeIn(n: Node, thread: number, r: SubtreeResult, stack: readonly Node[]): boolean {
    const max = this.opts.maxExecutions;
    if ((max !== undefined && this.stats.executions + r.stats.executions >= max) || this.results.wouldStop(r, this.opts)) return false;
    this.results.absorb(r);
    for (const [depth, initials, preferred] of r.requests) this.backtrackAt(depth, initials, preferred, stack);
    addTo(n.done, thread);
    this.opts.onExecution?.(this.results.stats, this.share);
    return true;
  }

  /** The run is over: nobody will ask for what is still handed out. */
  private cancelAll(delegation: Delegation, stack: readonly Node[]): void {
    for (const n of stack) {
      if (n.delegated !== undefined) delegation.cancel(n.delegated.handle);
      n.delegated = undefined;
    }
  }

  /** The footprint of thread `q`'s next step at `node`, which must be the current state. */
  private pendingAt(node: Node, q: number): Footprint | null {
    node.pending ??= new Map();
    let fp = node.pending.get(q);
    if (!fp) {
      if (this.exec.thread(q).phase === 'done') return null;
      fp = footprintOf(this.exec.footprintNow(q));
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
    const t = this.nextToTry(node);
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
      // The step is taken at once: its footprint is the event's, filled in at the end of the
      // execution (reverseRaces()), which saves running its effect here for it (footprintNow()).
      // A choose step's options become branches of their own below, with this footprint.
      const p = this.exec.pending(t);
      node.wut.push({ sid: this.log.sidOf(t), choice: p.kind === 'choose' ? 0 : undefined, fp: p.kind === 'choose' ? footprintOf(p) : null, children: [] });
    }
    node.visited = true;
    const b = node.wut[0] as WakeupBranch;
    const thread = this.log.threadOf(b.sid) as number;
    if (b.choice === undefined) return { thread };
    // The first option of this thread's choose step taken here: the others become branches right
    // after it (unless the tree has them already), so that they are explored before other threads.
    node.choicesDone ??= new Map();
    if (!node.choicesDone.has(thread)) {
      node.choicesDone.set(thread, []);
      const options = this.exec.pending(thread).options?.length ?? 1;
      const more: WakeupBranch[] = [];
      for (let o = 0; o < options; o++) {
        if (o === b.choice || node.wut.some((x) => x.sid === b.sid && x.choice === o)) continue;
        more.push({ sid: b.sid, choice: o, fp: b.fp, children: [] });
      }
      node.wut.splice(1, 0, ...more);
    }
    return { thread, choice: b.choice };
  }

  /** Optimal DPOR: the branch taken at `n` is explored: drop it; its thread is done once all its options are. */
  private finishBranch(n: Node): void {
    const taken = n.taken as ScheduleStep;
    n.wut.shift();
    n.taken = null;
    if (taken.choice !== undefined) {
      const done = n.choicesDone?.get(taken.thread);
      done?.push(taken.choice);
      const sid = this.log.sidOf(taken.thread);
      if (n.wut.some((x) => x.sid === sid)) return;
    }
    addTo(n.done, taken.thread);
  }

  /**
   * Optimal DPOR: drop the leading branches of `n`'s tree that cannot or need not run here (their
   * thread does not exist here or is not enabled, asleep, done, or that option of its choose step
   * was explored); true if a branch is left. The path may be deeper than `n` (when backtracking):
   * a thread created after `n` has an id no thread has at `n`, so it is not in `n.enabled`.
   */
  private dropCovered(n: Node): boolean {
    while (n.wut.length > 0) {
      const b = n.wut[0] as WakeupBranch;
      const t = this.log.threadOf(b.sid);
      const runnable =
        t !== undefined && n.enabled.includes(t) && !n.sleep.has(t) && !n.done.includes(t) && !(b.choice !== undefined && n.choicesDone?.get(t)?.includes(b.choice));
      if (runnable) return true;
      n.wut.shift();
    }
    return false;
  }

  /**
   * Optimal DPOR, at the end of an execution: for each race of the execution, and of the step
   * each blocked thread could not take (blockedEvents()), the sequence that reverses it,
   * v = notdep(e, E).e' (the events after the earlier step e that do not depend on it, then the
   * later step e'), goes into the wakeup tree of the node before e, unless a thread asleep or done
   * there is a weak initial of v (that order is already covered). Races are reversible by
   * construction (EventLog.races()).
   *
   * Every race of the execution, not only those of its new steps (JACM 2017, Algorithm 2): v
   * holds the events after e' too, so a race seen before gives another v when the execution has
   * gone on differently. If none of the new steps is in v, v is the one a previous execution gave
   * with its own later steps left out, which that insertion covers: that race is skipped.
   */
  private reverseRaces(stack: readonly Node[], firstNew: number): void {
    const events = this.log.events;
    // The branches pickFromTree() started without a footprint are those the path took.
    for (let d = firstNew; d < events.length; d++) {
      const b = (stack[d] as Node).wut[0] as WakeupBranch;
      if (b.fp === null) b.fp = (events[d] as Event).fp;
    }
    for (let j = 0; j < events.length; j++) {
      const later = events[j] as Event;
      if (later.races === null) continue;
      for (const r of later.races) if (j >= firstNew || this.log.keepsAnyFrom(r, firstNew)) this.reverse(stack, r, later, j);
    }
    for (const later of this.blockedEvents()) for (const r of later.races ?? []) this.reverse(stack, r, later, events.length);
  }

  /** Optimal DPOR: insert the reversal `r` of a race of `later` (at index j, or after the path) into the tree of the node before its first root. */
  private reverse(stack: readonly Node[], r: Reversal, later: Event, j: number): void {
    const node = stack[r[0] as number] as Node;
    const v = this.log.reversal(r, later, j);
    if (this.covered(node, v)) return;
    insert(node.wut, v);
  }

  /**
   * The steps the threads blocked at the end of the path could not take, as events after it
   * with their races (EventLog.blocked()): without them, a thread that never got its lock here
   * would never be tried before the thread that kept it. Daemons too (a store buffer's drain,
   * stopped with its vCPU), though they do not make the end a deadlock.
   */
  private blockedEvents(): Event[] {
    const out: Event[] = [];
    for (const th of this.exec.threads) {
      if (th.phase === 'done' || this.exec.isEnabled(th)) continue;
      const ev = this.log.blocked(th.id, this.exec.pending(th.id), th.phase, th.op);
      if (ev.races !== null) out.push(ev);
    }
    return out;
  }

  /** Is some thread asleep or done at `node` (or an option explored there) a weak initial of `v`? */
  private covered(node: Node, v: readonly Event[]): boolean {
    // The node's threads exist on the path, with the same ids: their stable ids are the path's.
    const log = this.log;
    for (const [q, fp] of node.sleep) if (weakInitial(log.sidOf(q), undefined, fp, v)) return true;
    for (const q of node.done) if (weakInitial(log.sidOf(q), undefined, node.pending?.get(q), v)) return true;
    if (node.choicesDone) {
      for (const [q, options] of node.choicesDone) {
        if (node.done.includes(q)) continue;
        for (const o of options) if (weakInitial(log.sidOf(q), o, undefined, v)) return true;
      }
    }
    return false;
  }

  /** Source-set DPOR: reversal `r` of a race of `e` (at index `j`, or after the path): make the node before its first root try it. */
  private addBacktrack(r: Reversal, e: Event, j: number, stack: readonly Node[]): void {
    const v = this.log.reversal(r, e, j);
    const initials: number[] = [];
    for (let a = 0; a < v.length; a++) if (isInitial(v, a)) addTo(initials, (v[a] as Event).thread);
    this.backtrackAt(r[0] as number, initials, e.thread, stack);
  }

  /**
   * Source-set DPOR: make the node at `depth` try one of `initials` (`preferred` if it can), the
   * threads that can start the reversal of a race. Exploring a subtree, a node at or above its
   * root is the handing explorer's: the request is recorded for it (subtree.ts).
   */
  private backtrackAt(depth: number, initials: readonly number[], preferred: number, stack: readonly Node[]): void {
    if (depth <= this.rootDepth) {
      // A request with the same initials as one before changes nothing: that one left one of them here.
      const key = `${depth}:${initials.join(',')}`;
      if (!this.requested.has(key)) {
        this.requested.add(key);
        this.requests.push([depth, initials, preferred]);
      }
      return;
    }
    const node = stack[depth] as Node;
    // Already covered: an initial is scheduled here, was explored here, or is asleep here.
    for (const q of initials) if (node.backtrack.includes(q) || node.done.includes(q) || node.sleep.has(q)) return;
    // An initial that is not enabled at E' can only have been enabled by e' itself (anything else
    // that enables it conflicts with it, hence happens before it, and would make it non-initial):
    // the race is not reversible, and there is nothing to add.
    const candidates = initials.filter((q) => node.enabled.includes(q));
    if (candidates.length > 0) {
      addTo(node.backtrack, candidates.includes(preferred) ? preferred : (candidates[0] as number));
      this.unscanned = Math.min(this.unscanned, depth);
    }
  }

  private finishExecution(exec: Execution, stack: Node[]): void {
    const ended = (stack[stack.length - 1] as Node).enabled.length === 0;
    this.results.record(exec, () => stack.slice(0, -1).map((n) => n.taken as ScheduleStep), ended);
    if (ended) this.opts.onComplete?.(exec);
    this.opts.onExecution?.(this.results.stats, this.share);
  }

  /** The current path (run()'s stack), for the share estimate. */
  private path: readonly Node[] = [];
  /** exploredShare() as a callback, made once (onExecution gets it after every execution). */
  private readonly share = (): number => this.exploredShare();

  /**
   * An estimate of the share of the exploration tree done, with the current execution's leaf
   * counted as done: at each node of the current path, the branches finished, the one taken and
   * those known to be left (wakeup-tree branches, backtrack threads, choice options) split the
   * node's weight evenly, the finished ones count as done, and the taken one's share is divided the
   * same way one level down (the "weighted backtrack" estimate of tree search; Kilby et al.,
   * "Estimating search tree size", AAAI 2006). Subtrees are not of equal size, and branches that
   * races add later are not yet known, so it errs both ways (bench/estimate.ts measures it on the
   * catalog); it reaches 1 exactly when nothing is left.
   */
  exploredShare(): number {
    const stack = this.path;
    const dpor = this.opts.preemptionBound === undefined && this.opts.reduction === 'dpor';
    let share = 0;
    let weight = 1;
    for (let d = 0; d < stack.length - 1; d++) {
      const n = stack[d] as Node;
      let finished = n.done.length;
      let left: number;
      if (dpor) {
        if (n.choicesDone) for (const [t, options] of n.choicesDone) if (!n.done.includes(t)) finished += options.length;
        left = Math.max(0, n.wut.length - 1);
      } else {
        left = n.choicesLeft.length;
        for (const t of n.backtrack) if (!n.done.includes(t) && !n.sleep.has(t) && t !== n.taken?.thread) left++;
      }
      const total = finished + 1 + left;
      share += (weight * finished) / total;
      weight /= total;
    }
    return Math.min(1, share + weight);
  }
}

/**
 * Explore one subtree of source-set DPOR's exploration (subtree.ts) and return what the
 * exploration of the whole would have found in it. `delegation` hands parts of it on in turn.
 */
export function exploreSubtree(program: Program, task: SubtreeTask, delegation?: Delegation): SubtreeResult {
  const explorer = new Explorer(program, { reduction: 'source-dpor', subtree: task, delegation });
  explorer.run();
  return explorer.subtreeResult();
}
