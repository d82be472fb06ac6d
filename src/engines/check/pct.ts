/**
 * Randomised exploration with probabilistic concurrency testing (PCT: Burckhardt, Kothari,
 * Musuvathi and Nagarakatte, "A randomized scheduler with probabilistic guarantees of finding
 * bugs", ASPLOS 2010), for configurations too large to explore exhaustively.
 *
 * Each execution gives every thread a distinct random priority (at least `depth`) and picks
 * `depth - 1` random change points among the first `k` steps; it always runs the enabled thread
 * with the highest priority, and at the i-th change point drops the running thread's priority to
 * i. A bug of depth d is then found in each execution with probability at least 1/(n·k^(d-1)).
 * Threads created during the execution (IPI handlers, callbacks) get a random priority when they
 * appear. Choices (an allocation fails or not) are drawn uniformly.
 *
 * Like shuttle's PCT we estimate k from the longest execution seen so far. Everything is drawn
 * from one seeded PRNG stream, so `executions` and `seed` determine the result.
 */
import { Execution, type Program } from '../../core/execution.js';
import { Prng } from '../../core/prng.js';
import type { ScheduleStep } from '../../core/schedule.js';
import { Results, runToEnd, type ExploreResult, type ExploreStats } from './results.js';

export interface PctOptions {
  readonly executions: number;
  readonly seed: number;
  /** Bug depth d: d-1 priority change points per execution (default 3). */
  readonly depth?: number;
  readonly stopWhenAllViolated?: boolean;
  readonly stopNeedsDeadlock?: boolean;
  readonly stopAtFirst?: boolean;
  readonly onExecution?: (stats: ExploreStats) => void;
}

export function explorePct(program: Program, opts: PctOptions): ExploreResult {
  return runToEnd(pctSteps(program, opts));
}

/**
 * explorePct() one execution per step of the generator; the caller may stop it between two
 * (`next(true)`), and the result then says 'interrupted'.
 */
export function* pctSteps(program: Program, opts: PctOptions): Generator<void, ExploreResult, boolean | undefined> {
  const rng = new Prng(opts.seed);
  const depth = opts.depth ?? 3;
  const results = new Results(program);
  let k = 64;
  for (let run = 0; run < opts.executions; run++) {
    const exec = new Execution(program);
    const priority = new Map<number, number>();
    let next = depth;
    // Distinct random priorities: shuffle by drawing a random key per thread as it appears.
    const prio = (tid: number): number => {
      let p = priority.get(tid);
      if (p === undefined) {
        p = next + rng.nextFloat();
        next += 1;
        priority.set(tid, p);
      }
      return p;
    };
    // A random permutation of the initial threads' priorities.
    const initial = exec.threads.map((t) => t.id);
    for (let i = initial.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [initial[i], initial[j]] = [initial[j] as number, initial[i] as number];
    }
    for (const t of initial) prio(t);
    const changeAt = new Map<number, number>();
    for (let i = 1; i < depth; i++) changeAt.set(rng.nextInt(k), i);
    const schedule: ScheduleStep[] = [];
    for (;;) {
      const enabled = exec.enabled();
      if (enabled.length === 0) break;
      let best = enabled[0] as number;
      for (const t of enabled) if (prio(t) > prio(best)) best = t;
      const step = exec.stepCount;
      const lowered = changeAt.get(step);
      if (lowered !== undefined) {
        priority.set(best, lowered - 1 + rng.nextFloat() * 0.5);
        best = enabled[0] as number;
        for (const t of enabled) if (prio(t) > prio(best)) best = t;
      }
      const p = exec.pending(best);
      const choice = p.kind === 'choose' ? rng.nextInt(p.options?.length ?? 1) : undefined;
      exec.step(best, choice);
      results.stats.steps++;
      schedule.push(choice === undefined ? { thread: best } : { thread: best, choice });
    }
    results.record(exec, () => [...schedule], true);
    k = Math.max(k, exec.trace.length);
    opts.onExecution?.(results.stats);
    if (results.stopReason(opts) !== null) break;
    if (run + 1 < opts.executions && (yield) === true) return results.result(false, 'interrupted');
  }
  return results.result(false);
}
