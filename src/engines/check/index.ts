/**
 * The checker's entry point: explore a program with one of three strategies and turn the
 * exploration into verdicts, one per property, each with the shortest counterexample found; plus
 * deadlocks.
 *
 *  - exhaustive: every interleaving up to partial-order reduction (DPOR), or without reduction;
 *  - bounded: every schedule with at most K preemptions (no reduction);
 *  - random: N PCT executions from a seed.
 * Only an exhaustive run can say "holds"; the others, and an exhaustive one stopped early, say
 * "no violation found" of a property they did not see violated (VerdictStatus).
 */
import type { Program } from '../../core/execution.js';
import { Explorer, type Counterexample, type ExploreResult, type ExploreStats } from './dpor.js';
import { explorePct, pctSteps, type PctOptions } from './pct.js';
import type { Delegation } from './subtree.js';

export type { Counterexample, ExploreStats } from './dpor.js';

/** 'dpor': optimal DPOR with wakeup trees; 'source-dpor': source-set DPOR; 'none': every interleaving. */
export type Reduction = 'dpor' | 'source-dpor' | 'none';

export type CheckMode =
  | { readonly kind: 'exhaustive' }
  | { readonly kind: 'bounded'; readonly preemptions: number }
  | { readonly kind: 'random'; readonly executions: number; readonly seed: number; readonly depth?: number };

export interface CheckOptions {
  readonly mode?: CheckMode;
  /** For exhaustive mode: 'dpor' (default), 'source-dpor' or 'none' (every interleaving). */
  readonly reduction?: Reduction;
  /** Bound on executions; past it the verdicts are "not violated within the bound". */
  readonly maxExecutions?: number;
  /** Progress callback, called after every execution; `explored()` estimates the share done (exhaustive and bounded modes). */
  readonly onProgress?: (stats: Readonly<ExploreStats>, explored?: () => number) => void;
  /**
   * Stop once every property is violated: the verdicts are known, the counterexamples may not be
   * the shortest. `ptlab check` does this unless --shortest.
   */
  readonly stopWhenAllViolated?: boolean;
  /** With stopWhenAllViolated: a deadlock must be found too before stopping (the scenario expects one). */
  readonly stopNeedsDeadlock?: boolean;
  /**
   * Stop at the first counterexample of any property (or deadlock), as Spin stops at its first
   * error: the other properties are then 'no-violation-found'. `ptlab check --first`.
   */
  readonly stopAtFirst?: boolean;
  /**
   * An exhaustive source-set DPOR run shares its subtrees with the explorers behind this
   * (subtree.ts; workers.ts puts them on worker threads). The results are the same as alone.
   */
  readonly delegation?: Delegation;
}

/**
 * 'holds' only from an exhaustive exploration: no execution of the model violates the property.
 * A bounded, capped or random exploration that found none says 'no-violation-found'.
 */
export type VerdictStatus = 'holds' | 'violated' | 'no-violation-found';

export interface PropertyVerdict {
  readonly id: string;
  readonly title: string;
  readonly status: VerdictStatus;
  readonly counterexample: Counterexample | null;
}

export interface CheckResult {
  readonly program: string;
  readonly mode: CheckMode;
  readonly reduction: Reduction;
  /** True when every interleaving (up to reduction) was explored. */
  readonly exhaustive: boolean;
  readonly stats: Readonly<ExploreStats>;
  readonly verdicts: readonly PropertyVerdict[];
  readonly deadlock: Counterexample | null;
  /** Why an exhaustive-mode run stopped before the end (see ExploreResult.stopped); 'interrupted' in any mode. */
  readonly stopped: 'all-violated' | 'first-violation' | 'max-executions' | 'interrupted' | null;
  /** Exhaustive mode: the estimated share of the space explored (1 when it finished); else null. */
  readonly explored: number | null;
}

export function check(program: Program, opts: CheckOptions = {}): CheckResult {
  const mode = opts.mode ?? { kind: 'exhaustive' };
  const result = mode.kind === 'random' ? explorePct(program, pctOptions(mode, opts)) : explorer(program, mode, opts).run();
  return verdicts(program, mode, opts, result);
}

/**
 * check(), in slices of about `sliceMs` of work with the event loop let run between them, so
 * that `signal` can stop it: the run then ends after the execution it is in, with the verdicts
 * known so far (`stopped: 'interrupted'`).
 */
export async function checkPaced(program: Program, opts: CheckOptions & { readonly signal?: AbortSignal; readonly sliceMs?: number } = {}): Promise<CheckResult> {
  const mode = opts.mode ?? { kind: 'exhaustive' };
  const steps = mode.kind === 'random' ? pctSteps(program, pctOptions(mode, opts)) : explorer(program, mode, opts).explore();
  const slice = opts.sliceMs ?? 50;
  let asked = false;
  for (;;) {
    const until = performance.now() + slice;
    for (;;) {
      const r = steps.next(asked);
      if (r.done) return verdicts(program, mode, opts, r.value);
      if (performance.now() >= until) break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (opts.signal?.aborted) asked = true;
  }
}

function explorer(program: Program, mode: Exclude<CheckMode, { kind: 'random' }>, opts: CheckOptions): Explorer {
  const split = mode.kind === 'exhaustive' && opts.reduction === 'source-dpor';
  return new Explorer(program, {
    delegation: split ? opts.delegation : undefined,
    reduction: mode.kind === 'exhaustive' ? (opts.reduction ?? 'dpor') : 'none',
    preemptionBound: mode.kind === 'bounded' ? mode.preemptions : undefined,
    maxExecutions: opts.maxExecutions,
    stopWhenAllViolated: opts.stopWhenAllViolated,
    stopNeedsDeadlock: opts.stopNeedsDeadlock,
    stopAtFirst: opts.stopAtFirst,
    onExecution: opts.onProgress,
  });
}

function pctOptions(mode: Extract<CheckMode, { kind: 'random' }>, opts: CheckOptions): PctOptions {
  return { executions: mode.executions, seed: mode.seed, depth: mode.depth, stopWhenAllViolated: opts.stopWhenAllViolated, stopNeedsDeadlock: opts.stopNeedsDeadlock, stopAtFirst: opts.stopAtFirst, onExecution: opts.onProgress };
}

function verdicts(program: Program, mode: CheckMode, opts: CheckOptions, result: ExploreResult): CheckResult {
  const reduction = mode.kind === 'exhaustive' ? (opts.reduction ?? 'dpor') : 'none';
  // A bounded exploration that completed covered the bound, not every interleaving.
  const exhaustive = mode.kind === 'exhaustive' && result.exhaustive;
  const verdicts = program.properties.map((p): PropertyVerdict => {
    const cx = result.violations.get(p.id) ?? null;
    return { id: p.id, title: p.title, status: cx ? 'violated' : exhaustive ? 'holds' : 'no-violation-found', counterexample: cx };
  });
  const stopped = mode.kind === 'exhaustive' || result.stopped === 'interrupted' ? result.stopped : null;
  return { program: program.name, mode, reduction, exhaustive, stats: result.stats, verdicts, deadlock: result.deadlock, stopped, explored: mode.kind === 'exhaustive' ? result.explored : null };
}
