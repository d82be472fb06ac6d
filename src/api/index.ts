/**
 * The programmatic API the CLI (and later the web UI) is a thin shell over: load a scenario,
 * check it, compare with its expected verdicts, replay a schedule, walk the catalog.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replay, type Execution } from '../core/index.js';
import type { Schedule } from '../core/schedule.js';
import { check, checkPaced, type CheckOptions, type CheckResult } from '../engines/check/index.js';
import { loadScenario as readScenarioFile, scenarioFromData, type ScenarioFile } from '../scenarios/loader.js';
import { compare, type Comparison } from './compare.js';
import { programSourceOf } from './program-source.js';
import { WorkerDelegation, type ThreadWork } from '../engines/check/workers.js';
import { resolveScenario, type KnobSettings, type LoadedScenario, type Overrides } from '../scenarios/resolve.js';
import type { ScenarioInput } from '../scenarios/schema.js';
import { isStrategyPath, loadStrategyFile } from '../scenarios/strategy-file.js';
import { SimConfigError, simConfigOf, simulateScenario, type SimConfig, type SimRun } from '../simulation/run.js';
import type { SimObserver } from '../engines/sim/engine.js';

/**
 * A scenario: the path of a YAML file, the scenario as data (a parsed YAML or JSON object,
 * validated by the same schema as a file), or a scenario loadScenario() returned (resolved again
 * with the new overrides).
 */
export type ScenarioSource = string | ScenarioInput | LoadedScenario;

/** Overrides, and the name a scenario given as data goes by in messages and results (default `<object>`). */
export type ScenarioOptions = Overrides & { readonly name?: string };

function isLoaded(s: object): s is LoadedScenario {
  return 'resolved' in s && 'program' in s && 'file' in s;
}

/** The validated file of a scenario source (not yet resolved). */
export function scenarioFileOf(source: ScenarioSource, name?: string): ScenarioFile {
  if (typeof source === 'string') return readScenarioFile(source);
  if (source !== null && typeof source === 'object' && isLoaded(source)) return source.file;
  return scenarioFromData(source, name);
}

/**
 * Load, validate and resolve a scenario (throws ScenarioError listing every problem). A loaded
 * scenario keeps its preset, knob settings and limits, with `opts` on top.
 */
export function openScenario(source: ScenarioSource, opts: ScenarioOptions = {}): LoadedScenario {
  return resolveScenario(scenarioFileOf(source, opts.name), inherit(source, opts));
}

/** The overrides of a loaded scenario (not its purpose or work), with `opts` on top. */
function inherit(source: ScenarioSource, opts: ScenarioOptions): ScenarioOptions {
  if (typeof source !== 'object' || source === null || !isLoaded(source)) return opts;
  const { preset, set, maxCpus, maxSteps } = source.overrides;
  const sets = [set, opts.set].flatMap((x) => (x === undefined ? [] : Array.isArray(x) ? x : [x as KnobSettings]));
  return {
    ...(preset !== undefined ? { preset } : {}),
    ...(maxCpus !== undefined ? { maxCpus } : {}),
    ...(maxSteps !== undefined ? { maxSteps } : {}),
    ...opts,
    ...(sets.length > 0 ? { set: sets } : {}),
  };
}

/** A scenario's name in messages: its file, or the name given to data. */
function labelOf(source: ScenarioSource, name?: string): string {
  if (typeof source === 'string') return source;
  return isLoaded(source as object) ? (source as LoadedScenario).file.file : (name ?? '<object>');
}

export { compare, type Comparison } from './compare.js';
export { estimateScenario, DEFAULT_ESTIMATE_CAP, type EstimateOptions, type EstimateRun, type SizeEstimate } from './estimate.js';

export interface CheckRun {
  readonly scenario: LoadedScenario;
  readonly result: CheckResult;
  readonly comparison: Comparison;
  readonly elapsedMs: number;
  /** Threads the exploration ran on: more than 1 only for an exhaustive source-set DPOR run with `jobs`, once its workers started. */
  readonly threads: number;
  /** With more than one thread: how each spent the run (this one first). */
  readonly work?: readonly ThreadWork[];
}

/** What checkScenario() takes: the checker's options, the scenario's, and the number of explorers. */
export type CheckScenarioOptions = CheckOptions & ScenarioOptions & JobsOption;

export interface JobsOption {
  /**
   * Explorers of an exhaustive source-set DPOR run (default 1): this thread and jobs - 1 worker
   * threads share its subtrees (src/engines/check/subtree.ts), with the same results.
   */
  readonly jobs?: number;
  /** When the worker threads start, in ms into the run (default 3000: shorter runs gain nothing from them). */
  readonly jobsAfterMs?: number;
}

/** Worker threads for a run that asks for more than one explorer and can split. */
function workersFor(scenario: LoadedScenario, opts: CheckOptions & JobsOption): WorkerDelegation | undefined {
  const jobs = opts.jobs ?? 1;
  const exhaustive = (opts.mode ?? { kind: 'exhaustive' }).kind === 'exhaustive';
  if (jobs <= 1 || !exhaustive || opts.reduction !== 'source-dpor') return undefined;
  return new WorkerDelegation(scenario.program, programSourceOf(scenario), jobs, opts.jobsAfterMs);
}

/** A run's record: its verdicts against the expected ones, its time, and its threads. */
function checkRunOf(scenario: LoadedScenario, result: CheckResult, elapsedMs: number, workers: WorkerDelegation | undefined): CheckRun {
  const threads = workers?.threads ?? 1;
  return { scenario, result, comparison: compare(scenario.expect, result), elapsedMs, threads, ...(workers && threads > 1 ? { work: workers.work() } : {}) };
}

/** What checkScenario() and checkScenarioPaced() set up: the scenario, its workers, the checker's options. */
function startRun<O extends CheckScenarioOptions>(source: ScenarioSource, opts: O): { scenario: LoadedScenario; workers: WorkerDelegation | undefined; checkOpts: O & CheckOptions; t0: number } {
  const scenario = openScenario(source, opts);
  const t0 = performance.now();
  const workers = workersFor(scenario, opts);
  // Stopping at the answer must not stop before a deadlock the scenario expects is found.
  const checkOpts = { ...opts, delegation: workers, stopNeedsDeadlock: opts.stopNeedsDeadlock ?? scenario.expect.deadlock === true };
  return { scenario, workers, checkOpts, t0 };
}

export function checkScenario(source: ScenarioSource, opts: CheckScenarioOptions = {}): CheckRun {
  const { scenario, workers, checkOpts, t0 } = startRun(source, opts);
  let result: CheckResult;
  try {
    result = check(scenario.program, checkOpts);
  } finally {
    workers?.close();
  }
  return checkRunOf(scenario, result, performance.now() - t0, workers);
}

/**
 * checkScenario(), interruptible: the exploration runs in slices with the event loop let run
 * between them, and stops when `signal` is aborted, with the verdicts known so far
 * (result.stopped 'interrupted').
 */
export async function checkScenarioPaced(source: ScenarioSource, opts: CheckScenarioOptions & { readonly signal?: AbortSignal } = {}): Promise<CheckRun> {
  const { scenario, workers, checkOpts, t0 } = startRun(source, opts);
  let result: CheckResult;
  try {
    result = await checkPaced(scenario.program, checkOpts);
  } finally {
    workers?.close();
  }
  return checkRunOf(scenario, result, performance.now() - t0, workers);
}

/** Re-execute a scenario along a schedule. */
export function replayScenario(source: ScenarioSource, schedule: Schedule, overrides: ScenarioOptions = {}): { scenario: LoadedScenario; exec: Execution } {
  const scenario = openScenario(source, overrides);
  return { scenario, exec: replay(scenario.program, schedule) };
}

/** The built-in scenario directory shipped with the package. */
export function builtinScenarioDir(): string {
  return resolvePath(fileURLToPath(new URL('.', import.meta.url)), '../../scenarios');
}

/** A scenario directory that cannot be read. */
export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** Every .yaml file under `dir`, sorted, as paths relative to the working directory when shorter. */
export function findScenarios(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch (e) {
      throw new CatalogError(`${d}: cannot read the scenario directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    for (const name of names) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
    }
  };
  walk(dir);
  return out.map((p) => {
    const rel = relative(process.cwd(), p);
    return rel.length < p.length && !rel.startsWith('..') ? rel : p;
  });
}

/** Simulate a scenario file (its `sim:` section, with command-line overrides). */
export function simScenario(source: ScenarioSource, overrides: ScenarioOptions = {}, cli: Partial<SimConfig> = {}, extra: readonly SimObserver[] = []): { scenario: LoadedScenario; run: SimRun } {
  const scenario = openScenario(source, { ...overrides, purpose: 'sim', ...(cli.work !== undefined ? { work: cli.work } : {}) });
  return { scenario, run: simulateScenario(scenario, simConfigOf(scenario, cli), extra) };
}

/** Rounds per workload CPU of a fixed-work compare when neither the command line nor the scenario says. */
export const DEFAULT_WORK = 100;

export interface CompareOptions {
  /** Seeds to replicate each strategy on (default: the scenario's sim.seed, or cli.seed). */
  readonly seeds?: readonly number[];
  /**
   * Fixed time instead of fixed work (the default of compare: each workload CPU does cli.work,
   * else the scenario's sim.work, else DEFAULT_WORK rounds of its run list).
   */
  readonly fixedTime?: boolean;
  /** Called before each run. */
  readonly onRun?: (done: number, total: number, strategy: string, seed: number) => void;
}

/**
 * The same workload under each strategy, on each seed: the strategies come from the command line,
 * else the scenario's `sim.strategies`. Fixed work by default (equal work under every strategy).
 * Runs are returned strategy by strategy, seeds in the order given.
 */
export function compareScenario(source: ScenarioSource, strategies: readonly string[] | undefined, overrides: ScenarioOptions = {}, cli: Partial<SimConfig> = {}, opts: CompareOptions = {}): Array<{ strategy: string; seed: number; scenario: LoadedScenario; run: SimRun }> {
  const file = scenarioFileOf(source, overrides.name);
  const inherited = inherit(source, overrides);
  const base = resolveScenario(file, { ...inherited, purpose: 'sim' });
  const list = strategies ?? base.sim?.strategies;
  if (!list || list.length === 0) throw new SimConfigError(`${labelOf(source, overrides.name)}: no strategies to compare: give --strategies a,b or sim.strategies in the scenario`);
  const work = opts.fixedTime ? undefined : (cli.work ?? base.sim?.work ?? DEFAULT_WORK);
  const seeds = opts.seeds ?? [cli.seed ?? base.sim?.seed ?? 1];
  const total = list.length * seeds.length;
  const out: Array<{ strategy: string; seed: number; scenario: LoadedScenario; run: SimRun }> = [];
  for (const preset of list) {
    const scenario = resolveScenario(file, { ...inherited, preset, purpose: 'sim', ...(work !== undefined ? { work } : {}) });
    // A strategy file is labelled by its id (resolveScenario() has loaded it).
    const strategy = isStrategyPath(preset) ? loadStrategyFile(preset).id : preset;
    for (const seed of seeds) {
      opts.onRun?.(out.length, total, strategy, seed);
      const cfg = simConfigOf(scenario, { ...cli, seed, work });
      out.push({ strategy, seed, scenario, run: simulateScenario(scenario, cfg) });
    }
  }
  return out;
}
