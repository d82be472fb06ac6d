/**
 * The size of an exhaustive exploration before it starts, from smaller runs of the same scenario
 * (`ptlab check --estimate`). Random probes of the tree, GenMC's way, did not work here
 * (docs/performance.md); what does is the structure the scenarios have: identical CPUs (the same
 * workload, mm and per-CPU options). The scenario is run exhaustively with 0, 1, 2, ... of them,
 * while the runs stay under a cap, and the executions of the whole are extrapolated from the
 * growth of the last two: walkers that never touch each other's state multiply the executions by
 * the same factor per CPU (docs/performance.md § Side by side with Spin), so the extrapolation is
 * exact there, and an estimate wherever the CPUs interact.
 *
 * Deterministic: which runs are made depends on their execution counts, never on time. The
 * times are reported beside them (and left out of the JSON).
 */
import { check, type Reduction } from '../engines/check/index.js';
import { cpuList } from '../report/format.js';
import { resolveScenario } from '../scenarios/resolve.js';
import { identicalCpus, withoutCpus } from '../scenarios/shrink.js';
import { openScenario, type ScenarioOptions, type ScenarioSource } from './index.js';

/** One smaller run: with `kept` of the identical CPUs. */
export interface EstimateRun {
  readonly kept: number;
  readonly executions: number;
  /** False when the run reached the cap (its count is then a lower bound, and it is not used). */
  readonly exhaustive: boolean;
  readonly ms: number;
}

export interface SizeEstimate {
  readonly scenario: string;
  readonly reduction: Reduction;
  /** The identical CPUs the estimate varies (the largest class), or empty when there are none. */
  readonly identical: readonly number[];
  readonly runs: readonly EstimateRun[];
  /** Executions per added CPU, from the last two exhaustive runs; null with fewer than two. */
  readonly growth: number | null;
  /** The estimated executions of the whole exploration (past 2^53 not an exact integer), or null (see `why`). */
  readonly executions: number | null;
  /** The estimated time of the whole on one thread, at the rate of the largest run. */
  readonly seconds: number | null;
  /** Why there is no estimate. */
  readonly why: string | null;
}

export interface EstimateOptions extends ScenarioOptions {
  /** 'source-dpor' by default, as `ptlab check`. */
  readonly reduction?: Reduction;
  /** The most executions a smaller run may take (default 100,000): a run predicted past it is not made. */
  readonly cap?: number;
  /** Called after each smaller run (progress). */
  readonly onRun?: (run: EstimateRun) => void;
}

export const DEFAULT_ESTIMATE_CAP = 100_000;

/**
 * Estimate the executions of exploring `source` exhaustively (every interleaving up to the
 * reduction; a run that stops at the answer may explore fewer).
 */
export function estimateScenario(source: ScenarioSource, opts: EstimateOptions = {}): SizeEstimate {
  const full = openScenario(source, opts);
  const file = full.file;
  const reduction = opts.reduction ?? 'source-dpor';
  const cap = opts.cap ?? DEFAULT_ESTIMATE_CAP;
  const name = full.resolved.name;
  const classes = identicalCpus(file);
  const none = (why: string, identical: readonly number[] = [], runs: readonly EstimateRun[] = []): SizeEstimate => ({ scenario: name, reduction, identical, runs, growth: null, executions: null, seconds: null, why });
  if (classes.length === 0) return none('no two CPUs are identical (the same workload, mm and options), so there is nothing to extrapolate from');
  const identical = classes.reduce((a, b) => (b.length > a.length ? b : a));
  const runs: EstimateRun[] = [];
  /** The exhaustive runs, in order: all of `runs` but a last one that reached the cap. */
  const done: EstimateRun[] = [];
  // With none of them the rest of the machine still runs something, unless they are all of it.
  for (let kept = identical.length < full.program.machine.cpus ? 0 : 1; kept < identical.length; kept++) {
    const [before, last] = done.slice(-2);
    if (before && last && (last.executions * last.executions) / before.executions > cap) break;
    const smaller = resolveScenario(withoutCpus(file, identical.slice(kept)), full.overrides);
    const t0 = performance.now();
    const r = check(smaller.program, { reduction, maxExecutions: cap });
    const run: EstimateRun = { kept, executions: r.stats.executions, exhaustive: r.exhaustive, ms: performance.now() - t0 };
    runs.push(run);
    opts.onRun?.(run);
    if (!run.exhaustive) break;
    done.push(run);
  }
  const [before, last] = done.slice(-2);
  if (!before || !last) {
    const capped = runs.length > done.length;
    return none(
      capped
        ? `the smaller runs pass ${cap.toLocaleString('en-US')} executions before two of them finish`
        : `only one smaller run can be made (CPUs ${cpuList(identical)} are the whole machine, and a scenario needs a CPU), so there is no growth to extrapolate`,
      identical,
      runs,
    );
  }
  const growth = last.executions / before.executions;
  const executions = Math.round(last.executions * growth ** (identical.length - last.kept));
  if (!Number.isFinite(executions)) return { ...none(`the estimate is past the largest number JavaScript holds (about 1.8e308 executions): growth ${growth.toFixed(1)}x over ${identical.length - last.kept} more CPUs`, identical, runs), growth };
  const seconds = (executions * last.ms) / last.executions / 1000;
  return { scenario: name, reduction, identical, runs, growth, executions, seconds, why: null };
}
