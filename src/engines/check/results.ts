/**
 * What an exploration found: statistics, and the shortest counterexample per violated property
 * and for deadlocks. Shared by every exploration strategy (DPOR, bounded, random).
 */
import type { Execution, Program } from '../../core/execution.js';
import type { Violation } from '../../core/property.js';
import type { ScheduleStep } from '../../core/schedule.js';
import type { StepRecord } from '../../core/trace.js';
import type { SubtreeResult } from './subtree.js';

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
  /**
   * Executions abandoned because every enabled thread was asleep: redundant work (source-set
   * DPOR's; optimal DPOR's, as measured, only where a choice's other options are tried:
   * docs/checker.md).
   */
  sleepBlocked: number;
  deadlocks: number;
  /** Steps taken (a step retaken after a rollback counts again). */
  steps: number;
  /** Of those, the steps replayed from their record after a rollback (the model's code not run). */
  replayed: number;
  /** Generator steps re-run to rebuild a thread whose step differed from its record. */
  rerun: number;
  maxDepth: number;
}

export interface ExploreResult {
  readonly stats: ExploreStats;
  readonly exhaustive: boolean;
  /** Shortest counterexample per violated property id. */
  readonly violations: ReadonlyMap<string, Counterexample>;
  /** Shortest deadlocking execution, if any. */
  readonly deadlock: Counterexample | null;
  /**
   * Why a run that is not exhaustive stopped: every property had a counterexample
   * (stopWhenAllViolated), one had (stopAtFirst), the execution bound, an interruption (the
   * caller's `next(true)` to the exploration's generator), or null (it finished, or it is a
   * bounded or random run).
   */
  readonly stopped: 'all-violated' | 'first-violation' | 'max-executions' | 'interrupted' | null;
  /**
   * Estimated share of the exploration done (Explorer.exploredShare()): 1 when exhaustive; for a
   * run that stopped early, how much of the space it covered; null for bounded and random runs.
   */
  readonly explored: number | null;
}

export class Results {
  readonly stats: ExploreStats = { executions: 0, complete: 0, sleepBlocked: 0, deadlocks: 0, steps: 0, replayed: 0, rerun: 0, maxDepth: 0 };
  private readonly violations = new Map<string, Counterexample>();
  private deadlock: Counterexample | null = null;
  private readonly program: Program;

  constructor(program: Program) {
    this.program = program;
  }

  /**
   * Account one execution that followed `schedule`. `ended`: it reached a final state (finished or
   * deadlocked) rather than being abandoned (sleep-set blocked). `schedule` is called only when
   * the execution becomes a counterexample.
   */
  record(exec: Execution, schedule: () => readonly ScheduleStep[], ended: boolean): void {
    if (ended) exec.end();
    this.stats.executions++;
    this.stats.maxDepth = Math.max(this.stats.maxDepth, exec.trace.length);
    if (ended) this.stats.complete++;
    else this.stats.sleepBlocked++;
    const cx = (violation: Violation | null): Counterexample => ({
      schedule: schedule(),
      trace: [...exec.trace],
      violation,
      blocked: exec.blocked(),
      ...exec.threadColumns(),
    });
    for (const v of exec.violations) if (breaksSooner(v.step, this.violations.get(v.property))) this.violations.set(v.property, cx(v));
    if (ended && !exec.finished) {
      this.stats.deadlocks++;
      if (isShorter(exec.trace.length, this.deadlock)) this.deadlock = cx(null);
    }
  }

  /**
   * Take in what a subtree explored elsewhere found (subtree.ts), as if its executions had been
   * recorded here one by one: the same shortest counterexamples, the earlier one on a tie.
   */
  absorb(r: SubtreeResult): void {
    const s = this.stats;
    s.executions += r.stats.executions;
    s.complete += r.stats.complete;
    s.sleepBlocked += r.stats.sleepBlocked;
    s.deadlocks += r.stats.deadlocks;
    s.steps += r.stats.steps;
    s.replayed += r.stats.replayed;
    s.rerun += r.stats.rerun;
    s.maxDepth = Math.max(s.maxDepth, r.stats.maxDepth);
    for (const [property, cx] of r.violations) if (breaksSooner(cx.violation?.step ?? Infinity, this.violations.get(property))) this.violations.set(property, cx);
    if (r.deadlock && isShorter(r.deadlock.trace.length, this.deadlock)) this.deadlock = r.deadlock;
  }

  /** Would absorbing `r` answer the run's stop condition (stopReason())? */
  wouldStop(r: SubtreeResult, opts: StopOptions): boolean {
    const theirs = new Set(r.violations.map(([id]) => id));
    const violated = (id: string): boolean => this.violations.has(id) || theirs.has(id);
    return stopOf(this.propertyIds(), violated, this.violations.size > 0 || theirs.size > 0, this.deadlock !== null || r.deadlock !== null, opts) !== null;
  }

  /** Every property violated (or, with none, a deadlock found); with `needDeadlock`, and a deadlock found. */
  allViolated(needDeadlock = false): boolean {
    return allViolated(this.propertyIds(), (id) => this.violations.has(id), this.deadlock !== null, needDeadlock);
  }

  /**
   * Whether what was found so far answers the run's stop condition: 'first-violation' with
   * stopAtFirst once any property is violated (or a deadlock found), 'all-violated' with
   * stopWhenAllViolated once allViolated(); else null.
   */
  stopReason(opts: StopOptions): 'first-violation' | 'all-violated' | null {
    return stopOf(this.propertyIds(), (id) => this.violations.has(id), this.violations.size > 0, this.deadlock !== null, opts);
  }

  private propertyIds(): string[] {
    return this.program.properties.map((p) => p.id);
  }

  result(exhaustive: boolean, stopped: ExploreResult['stopped'] = null, explored: number | null = null): ExploreResult {
    return { stats: this.stats, exhaustive, violations: this.violations, deadlock: this.deadlock, stopped, explored };
  }
}

/**
 * Does a violation at step `step` make a shorter counterexample than `prev`? The first one found
 * stays on a tie, so that the counterexample is the one the walk met first.
 */
function breaksSooner(step: number, prev: Counterexample | undefined): boolean {
  return prev === undefined || (prev.violation !== null && step < prev.violation.step);
}

/** Is a deadlock after `length` steps a shorter counterexample than `prev` (the first stays on a tie)? */
function isShorter(length: number, prev: Counterexample | null): boolean {
  return prev === null || length < prev.trace.length;
}

/** The stop conditions of a run (ExploreOptions). */
type StopOptions = { readonly stopAtFirst?: boolean; readonly stopWhenAllViolated?: boolean; readonly stopNeedsDeadlock?: boolean };

/** Every property in `ids` violated (or, with none, a deadlock found); with `needDeadlock`, and a deadlock found. */
function allViolated(ids: readonly string[], violated: (id: string) => boolean, deadlock: boolean, needDeadlock: boolean): boolean {
  if ((ids.length === 0 || needDeadlock) && !deadlock) return false;
  return ids.every(violated);
}

/** The stop condition findings answer (Results.stopReason()), from what was violated and whether a deadlock was found. */
function stopOf(ids: readonly string[], violated: (id: string) => boolean, anyViolation: boolean, deadlock: boolean, opts: StopOptions): 'first-violation' | 'all-violated' | null {
  if (opts.stopAtFirst === true && (anyViolation || deadlock)) return 'first-violation';
  if (opts.stopWhenAllViolated === true && allViolated(ids, violated, deadlock, opts.stopNeedsDeadlock === true)) return 'all-violated';
  return null;
}

/** Drive an exploration's generator (one step per execution) to its end. */
export function runToEnd<R>(steps: Generator<void, R, boolean | undefined>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
