/**
 * The `ptlab` command line: a thin shell over src/api. Every command parses its options, calls
 * the API, renders the result (text or JSON) and sets the exit code:
 *   0  the verdicts are as the scenario expects (or the command succeeded)
 *   1  a verdict differs from the expectation (or an unexpected violation)
 *   2  bad input: the scenario, the options or the schedule (the message says where)
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ModelError, StepLimitError } from '../core/execution.js';
import { decodeSchedule, ScheduleSyntaxError } from '../core/schedule.js';
import { ScenarioError } from '../scenarios/loader.js';
import { CatalogError, checkScenarioPaced, builtinScenarioDir, compareScenario, estimateScenario, findScenarios, replayScenario, simScenario, type CheckRun, type SizeEstimate } from '../api/index.js';
import { WindowRecorder, SimConfigError, type SimConfig, type SimRun } from '../simulation/run.js';
import { simJson, simText } from '../report/sim.js';
import { compareGroups, compareJson, compareText } from '../report/compare.js';
import { parseSeeds } from '../report/stats.js';
import { duration } from '../scenarios/schema.js';
import { openScenario, type Overrides } from '../scenarios/resolve.js';
import { PROFILES } from '../profiles/index.js';
import { catalogText, checkJson, checkText, reportInputOf } from '../report/check.js';
import { estimateJson, estimateText } from '../report/estimate.js';
import { renderTrace } from '../report/trace-text.js';
import { encodeSchedule } from '../core/schedule.js';
import { strategies } from '../strategies/index.js';
import { isStrategyPath, loadStrategyFile } from '../scenarios/strategy-file.js';
import { INVARIANTS } from '../invariants/index.js';
import { DEFAULT_CONFIG, KNOB_VALUES, ARCH_IDS, type KnobId } from '../model/config.js';
import { isMerged, KNOB_PROVENANCE, valueKey, type ValueProvenance } from '../model/provenance.js';
import { progress } from './progress.js';
import { formatSeconds } from '../report/format.js';
import { EXECUTION_LIMIT, executionLimitError, LimitError, MAX_CPUS, MEMORY_LIMIT_MB, memoryGuard } from './limits.js';
import { defaultJobs, workerPool } from './pool.js';
import { catalogRow, type CatalogOutcome, type CatalogTask } from './catalog-worker.js';
import type { CheckMode, CheckOptions, Reduction } from '../engines/check/index.js';
import { OutputError, writeFileAtomic } from './files.js';
import { perfettoTrace } from '../report/perfetto.js';
import { renderTable } from '../report/table.js';
import { registerCalibrate, registerKernelRun } from '../kernel-run/cli.js';
import { readCalibration } from '../kernel-run/calibrate.js';
import { registerReportCommand, writeHtmlReport } from '../html-report/cli.js';
import { compareRecord, simRecord } from '../html-report/runs.js';
import { registerSweepCommands } from '../sweep/cli.js';
import { runTimedReplay, type TimedReplayFlags } from '../web/timed-cli.js';
import { registerServe } from '../web/serve-cli.js';

class UsageError extends Error {}

/** Decimal digits only: Number() would take '' as 0 and '1e3' as 1000. */
function integerArg(v: string): number {
  return /^\d+$/.test(v.trim()) ? Number(v) : NaN;
}

function positiveInt(v: string): number {
  const n = integerArg(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return n;
}

function nonNegativeInt(v: string): number {
  const n = integerArg(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${v}'`);
  return n;
}

/** A PRNG seed: 32 bits, as the generators take them (a larger one would be silently reduced). */
function seedArg(v: string): number {
  const n = nonNegativeInt(v);
  if (n > 0xffffffff) throw new InvalidArgumentError(`expected a seed below 2^32, got '${v}'`);
  return n;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface SimFlags {
  duration?: number;
  seed?: number;
  profile?: string;
  cost: string[];
  allocFailRate?: number;
  calibration?: string;
  jitter?: number;
  set: string[];
  json?: boolean;
  timing?: boolean;
  preset?: string;
  perfetto?: string;
  html?: string;
  window?: number;
  work?: number;
  maxCpus?: number;
  maxMemory: number;
}

function durationArg(v: string): number {
  const r = duration.safeParse(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v);
  if (!r.success) throw new InvalidArgumentError(`expected a duration such as 500ns, 100us, 10ms or 1s, at most 3600s, got '${v}'`);
  return r.data;
}

function seedList(v: string): number[] {
  const r = parseSeeds(v);
  if (typeof r === 'string') throw new InvalidArgumentError(r);
  return r;
}

function probability(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a probability in [0, 1], got '${v}'`);
  return n;
}

function maxCpusOf(flags: { maxCpus?: number }): { maxCpus?: number } {
  return flags.maxCpus !== undefined ? { maxCpus: flags.maxCpus } : {};
}

function simCli(flags: SimFlags, onProgress?: (time: number, steps: number) => void): Partial<SimConfig> {
  const params: Record<string, number> = {};
  for (const c of flags.cost) {
    const m = /^([\w.]+)=(\d+(?:\.\d+)?)$/.exec(c);
    if (!m) throw new UsageError(`--cost ${c}: expected PARAM=NANOSECONDS, e.g. ipi.delivery=900`);
    params[m[1] as string] = Number(m[2]);
  }
  const allocFailRate = flags.allocFailRate ?? (flags.calibration ? readCalibration(flags.calibration).sim.alloc_fail_rate : undefined);
  return {
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.duration !== undefined ? { duration: flags.duration } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.work !== undefined ? { work: flags.work } : {}),
    ...(flags.jitter !== undefined ? { jitter: flags.jitter } : {}),
    params,
    ...(allocFailRate !== undefined ? { chance: { allocFailRate } } : {}),
    ...(onProgress ? { onProgress } : {}),
  };
}

/**
 * The simulator's Perfetto trace: the recorded window and, when the run broke an invariant after
 * it, the steps before that violation (the text trace's), marked where it broke.
 */
function writeSimPerfetto(path: string, title: string, cpus: number, rec: WindowRecorder, run: SimRun): void {
  const fv = run.firstViolation;
  const steps = [...rec.steps];
  const inWindow = new Set(rec.steps.map((x) => x.rec.index));
  const later = fv ? fv.steps.filter((x) => !inWindow.has(x.rec.index)) : [];
  steps.push(...later);
  const times = new Map(steps.map((x) => [x.rec, { ts: x.start / 1000, dur: Math.max(0.001, (x.end - x.start) / 1000) }]));
  const threads = fv && fv.threadNames.length > rec.threadNames.length ? fv : rec;
  writeFileAtomic(path, JSON.stringify(perfettoTrace({
    title,
    trace: steps.map((x) => x.rec),
    threadNames: threads.threadNames,
    threadKinds: threads.threadKinds,
    threadCpus: threads.threadCpus,
    cpus,
    timeOf: (r) => times.get(r) ?? { ts: 0, dur: 0 },
    tables: rec.tables,
    violation: fv ? { step: fv.violation.step, property: fv.violation.property, message: fv.violation.message } : undefined,
    otherData: {
      window_ns: [0, Math.min(rec.end, run.result.time)],
      ...(later.length ? { violation_steps_ns: [later[0]?.start ?? 0, later[later.length - 1]?.end ?? 0], note: `the window, then the last ${later.length} steps before the first violation` } : {}),
    },
  })));
}

interface CheckFlags {
  catalog?: string | boolean;
  perfetto?: string;
  preemptions?: number;
  random?: number;
  seed: number;
  pctDepth: number;
  json?: boolean;
  reduction: Reduction;
  maxExecutions?: number;
  preset?: string;
  set: string[];
  timing?: boolean;
  width: number;
  shortest?: boolean;
  first?: boolean;
  jobs?: number;
  maxCpus?: number;
  maxSteps?: number;
  maxMemory: number;
  estimate?: boolean;
}

/** The shortest counterexample (first violated invariant, else the deadlock) as a Perfetto trace. */
function writePerfetto(path: string, run: CheckRun): void {
  const v = run.result.verdicts.find((x) => x.counterexample);
  const cx = v?.counterexample ?? run.result.deadlock;
  if (!cx) {
    // The verdicts still print: a run with nothing to export is an answer, not an error.
    process.stderr.write(`ptlab: --perfetto: ${run.scenario.resolved.name} has no counterexample to export (no invariant violated, no deadlock); ${path} not written\n`);
    return;
  }
  const trace = cx.violation ? cx.trace.slice(0, cx.violation.step + 1) : cx.trace;
  writeFileAtomic(path, JSON.stringify(perfettoTrace({
    title: `${run.scenario.resolved.name}: ${v ? v.id : 'deadlock'}`,
    trace,
    threadNames: cx.threadNames,
    threadKinds: cx.threadKinds,
    threadCpus: cx.threadCpus,
    cpus: run.scenario.resolved.cpus,
    violation: cx.violation ? { step: cx.violation.step, property: cx.violation.property, message: cx.violation.message } : undefined,
  })));
}

function modeOf(flags: CheckFlags): CheckMode {
  if (flags.preemptions !== undefined && flags.random !== undefined) throw new UsageError('--preemptions and --random are different modes: choose one');
  if (flags.preemptions !== undefined) return { kind: 'bounded', preemptions: flags.preemptions };
  if (flags.random !== undefined) return { kind: 'random', executions: flags.random, seed: flags.seed, depth: flags.pctDepth };
  return { kind: 'exhaustive' };
}

/** A check's progress line and memory limit, as its onProgress callback. */
function watchCheck(file: string, maxMemory: number): { onProgress: NonNullable<CheckOptions['onProgress']>; done: () => void } {
  const p = progress(file);
  const guard = memoryGuard(file, maxMemory);
  return {
    onProgress: (s, explored) => {
      guard();
      p.update(s.executions, { share: explored });
    },
    done: () => p.done(),
  };
}

/**
 * `check --catalog`: every scenario under the directory against its expected verdicts, on
 * `--jobs` workers (scenarios are independent; rows come back in file order whatever the number
 * of workers).
 */
async function runCatalog(files: string[], flags: CheckFlags, opts: CheckOptions & Overrides, limited: boolean, out: (s: string) => void): Promise<number> {
  const dir = typeof flags.catalog === 'string' ? flags.catalog : `${builtinScenarioDir()}/check`;
  const list = [...findScenarios(dir), ...files];
  if (list.length === 0) throw new UsageError(`no scenario files under ${dir}`);
  const jobs = Math.min(flags.jobs ?? defaultJobs(), list.length);
  const tasks: CatalogTask[] = list.map((file) => ({ file, opts, json: flags.json === true }));
  let outcomes: CatalogOutcome[];
  if (jobs <= 1) {
    outcomes = tasks.map((task) => {
      const w = watchCheck(task.file, flags.maxMemory);
      const o = catalogRow(task, w.onProgress);
      w.done();
      return o;
    });
  } else {
    const pool = workerPool(new URL('./catalog-worker.js', import.meta.url), jobs);
    const p = progress(`catalog on ${jobs} workers`);
    const t0 = Date.now();
    let done = 0;
    let executions = 0;
    try {
      outcomes = await Promise.all(
        tasks.map(async (task) => {
          const o = (await pool.run(task)) as CatalogOutcome;
          done++;
          executions += o.row.executions;
          p.update(executions, { detail: `${done}/${tasks.length} scenarios (${formatSeconds((Date.now() - t0) / 1000)})` });
          return o;
        }),
      );
    } finally {
      p.done();
      await pool.destroy();
    }
  }
  const rows = outcomes.map((o) => o.row);
  const stuck = rows.find((r) => limited && !r.exhaustive && r.executions >= EXECUTION_LIMIT);
  if (stuck) throw executionLimitError(stuck.file);
  out(flags.json ? JSON.stringify({ schema: 'ptlab.catalog/2', results: outcomes.map((o) => o.json), ok: rows.every((r) => r.ok) }, null, 2) : catalogText(rows, flags.timing !== false));
  return rows.every((r) => r.ok) ? 0 : 1;
}

async function runCheck(files: string[], flags: CheckFlags, out: (s: string) => void): Promise<number> {
  // By default stop once every checked invariant has a counterexample (the verdicts are then all
  // known); --shortest explores every interleaving to find the shortest counterexamples.
  const mode = modeOf(flags);
  if (flags.first && flags.shortest) throw new UsageError('--first stops at the first counterexample, --shortest explores everything: choose one');
  // Without --max-executions an exhaustive or bounded run is held to EXECUTION_LIMIT, an error if reached.
  const limited = flags.maxExecutions === undefined && mode.kind !== 'random';
  const opts: CheckOptions & Overrides = {
    mode,
    reduction: flags.reduction,
    maxExecutions: flags.maxExecutions ?? (limited ? EXECUTION_LIMIT : undefined),
    preset: flags.preset,
    set: flags.set,
    stopWhenAllViolated: flags.shortest !== true,
    stopAtFirst: flags.first === true,
    ...maxCpusOf(flags),
    ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
  };
  const atLimit = (file: string, run: CheckRun): void => {
    if (limited && run.result.stopped === 'max-executions') throw executionLimitError(file);
  };
  if (flags.estimate) return runEstimate(files, flags, opts, out);
  if (flags.catalog !== undefined) return runCatalog(files, flags, opts, limited, out);
  if (files.length === 0) throw new UsageError('check needs a scenario file (or --catalog)');
  if (flags.perfetto && files.length !== 1) throw new UsageError('--perfetto writes one trace: give exactly one scenario');
  // Every file is loaded before any runs: a bad one is an error (exit 2) with no partial output.
  for (const file of files) openScenario(file, opts);
  const jobs = flags.jobs ?? defaultJobs();
  if (flags.jobs !== undefined && flags.jobs > 1 && (mode.kind !== 'exhaustive' || flags.reduction !== 'source-dpor')) {
    process.stderr.write(`ptlab: --jobs ${flags.jobs}: only an exhaustive source-set DPOR exploration is shared among threads; this one runs on one\n`);
  }
  let ok = true;
  const json: unknown[] = [];
  const texts: string[] = [];
  // Ctrl-C: the run in progress stops after its current execution and what it found is printed,
  // marked as interrupted; the files after it are not checked; exit 130, as for SIGINT.
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    for (const file of files) {
      const w = watchCheck(file, flags.maxMemory);
      const run = await checkScenarioPaced(file, { ...opts, jobs, signal: abort.signal, onProgress: w.onProgress });
      w.done();
      atLimit(file, run);
      ok &&= run.comparison.ok;
      const input = reportInputOf(run);
      if (flags.perfetto) writePerfetto(flags.perfetto, run);
      if (flags.json) json.push(checkJson(input));
      else texts.push(checkText({ ...input, elapsedMs: flags.timing === false ? undefined : run.elapsedMs }, flags.width));
      if (abort.signal.aborted) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  out(flags.json ? JSON.stringify(json.length === 1 ? json[0] : json, null, 2) : texts.join('\n\n'));
  if (abort.signal.aborted) {
    process.stderr.write('ptlab: interrupted: the results above are partial\n');
    return 130;
  }
  return ok ? 0 : 1;
}

/**
 * `ptlab check --estimate`: the size of each scenario's exhaustive exploration, extrapolated from
 * smaller runs with fewer of its identical CPUs (src/api/estimate.ts); nothing is explored in full.
 */
function runEstimate(files: string[], flags: CheckFlags, opts: Overrides, out: (s: string) => void): number {
  const other = [flags.catalog !== undefined && '--catalog', flags.random !== undefined && '--random', flags.preemptions !== undefined && '--preemptions', flags.perfetto !== undefined && '--perfetto', flags.first && '--first', flags.shortest && '--shortest', flags.maxExecutions !== undefined && '--max-executions'].filter((x): x is string => typeof x === 'string');
  if (other.length > 0) throw new UsageError(`--estimate sizes an exhaustive check of scenario files without running it: not with ${other.join(', ')}`);
  if (files.length === 0) throw new UsageError('check --estimate needs a scenario file');
  // The estimate is for checks too large to run: the check's CPU limit does not apply (the
  // simulator's does), since the smaller runs it makes are capped (EstimateOptions.cap).
  const estimateOpts = { ...opts, maxCpus: flags.maxCpus ?? MAX_CPUS.sim };
  // Every file is loaded before any runs: a bad one is an error (exit 2) with no partial output.
  for (const file of files) openScenario(file, estimateOpts);
  const tty = process.stderr.isTTY === true;
  const estimates = files.map((file) =>
    estimateScenario(file, {
      ...estimateOpts,
      reduction: flags.reduction,
      onRun: tty ? (r) => process.stderr.write(`${file}: with ${r.kept} of the identical CPUs: ${r.exhaustive ? '' : 'more than '}${r.executions.toLocaleString('en-US')} executions\n`) : undefined,
    }),
  );
  out(flags.json ? JSON.stringify(estimates.length === 1 ? estimateJson(estimates[0] as SizeEstimate) : estimates.map(estimateJson), null, 2) : estimates.map((e) => estimateText(e, flags.timing !== false)).join('\n\n'));
  return 0;
}

/** `ptlab list knobs --json` / `list strategies --json`: the same data as the text, provenance included. */
function listJson(what: string): string {
  switch (what) {
    case 'strategies':
      return JSON.stringify(strategies().map((s) => ({ id: s.id, title: s.title, kernel: s.kernel, description: s.description, knobs: s.knobs })), null, 2);
    case 'knobs':
      return JSON.stringify(
        (Object.keys(KNOB_VALUES) as KnobId[]).map((k) => {
          const prov = KNOB_PROVENANCE[k];
          return {
            knob: k,
            description: prov.description,
            default: DEFAULT_CONFIG[k],
            values: Object.entries(prov.values as Readonly<Record<string, ValueProvenance>>).map(([value, v]) => ({ value, kind: v.kind, merged: isMerged(v), source: v.source })),
          };
        }),
        null,
        2,
      );
    default:
      throw new UsageError(`list --json: only strategies and knobs, not '${what}'`);
  }
}

function knobText(k: KnobId): string {
  const v = KNOB_VALUES[k];
  const prov = KNOB_PROVENANCE[k];
  const def = DEFAULT_CONFIG[k];
  const defKey = valueKey(def);
  const [head] = renderTable([[k, `${Array.isArray(v) ? v.join(' | ') : v}  (default ${String(def)})`]], { columns: [{ width: 32 }, {}], gap: ' ' });
  const rows = renderTable(
    Object.entries(prov.values as Readonly<Record<string, ValueProvenance>>).map(([value, p]) => [value === defKey ? '*' : ' ', value, p.kind, p.source]),
    { columns: [{}, { width: 26 }, { width: 14 }, {}], gap: ' ', indent: '  ' },
  );
  return [head, `    ${prov.description}`, ...rows].join('\n');
}

function listText(what: string): string {
  switch (what) {
    case 'strategies':
      return renderTable(strategies().flatMap((s) => [[s.id, s.title], ['', `kernel: ${s.kernel}`], ['', s.description]]), { columns: [{ width: 20 }, {}], gap: ' ' }).join('\n');
    case 'invariants':
      return renderTable(INVARIANTS.map((p) => [p.id, p.title]), { columns: [{ width: 28 }, {}], gap: ' ' }).join('\n');
    case 'knobs':
      return [
        '(* marks the default; kinds: mainline, historical (merged, since replaced), posted (not merged), counterfactual (no kernel), environment)',
        ...(Object.keys(KNOB_VALUES) as KnobId[]).map(knobText),
      ].join('\n');
    case 'arches':
      return ARCH_IDS.join('\n');
    case 'profiles':
      return renderTable(PROFILES.map((p) => [p.id, `${p.title} (arch ${p.arches.join(', ')})`]), { columns: [{ width: 12 }, {}], gap: ' ' }).join('\n');
    case 'costs':
      return PROFILES.map((p) => [`${p.id}:`, ...renderTable(Object.entries(p.params).map(([k, v]) => [k, String(v.value), `ns  [${v.status}] ${v.source}`]), { columns: [{ width: 28 }, { width: 10, align: 'right' }, {}], gap: ' ', indent: '  ' })].join('\n')).join('\n\n');
    case 'scenarios':
      return findScenarios(builtinScenarioDir()).join('\n');
    default:
      throw new UsageError(`list: unknown topic '${what}'; expected strategies, invariants, knobs, arches, profiles, costs or scenarios`);
  }
}

export function buildProgram(out: (s: string) => void, setCode: (c: number) => void): Command {
  const program = new Command('ptlab')
    .description('Linux page-table freeing vs lockless walkers: check every interleaving, simulate the cost')
    .version(version())
    .showHelpAfterError('(run ptlab --help for usage)')
    .configureOutput({ writeOut: (s) => out(s.replace(/\n$/, '')), writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  // --strategy FILE is --preset with a strategy file (docs/strategies.md), resolved from here.
  program.hook('preAction', (_program, command) => strategyFileOption(command));

  program
    .command('check')
    .description('explore every interleaving of a scenario and report each invariant (DPOR)')
    .argument('[scenarios...]', 'scenario YAML files')
    .option('--catalog [dir]', 'check every scenario under dir (default: the built-in catalog) against its expected verdicts')
    .option('--json', 'print results as JSON (schema ptlab.check/2)')
    .addOption(new Option('--reduction <kind>', 'partial-order reduction: source-dpor (source sets; its subtrees are shared by --jobs threads), dpor (optimal DPOR, wakeup trees: every trace once, on one thread), none').choices(['dpor', 'source-dpor', 'none']).default('source-dpor'))
    .option('--max-executions <n>', `stop after n executions (the verdict is then bounded); without it, an exhaustive run past ${EXECUTION_LIMIT.toLocaleString('en-US')} executions stops with an error`, positiveInt)
    .option('--max-cpus <n>', `refuse scenarios with more CPUs (default ${MAX_CPUS.check})`, positiveInt)
    .option('--max-steps <n>', 'steps an execution may take before it is an error (default: the scenario\'s check.max_steps, 100000)', positiveInt)
    .option('--max-memory <MB>', 'stop with an error past this much resident memory', positiveInt, MEMORY_LIMIT_MB)
    .option('--jobs <n>', 'threads that share one exhaustive source-set DPOR exploration, with the same results on any number; with --catalog, threads that check scenarios side by side (default: one per core)', positiveInt)
    .option('--first', 'stop at the first counterexample of any invariant, as Spin stops at its first error (default: once every invariant has one)')
    .option('--shortest', 'keep exploring after every invariant has a counterexample, to find the shortest ones (default: stop at the answer)')
    .option('--preemptions <k>', 'bounded mode: only schedules with at most k preemptions (no reduction)', nonNegativeInt)
    .option('--random <n>', 'random mode: n PCT executions (for scenarios too large to exhaust)', positiveInt)
    .option('--seed <s>', 'seed of the random mode', seedArg, 1)
    .option('--pct-depth <d>', 'bug depth the random mode targets (d-1 priority changes)', positiveInt, 3)
    .option('--preset <id>', 'replace the scenario\'s strategy preset (see ptlab list strategies)')
    .option('--strategy <file>', 'use the strategy in this TypeScript or JavaScript file as the preset (docs/strategies.md)')
    .option('--set <knob=value>', 'override a configuration knob (repeatable; see ptlab list knobs)', collect, [])
    .option('--no-timing', 'omit wall times from the text (JSON never has them: it is byte-identical run to run)')
    .option('--width <n>', 'width of the per-CPU trace', positiveInt, 160)
    .option('--perfetto <file>', 'write the shortest counterexample as a Chrome/Perfetto trace (ui.perfetto.dev)')
    .option('--estimate', "don't check: estimate the executions and time of the exhaustive check from smaller runs with fewer of the scenario's identical CPUs (schema ptlab.estimate/1 with --json)")
    .action(async (files: string[], flags: CheckFlags) => setCode(await runCheck(files, flags, out)));

  const simOptions = (c: Command): Command =>
    c
      .option('--duration <t>', 'simulated time, e.g. 10ms, 1s (default: the scenario\'s sim.duration); with --work, the time limit', durationArg)
      .option('--work <n>', 'fixed work: each workload CPU (repeat: forever, no cyclictest) runs its list n times; the run ends when all have', positiveInt)
      .option('--seed <s>', 'PRNG seed (default: the scenario\'s sim.seed)', seedArg)
      .option('--profile <id>', 'machine profile (see ptlab list profiles)')
      .option('--cost <param=ns>', 'override a profile parameter, in ns (repeatable)', collect, [])
      .option('--alloc-fail-rate <p>', 'probability that a GFP_NOWAIT batch allocation fails', probability)
      .option('--calibration <file>', 'take the fitted sim settings of a calibration file (ptlab calibrate -o; docs/kernel-run.md); flags given here win')
      .option('--jitter <j>', 'scale step durations by a random factor in [1-j, 1+j] (explores more interleavings)', probability)
      .option('--set <knob=value>', 'override a configuration knob (repeatable)', collect, [])
      .option('--max-cpus <n>', `refuse scenarios with more CPUs (default ${MAX_CPUS.sim})`, positiveInt)
      .option('--max-memory <MB>', 'stop with an error past this much resident memory', positiveInt, MEMORY_LIMIT_MB)
      .option('--no-timing', 'omit wall times');

  simOptions(program
    .command('sim')
    .description('simulate a scenario in time: IPIs per CPU, operation and wakeup latency, grace periods, pending frees')
    .argument('<scenario>', 'scenario YAML file')
    .option('--preset <id>', 'replace the scenario\'s strategy preset')
    .option('--strategy <file>', 'use the strategy in this TypeScript or JavaScript file as the preset (docs/strategies.md)')
    .option('--perfetto <file>', 'write a Perfetto trace of a window of the run')
    .option('--window <t>', 'the window --perfetto covers, from the start (default: 1ms or more, until the first grace period that starts in it has ended; at most 20ms or 250,000 steps)', durationArg)
    .option('--json', 'print the measurements as JSON (schema ptlab.sim/1, docs/json.md)')
    .option('--html <file>', 'also write the run as a self-contained HTML report with plots (docs/report.md)'))
    .action((file: string, flags: SimFlags) => {
      const recorder = flags.perfetto ? new WindowRecorder(0, flags.window ?? { oneGp: { min: 1_000_000, max: 20_000_000, maxSteps: 250_000 } }) : null;
      const p = progress(file, { unit: 'µs simulated' });
      const t0 = Date.now();
      const guard = memoryGuard(file, flags.maxMemory);
      const onTime = (t: number): void => {
        guard();
        p.update(Math.round(t / 1000));
      };
      const { scenario, run } = simScenario(file, { preset: flags.preset, set: flags.set, ...maxCpusOf(flags) }, simCli(flags, onTime), recorder ? [recorder] : []);
      p.done();
      const wall = (Date.now() - t0) / 1000;
      if (recorder && flags.perfetto) {
        writeSimPerfetto(flags.perfetto, scenario.resolved.name, scenario.resolved.cpus, recorder, run);
        if (recorder.cutAtSteps) process.stderr.write(`ptlab: --perfetto: the default window stopped at 250,000 steps (${(recorder.end / 1e6).toFixed(3)} ms), before a whole grace period; choose one with --window\n`);
      }
      if (flags.html) writeHtmlReport(flags.html, [simRecord(scenario.resolved, run)]);
      if (flags.json) out(JSON.stringify(simJson(scenario.resolved, run), null, 2));
      else {
        out(simText(`${scenario.resolved.name} (${scenario.resolved.preset ?? 'no preset'}, profile ${run.sim.profile}, seed ${run.sim.seed})`, run.metrics, { time: run.result.time, steps: run.result.steps }));
        if (run.sim.work !== null) out(run.complete ? `fixed work: ${run.sim.work} rounds of each workload CPU's run list, done in ${(run.result.time / 1e6).toFixed(3)} ms` : `WARNING: fixed work of ${run.sim.work} rounds not finished within the time limit of ${(run.sim.duration / 1e6).toFixed(0)} ms`);
        const fv = run.firstViolation;
        // Tables are named as at the first violation (its ledger stops there): later ones keep page names.
        for (const v of run.result.violations) out(`VIOLATION ${v.property} at step ${v.step}: ${fv && v.step === fv.violation.step ? fv.rename(v.message, v.step) : v.message}`);
        if (fv) {
          const at = fv.steps[fv.steps.length - 1];
          out(`\n--- the last ${fv.steps.length} steps before ${fv.violation.property} (at ${((at?.start ?? 0) / 1000).toFixed(3)} µs) ---`);
          out(renderTrace({
            trace: fv.steps.map((x) => x.rec),
            threadNames: fv.threadNames,
            threadKinds: fv.threadKinds,
            threadCpus: fv.threadCpus,
            cpus: scenario.resolved.cpus,
            mark: { step: fv.violation.step, label: fv.violation.property },
            rename: fv.rename,
          }, 160));
        }
        if (flags.timing !== false) out(`(${wall.toFixed(2)} s wall, ${Math.round(run.result.steps / Math.max(wall, 1e-3))} steps/s)`);
      }
      setCode(run.result.violations.length > 0 ? 1 : 0);
    });

  simOptions(program
    .command('compare')
    .description('simulate the same workload under several strategies, side by side; fixed work by default (each workload CPU runs its list sim.work, default 100, times), or fixed time with --duration')
    .argument('<scenario>', 'scenario YAML file')
    .option('--strategies <ids>', 'comma-separated strategy presets (default: the scenario\'s sim.strategies)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--seeds <list>', 'replicate each strategy on these seeds (1..10, 1,4,9) and print mean ±95% CI', seedList)
    .option('--json', 'print every run and the summary rows as JSON (schema ptlab.compare/2, docs/json.md)')
    .option('--html <file>', 'also write the comparison as a self-contained HTML report with plots (docs/report.md)'))
    .action((file: string, flags: SimFlags & { strategies?: string[]; seeds?: number[] }) => {
      const fixedTime = flags.duration !== undefined && flags.work === undefined;
      const p = progress(file, { unit: 'runs' });
      const guard = memoryGuard(file, flags.maxMemory);
      const runs = compareScenario(file, flags.strategies, { set: flags.set, ...maxCpusOf(flags) }, simCli(flags, () => guard()), {
        fixedTime,
        ...(flags.seeds ? { seeds: flags.seeds } : {}),
        onRun: (done, total, strategy, seed) => p.update(done, { share: () => done / total, detail: `of ${total}; now ${strategy}, seed ${seed}` }),
      });
      p.done();
      const { grps, meta, first } = compareGroups(runs);
      if (flags.html) writeHtmlReport(flags.html, [compareRecord(runs)]);
      if (flags.json) out(JSON.stringify(compareJson(runs), null, 2));
      else out(compareText(first.scenario.resolved, grps, meta));
      if (meta.incomplete.length) process.stderr.write(`ptlab compare: the work did not finish within the time limit in ${meta.incomplete.length} run(s): ${meta.incomplete.join(', ')}\n`);
      setCode(runs.some((r) => r.run.result.violations.length > 0) ? 1 : 0);
    });

  program
    .command('replay')
    .description('re-execute a scenario along a schedule printed by check, step by step')
    .argument('<scenario>', 'scenario YAML file')
    .requiredOption('--schedule <s>', "the schedule, e.g. '1*4 0*12 1*3'")
    .option('--preset <id>', 'replace the scenario\'s strategy preset')
    .option('--strategy <file>', 'use the strategy in this TypeScript or JavaScript file as the preset (docs/strategies.md)')
    .option('--set <knob=value>', 'override a configuration knob (repeatable)', collect, [])
    .option('--width <n>', 'width of the per-CPU trace', positiveInt, 160)
    .option('--perfetto <file>', 'also write the execution as a Chrome/Perfetto trace')
    .option('--timed', 'replay in the timed simulator: the race window in ns, IPIs and time held up per CPU (docs/serve.md)')
    .option('--profile <id>', 'with --timed: machine profile (see ptlab list profiles; default: the scenario\'s sim.profile, else the arch\'s)')
    .option('--json', 'with --timed: print the timed replay as JSON (schema ptlab.timed-replay/1)')
    .action((file: string, flags: { schedule: string; preset?: string; set: string[]; width: number; perfetto?: string } & TimedReplayFlags) => {
      if (flags.timed || flags.profile !== undefined || flags.json) return setCode(runTimedReplay(file, flags, out));
      const schedule = decodeSchedule(flags.schedule);
      const { scenario, exec } = replayScenario(file, schedule, { preset: flags.preset, set: flags.set });
      const first = exec.violations[0];
      if (flags.perfetto) {
        writeFileAtomic(flags.perfetto, JSON.stringify(perfettoTrace({
          title: `${scenario.resolved.name}: replay`,
          trace: exec.trace,
          ...exec.threadColumns(),
          cpus: scenario.resolved.cpus,
          violation: first ? { step: first.step, property: first.property, message: first.message } : undefined,
        })));
      }
      const lines = [
        `${scenario.resolved.name}: replay of ${schedule.length} steps (${encodeSchedule(schedule)})`,
        '',
        renderTrace({
          trace: exec.trace,
          ...exec.threadColumns(),
          cpus: scenario.resolved.cpus,
          mark: first ? { step: first.step, label: first.property } : undefined,
        }, flags.width),
        '',
        ...exec.violations.map((v) => `${v.property} violated at step ${v.step}: ${v.message}`),
        exec.violations.length === 0 ? 'no invariant violated' : '',
        exec.finished ? 'all threads finished' : exec.deadlocked ? `deadlock: blocked threads ${exec.blocked().join(', ')}` : `stopped with threads still runnable: ${exec.enabled().join(', ')}`,
      ];
      out(lines.filter((l, i, a) => !(l === '' && i === a.length - 2)).join('\n'));
      // As check: 1 when the execution contradicts the scenario's expectations (a violation it
      // does not expect, or a deadlock it says cannot happen); one execution cannot show that an
      // expected violation is missing.
      const unexpected = exec.violations.some((v) => scenario.expect.invariants[v.property] !== 'violated');
      setCode(unexpected || (exec.deadlocked && scenario.expect.deadlock === false) ? 1 : 0);
    });

  program
    .command('list')
    .description('list strategies, invariants, knobs, arches or built-in scenarios')
    .argument('[what]', 'strategies | invariants | knobs | arches | profiles | costs | scenarios', 'strategies')
    .option('--json', 'machine-readable output (strategies and knobs, with their provenance)')
    .option('--strategy <file>', 'also load the strategy in this file (repeatable)', collect, [])
    .action((what: string, flags: { json?: boolean }) => {
      out(flags.json ? listJson(what) : listText(what));
      setCode(0);
    });

  registerKernelRun(program, out, setCode);
  registerCalibrate(program, out, setCode);
  registerReportCommand(program, out, setCode);
  registerSweepCommands(program, out, setCode);
  registerServe(program, out);
  return program;
}

/**
 * The preAction hook for --strategy: check it against --preset and give the action the file's
 * absolute path as its preset (so that catalog workers find it too); `list --strategy` loads the
 * files, and compare's --strategies may name files among the presets.
 */
function strategyFileOption(command: Command): void {
  const o = command.opts<{ strategy?: string | string[]; preset?: string; strategies?: string[] }>();
  if (Array.isArray(o.strategy)) {
    for (const f of o.strategy) loadStrategyFile(f);
    return;
  }
  if (o.strategies) command.setOptionValue('strategies', o.strategies.map((s) => (isStrategyPath(s) ? resolve(s) : s)));
  if (o.strategy === undefined) return;
  if (o.preset !== undefined) throw new UsageError('--strategy and --preset both name the strategy: give one');
  if (o.strategies !== undefined) throw new UsageError('--strategy and --strategies: name the file among --strategies');
  command.setOptionValue('preset', resolve(o.strategy));
}

/** Run the CLI; returns the exit code. Output goes to stdout, diagnostics to stderr. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  let code = 0;
  const program = buildProgram(out, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ScenarioError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof ScheduleSyntaxError || e instanceof OutputError || e instanceof SimConfigError) {
      process.stderr.write(`ptlab: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ModelError || e instanceof LimitError || e instanceof CatalogError) {
      process.stderr.write(`ptlab: ${e.message}\n`);
      return 2;
    }
    if (e instanceof StepLimitError) {
      process.stderr.write(`ptlab: ${e.message}; raise the limit with --max-steps N (or check.max_steps in the scenario)\n`);
      return 2;
    }
    throw e;
  }
}
