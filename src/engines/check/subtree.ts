/**
 * One exploration on several cores: a subtree of source-set DPOR's exploration tree, handed to
 * another explorer and merged back as if the exploration had gone there itself.
 *
 * The exploration is a depth-first walk: at a node (a prefix of an execution), each thread in
 * the node's backtrack set is tried in turn, lowest id first, and the races found below add
 * threads to the backtrack sets of the nodes above. What a child's subtree explores depends only
 * on the prefix, on the child's thread, and on the threads explored at the node before it (its
 * sleep set): not on what the subtrees before it found. So while one explorer walks a child's
 * subtree, another can walk the next child's, the one the node's backtrack set says comes next
 * (its lowest untried thread), as soon as some race has put it there. Its explorer replays the
 * prefix, explores the subtree with the same code, and returns what a sequential walk of the
 * subtree would have produced: its executions' counts, its shortest counterexamples, and the
 * threads its races add to the backtrack sets above it (`requests`, in order).
 *
 * The explorer that handed it out takes the result in when its own walk reaches that child, and
 * only if the guess held: the child is then the node's next thread, and the threads explored at
 * the node before it are those the subtree was given. It then applies the requests to its nodes
 * in order, exactly as the sequential walk would have while it was in the subtree. Otherwise it
 * drops the result and explores the child itself. It also explores it itself when taking it in
 * would cross a stop (a bound on executions, every property answered): the sequential walk
 * stops inside the subtree, at an execution only a walk of it can find. So the counts, verdicts
 * and counterexamples are those of the sequential walk, on any number of explorers
 * (test/engines/check/subtree.test.ts checks it on random programs). The model's replay
 * counters (`replayed`, `rerun`) are the exception: they count work that depends on where each
 * subtree ran, and are left out of what is compared and printed.
 *
 * Optimal DPOR does not split this way: a race found in one child's subtree inserts sequences
 * into the wakeup trees of the later children, so a later child's subtree is not known until the
 * earlier ones are done (docs/performance.md measures it).
 */
import type { Counterexample, ExploreStats } from './results.js';
import type { ScheduleStep } from '../../core/schedule.js';
import type { Footprint } from './footprint.js';

/** A child of a node, to explore with everything below it. */
export interface SubtreeTask {
  /** The steps from the initial state to the node. */
  readonly prefix: readonly ScheduleStep[];
  /** Threads explored at the node before the child, in the order they were. */
  readonly done: readonly number[];
  /** Threads asleep at the node, with the footprints of their next steps. */
  readonly sleep: ReadonlyArray<readonly [number, Footprint]>;
  /** The child: the thread to take at the node. */
  readonly child: number;
}

/**
 * A race found below a subtree's node whose reversal belongs to a node at or above it: `depth`
 * is that node's, `initials` the threads that can start the reversal (in the order found),
 * `preferred` the thread to add if it is one of them.
 */
export type BacktrackRequest = readonly [depth: number, initials: readonly number[], preferred: number];

/** What a subtree's exploration produced. */
export interface SubtreeResult {
  readonly stats: ExploreStats;
  readonly violations: ReadonlyArray<readonly [string, Counterexample]>;
  readonly deadlock: Counterexample | null;
  /** In the order the sequential walk would apply them, without repeats (a repeat changes nothing). */
  readonly requests: readonly BacktrackRequest[];
}

/**
 * Where subtrees go: other explorers (worker threads, workers.ts), or, in tests, the same
 * thread later (test/toys/deferred-delegation.ts).
 */
export interface Delegation {
  /**
   * Would some explorer take a subtree now? Called after every execution: cheap. `explored`
   * estimates the share of the exploration done (Explorer.exploredShare()), for a delegation
   * that starts its explorers only when enough is left.
   */
  wanted(explored: () => number): boolean;
  /** Hand a subtree out; a handle for its result, or null when nobody took it. */
  submit(task: SubtreeTask): number | null;
  /**
   * The result of a handed-out subtree, once it is done, or null if it is not within about
   * `ms` (the explorer then lets its caller run, e.g. to see a Ctrl-C, and asks again). An
   * explorer waiting may explore subtrees handed to it meanwhile.
   */
  wait(handle: number, ms: number): SubtreeResult | null;
  /** The result will not be asked for. */
  cancel(handle: number): void;
  /**
   * Hand a node's next thread out only once the node's current subtree has run this many
   * executions (default MIN_SUBTREE in dpor.ts; the tests hand out from 0 on).
   */
  readonly minSubtree?: number;
}
