/**
 * ptlab as a library: `import { check, simulate, loadScenario } from 'ptlab'`.
 *
 * A scenario is given as the path of a YAML file, as data (the object a YAML or JSON parser
 * returns, validated by the same schema as a file: errors name the path in the object where a
 * file would give line and column), or as a scenario loadScenario() returned. Knob settings are
 * `"knob=value"` strings, as `--set` takes them, or an object: `{ batch_alloc: 'fails' }`.
 * Every problem with a scenario or an override throws one ScenarioError listing them all
 * (`error.issues`). docs/json.md describes the API and the results.
 *
 * This module is the package's public surface; everything else under dist/ is internal.
 */
import { decodeSchedule, type Schedule } from './core/schedule.js';
import type { Execution } from './core/execution.js';
import type { CheckOptions } from './engines/check/index.js';
import { checkScenario, checkScenarioPaced, estimateScenario, openScenario, replayScenario, simScenario, type CheckRun, type EstimateOptions, type JobsOption, type ScenarioOptions, type ScenarioSource, type SizeEstimate } from './api/index.js';
import { estimateJson } from './report/estimate.js';
import type { LoadedScenario } from './scenarios/resolve.js';
import type { SimConfig, SimRun } from './simulation/run.js';
import { checkJson, reportInputOf } from './report/check.js';
import { simJson } from './report/sim.js';
import { compareJson, type CompareRun } from './report/compare.js';
import { compareScenario, type CompareOptions } from './api/index.js';
import { replayTimedLoaded } from './api/timed.js';

export { compare, builtinScenarioDir, findScenarios, CatalogError } from './api/index.js';
export type { CheckRun, Comparison, EstimateOptions, EstimateRun, JobsOption, ScenarioOptions, ScenarioSource, SizeEstimate } from './api/index.js';
export type { ThreadWork } from './engines/check/workers.js';
export type { CheckMode, CheckOptions, CheckResult, Counterexample, ExploreStats, PropertyVerdict, Reduction, VerdictStatus } from './engines/check/index.js';
export type { Expectation, KnobSettings, LoadedScenario, Overrides, ResolvedScenario, Verdict } from './scenarios/resolve.js';
export type { ScenarioData, ScenarioInput } from './scenarios/schema.js';
export { ScenarioError, formatIssue } from './scenarios/loader.js';
export type { ScenarioIssue, SourcePos } from './scenarios/loader.js';
export { ScheduleSyntaxError, encodeSchedule, decodeSchedule } from './core/schedule.js';
export type { Schedule, ScheduleStep } from './core/schedule.js';
export type { Execution } from './core/execution.js';
export type { SimConfig, SimRun, ResolvedSim } from './simulation/run.js';
export { SimConfigError } from './simulation/run.js';
export { scenarioJsonSchema, resultJsonSchemas } from './schemas.js';

/**
 * Load, validate and resolve a scenario: its configuration after preset and knobs
 * (`.resolved`, as results echo it), its expected verdicts (`.expect`) and its runnable program.
 * Throws ScenarioError.
 */
export function loadScenario(source: ScenarioSource, opts: ScenarioOptions = {}): LoadedScenario {
  return openScenario(source, opts);
}

/** Options of check(): how to explore (CheckOptions), the scenario's overrides, and the threads to explore on. */
export type CheckApiOptions = Omit<CheckOptions, 'delegation'> & ScenarioOptions & JobsOption;

/**
 * Check a scenario: every interleaving (default: optimal DPOR on this thread, exploring on past
 * the first violations so that each counterexample is the shortest; `stopWhenAllViolated: true`
 * stops at the answer as the CLI does; `reduction: 'source-dpor', jobs: N` shares the exploration
 * among N threads, as the CLI does, with the same results), preemption-bounded or random. Returns the verdicts (`result`),
 * how they compare with the scenario's `expect:` (`comparison.ok`), and the scenario.
 */
export function check(source: ScenarioSource, opts: CheckApiOptions = {}): CheckRun {
  return checkScenario(source, opts);
}

/** check(), giving the event loop a turn between slices of work, and stopping when `signal` is aborted (`result.stopped: 'interrupted'`). */
export function checkAsync(source: ScenarioSource, opts: CheckApiOptions & { readonly signal?: AbortSignal } = {}): Promise<CheckRun> {
  return checkScenarioPaced(source, opts);
}

/** The `ptlab.check/2` JSON document of a check (`ptlab check --json` prints the same). */
export function checkReport(run: CheckRun): unknown {
  return checkJson(reportInputOf(run));
}

/**
 * How big the exhaustive check of `source` would be, extrapolated from smaller runs with fewer of
 * its identical CPUs (`ptlab check --estimate`; docs/checker.md §3.2).
 */
export function estimate(source: ScenarioSource, opts: EstimateOptions = {}): SizeEstimate {
  return estimateScenario(source, opts);
}

/** The `ptlab.estimate/1` document of an estimate(), as `ptlab check --estimate --json` prints it. */
export function estimateReport(e: SizeEstimate): unknown {
  return estimateJson(e);
}

/**
 * Options of simulate(): the scenario's overrides, and the simulation's, each over the
 * scenario's `sim:` section: `profile`, `duration` (ns), `seed`, `work` (rounds of each workload
 * CPU's run list), `jitter`, `params` (cost parameters in ns), `chance`, `cstates`, `onProgress`.
 */
export type SimulateOptions = ScenarioOptions & Partial<SimConfig>;

/** Simulate a scenario in time: metrics (IPIs, latencies, grace periods) and the violations seen. */
export function simulate(source: ScenarioSource, opts: SimulateOptions = {}): { scenario: LoadedScenario; run: SimRun } {
  const { purpose: _purpose, preset, set, maxCpus, maxSteps, name, ...sim } = opts;
  const overrides: ScenarioOptions = { ...(preset !== undefined ? { preset } : {}), ...(set !== undefined ? { set } : {}), ...(maxCpus !== undefined ? { maxCpus } : {}), ...(maxSteps !== undefined ? { maxSteps } : {}), ...(name !== undefined ? { name } : {}) };
  return simScenario(source, overrides, sim);
}

/**
 * Re-execute a scenario along a schedule (a counterexample's `schedule`, as text or decoded):
 * `exec.violations` lists what broke, `exec.trace` every step.
 */
export function replay(source: ScenarioSource, schedule: string | Schedule, opts: ScenarioOptions = {}): { scenario: LoadedScenario; exec: Execution } {
  return replayScenario(source, typeof schedule === 'string' ? decodeSchedule(schedule) : schedule, opts);
}

// Strategies of the user's own (docs/strategies.md): the file's default export, the hooks' API.
export type { StrategyFile } from './scenarios/strategy-file.js';
export { loadStrategyFile } from './scenarios/strategy-file.js';
export type { Strategy } from './strategies/index.js';
export type { ArchInfo, HookApi, HookArgs, HookContext, HookName, StrategyHooks } from './model/strategy-hooks.js';
export type { KernelConfig } from './model/config.js';
export type { Op, Proc } from './core/op.js';

/** The `ptlab.sim/1` JSON document of a simulation (`ptlab sim --json` prints the same). */
export function simReport(r: { scenario: LoadedScenario; run: SimRun }): unknown {
  return simJson(r.scenario.resolved, r.run);
}

/** Options of compareStrategies(): the scenario's overrides, the simulation's, and the seeds and mode of the comparison. */
export type CompareStrategiesOptions = SimulateOptions & CompareOptions;

/**
 * The same workload under each strategy (default: the scenario's sim.strategies), on each seed,
 * as `ptlab compare` runs it: fixed work by default, fixed time with `fixedTime`.
 */
export function compareStrategies(source: ScenarioSource, strategies?: readonly string[], opts: CompareStrategiesOptions = {}): CompareRun[] {
  const { purpose: _purpose, preset: _preset, set, maxCpus, maxSteps, name, seeds, fixedTime, onRun, ...sim } = opts;
  const overrides: ScenarioOptions = { ...(set !== undefined ? { set } : {}), ...(maxCpus !== undefined ? { maxCpus } : {}), ...(maxSteps !== undefined ? { maxSteps } : {}), ...(name !== undefined ? { name } : {}) };
  return compareScenario(source, strategies, overrides, sim, { ...(seeds !== undefined ? { seeds } : {}), ...(fixedTime !== undefined ? { fixedTime } : {}), ...(onRun ? { onRun } : {}) });
}

/** The `ptlab.compare/2` JSON document of a comparison (`ptlab compare --json` prints the same). */
export function compareReport(runs: readonly CompareRun[]): unknown {
  return compareJson(runs);
}
export type { CompareRun } from './report/compare.js';
export type { CompareOptions } from './api/index.js';
// Timed replay and the browser explorer (issue #15)
export type { TimedReplay, TimedWindow, TimedCpu } from './api/timed.js';

/**
 * Re-execute a scenario along a checker's schedule in the timed simulator: each step takes the
 * time it costs on the machine profile `opts.profile` (default: the scenario's sim.profile, else
 * the arch's default). Returns the race window of the first violation in ns, the IPIs per CPU
 * and how long each CPU was held up (docs/serve.md).
 */
export function replayTimed(source: ScenarioSource, schedule: string | Schedule, opts: ScenarioOptions & Partial<SimConfig> = {}): { scenario: LoadedScenario; timed: import('./api/timed.js').TimedReplay } {
  const { preset, set, maxCpus, maxSteps, name, purpose: _purpose, ...sim } = opts;
  const scenario = openScenario(source, { ...(preset !== undefined ? { preset } : {}), ...(set !== undefined ? { set } : {}), ...(maxCpus !== undefined ? { maxCpus } : {}), ...(maxSteps !== undefined ? { maxSteps } : {}), ...(name !== undefined ? { name } : {}) });
  return { scenario, timed: replayTimedLoaded(scenario, typeof schedule === 'string' ? decodeSchedule(schedule) : schedule, sim) };
}
export { timedReplayText, timedReplayJson } from './report/timed-replay.js';
