/**
 * The API the web explorer runs in a browser Web Worker: scenarios as YAML text (no file system,
 * no node: modules), checked, replayed step by step with the kernel's state at every step, and
 * replayed in time. The same code paths as the CLI: checkYaml() gives the document
 * `ptlab check --json` prints for the same scenario (a test compares them byte for byte).
 *
 * Untrusted text gets the CLI's limits (api/limits.ts): its size, the CPUs, the steps of an
 * execution, the schedule's length and the executions of an exhaustive check. Memory cannot be
 * measured from a worker: the explorer stops a runaway check by terminating its worker.
 */
import { decodeSchedule, encodeSchedule, Driver, type Schedule } from '../core/schedule.js';
import type { ThreadColumns } from '../core/execution.js';
import { checkPaced, type CheckMode, type CheckResult, type Reduction } from '../engines/check/index.js';
import { ScenarioError } from '../scenarios/loader.js';
import { scenarioFromText, type LoadedScenario, type Overrides } from '../scenarios/resolve.js';
import { checkJson } from '../report/check.js';
import { stepText } from '../report/trace-text.js';
import { timedReplayJson } from '../report/timed-replay.js';
import { kernelSnapshot, type KernelSnapshot } from '../model/snapshot.js';
import { raceWindowOf } from '../model/race-window.js';
import { replayTimedScenario } from '../simulation/timed-replay.js';
import { compare } from './compare.js';
import { EXECUTION_LIMIT, MAX_SCENARIO_BYTES } from './limits.js';
import type { DomainEvent } from '../core/value.js';
import type { Violation } from '../core/property.js';
import { strategies } from '../strategies/index.js';
import { compareResultSchema, simResultSchema } from '../schemas.js';
import { simText } from '../report/sim.js';
import { compareText } from '../report/compare.js';
import type { SimMetricsData } from '../simulation/metrics.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import { PROFILES } from '../profiles/index.js';

export type { KernelSnapshot, TableSnapshot, CpuSnapshot, TlbSnapshot } from '../model/snapshot.js';
export { ScenarioError } from '../scenarios/loader.js';
export { ScheduleSyntaxError } from '../core/schedule.js';
export { SimConfigError } from '../simulation/run.js';
export { ModelError, StepLimitError } from '../core/execution.js';
export type { CheckMode } from '../engines/check/index.js';

/** A limit reached by an untrusted scenario in the explorer (the CLI's LimitError, without the flags). */
export class ExploreLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExploreLimitError';
  }
}

/** Overrides as the command line gives them. */
export interface ExploreScenarioOptions {
  readonly preset?: string;
  readonly set?: readonly string[];
}

function open(yaml: string, file: string, opts: ExploreScenarioOptions): LoadedScenario {
  if (yaml.length > MAX_SCENARIO_BYTES) {
    throw new ScenarioError([{ file, pos: null, path: '', message: `the scenario is larger than ${MAX_SCENARIO_BYTES} bytes` }]);
  }
  const overrides: Overrides = { ...(opts.preset ? { preset: opts.preset } : {}), ...(opts.set && opts.set.length > 0 ? { set: [...opts.set] } : {}) };
  return scenarioFromText(yaml, file, overrides);
}

/** Validate YAML text as the CLI would (throws ScenarioError with file:line:col per problem). */
export function validateYaml(yaml: string, file: string, opts: ExploreScenarioOptions = {}): { name: string; cpus: number; arch: string; preset: string | null } {
  const s = open(yaml, file, opts);
  return { name: s.resolved.name, cpus: s.resolved.cpus, arch: s.resolved.arch, preset: s.resolved.preset ?? null };
}

export interface ExploreCheckOptions extends ExploreScenarioOptions {
  readonly mode?: CheckMode;
  readonly reduction?: Reduction;
  /** Stop at the first counterexample (`--first`). */
  readonly first?: boolean;
  /** Explore everything for the shortest counterexamples (`--shortest`). */
  readonly shortest?: boolean;
  /** A bounded run (`--max-executions`); without it, an exhaustive run stops with an error at EXECUTION_LIMIT. */
  readonly maxExecutions?: number;
  readonly signal?: AbortSignal;
  /** Called as executions complete. */
  readonly onProgress?: (executions: number) => void;
}

/**
 * Check YAML text as `ptlab check FILE --json` does, with the same defaults (source-set DPOR,
 * here on this one thread, with the results of any number; stopping once every invariant has a
 * counterexample): returns the `ptlab.check/2` document.
 */
export async function checkYaml(yaml: string, file: string, opts: ExploreCheckOptions = {}): Promise<{ json: unknown; result: CheckResult; ok: boolean }> {
  const scenario = open(yaml, file, opts);
  const mode = opts.mode ?? { kind: 'exhaustive' };
  const limited = opts.maxExecutions === undefined && mode.kind !== 'random';
  const result = await checkPaced(scenario.program, {
    mode,
    reduction: opts.reduction ?? 'source-dpor',
    maxExecutions: opts.maxExecutions ?? (limited ? EXECUTION_LIMIT : undefined),
    stopWhenAllViolated: opts.shortest !== true,
    stopAtFirst: opts.first === true,
    stopNeedsDeadlock: scenario.expect.deadlock === true,
    ...(opts.onProgress ? { onProgress: (s: { executions: number }) => opts.onProgress?.(s.executions) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (limited && result.stopped === 'max-executions') {
    throw new ExploreLimitError(`${file}: stopped at the limit of ${EXECUTION_LIMIT.toLocaleString('en-US')} executions (choose a bounded or random run)`);
  }
  const comparison = compare(scenario.expect, result);
  return { json: checkJson({ scenario: scenario.resolved, result, comparison }), result, ok: comparison.ok };
}

/** One step of a replay, as the explorer shows it. */
export interface ExploreStep {
  readonly index: number;
  readonly thread: number;
  readonly threadName: string;
  readonly threadKind: string;
  readonly cpu: number | null;
  readonly kind: string;
  readonly fn: string;
  /** The text report's description of the step (report/trace-text.ts). */
  readonly text: string;
  readonly events: readonly DomainEvent[];
}

/** A cause and its effect: a thread's spawn (an IPI sent) and its first step (the handler), its last step (the ack); a table's free and the stale access. */
export interface ExploreLink {
  readonly from: number;
  readonly to: number;
  readonly kind: 'spawn' | 'done' | 'window';
}

/** With the execution's thread columns (names, kinds, CPUs). */
export interface ExploreReplay extends ThreadColumns {
  readonly name: string;
  readonly cpus: number;
  readonly schedule: string;
  readonly steps: readonly ExploreStep[];
  /** The state before any step (states[0]) and after each step (states[i + 1]). */
  readonly states: readonly KernelSnapshot[];
  readonly violations: readonly Violation[];
  readonly links: readonly ExploreLink[];
  readonly end: 'finished' | 'deadlock' | 'runnable';
}

/** Replay `schedule` step by step, keeping the kernel's state after every step. */
export function replayYaml(yaml: string, file: string, schedule: string | Schedule, opts: ExploreScenarioOptions = {}): ExploreReplay {
  const scenario = open(yaml, file, opts);
  const sched = typeof schedule === 'string' ? decodeSchedule(schedule) : schedule;
  const d = new Driver(scenario.program);
  const exec = d.exec;
  const cpus = scenario.resolved.cpus;
  const events: DomainEvent[] = [];
  const states: KernelSnapshot[] = [kernelSnapshot(exec.snapshot(), cpus, events)];
  for (const [i, s] of sched.entries()) {
    if (s.thread >= exec.threads.length || !d.enabled(s.thread)) {
      const what = s.thread >= exec.threads.length ? 'does not exist yet' : 'is not enabled';
      throw new ScenarioError([{ file, pos: null, path: '', message: `schedule step ${i}: thread ${s.thread} ${what}; enabled: ${exec.enabled().join(', ') || 'none'}` }]);
    }
    const rec = d.step(s.thread, s.choice);
    events.push(...rec.events);
    states.push(kernelSnapshot(exec.snapshot(), cpus, events));
  }
  const steps = exec.trace.map((r): ExploreStep => ({ index: r.index, thread: r.thread, threadName: r.threadName, threadKind: r.threadKind, cpu: r.cpu, kind: r.kind, fn: r.fn, text: stepText(r), events: r.events }));
  const links: ExploreLink[] = [];
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const r of exec.trace) {
    if (!first.has(r.thread)) first.set(r.thread, r.index);
    last.set(r.thread, r.index);
  }
  for (const r of exec.trace) {
    if (r.kind !== 'spawn' || r.spawned === undefined) continue;
    const a = first.get(r.spawned);
    const b = last.get(r.spawned);
    if (a !== undefined) links.push({ from: r.index, to: a, kind: 'spawn' });
    if (b !== undefined && exec.thread(r.spawned).phase === 'done') links.push({ from: a ?? r.index, to: b, kind: 'done' });
  }
  for (const v of exec.violations) {
    const w = raceWindowOf(exec.trace, v);
    if (w.free !== null && w.free !== w.read) links.push({ from: w.free, to: w.read, kind: 'window' });
  }
  const cols = exec.threadColumns();
  return {
    name: scenario.resolved.name,
    cpus,
    schedule: encodeSchedule(sched),
    steps,
    ...cols,
    states,
    violations: exec.violations,
    links,
    end: exec.finished ? 'finished' : exec.deadlocked ? 'deadlock' : 'runnable',
  };
}

/** `ptlab replay FILE --schedule S --timed --json` for YAML text: the `ptlab.timed-replay/1` document. */
export function replayTimedYaml(yaml: string, file: string, schedule: string, opts: ExploreScenarioOptions & { readonly profile?: string } = {}): unknown {
  const scenario = open(yaml, file, opts);
  const sched = decodeSchedule(schedule);
  const timed = replayTimedScenario(scenario, sched, opts.profile ? { profile: opts.profile } : {});
  return timedReplayJson(scenario.resolved, encodeSchedule(sched), timed);
}

/** The strategy presets and machine profiles the explorer offers. */
export function exploreChoices(): { strategies: Array<{ id: string; title: string }>; profiles: Array<{ id: string; title: string; arches: readonly string[] }> } {
  return {
    strategies: strategies().map((s) => ({ id: s.id, title: s.title })),
    profiles: PROFILES.map((p) => ({ id: p.id, title: p.title, arches: p.arches })),
  };
}

/**
 * A `ptlab sim --json` or `ptlab compare --json` document as the CLI prints it in text (the sim's
 * tables, the compare's rows), for the explorer's result files; null for another schema. The
 * document is checked against its schema first (ScenarioError naming the first problem).
 */
export function renderResultText(doc: unknown, file: string): string | null {
  const schema = (doc as { schema?: unknown } | null)?.schema;
  if (schema === 'ptlab.sim/1') {
    const d = parsed(simResultSchema, doc, file) as unknown as SimDoc;
    const head = simText(`${d.scenario.name} (${d.scenario.preset ?? 'no preset'}, profile ${d.sim.profile}, seed ${d.sim.seed})`, d.metrics, { time: d.time_ns, steps: d.steps });
    return [head, ...d.violations.map((v) => `VIOLATION ${v.property} at step ${v.step}: ${v.message}`)].join('\n');
  }
  if (schema === 'ptlab.compare/2') {
    const d = parsed(compareResultSchema, doc, file) as unknown as { runs: Array<SimDoc & { strategy: string; seed: number }>; seeds: number[]; strategies: string[] };
    const first = d.runs[0];
    if (!first) return `${file}: no runs`;
    const grps = d.strategies.map((strategy) => ({ strategy, runs: d.runs.filter((r) => r.strategy === strategy).map((r) => ({ strategy, metrics: r.metrics, violations: r.violations.length, time: r.time_ns })) }));
    return compareText(first.scenario, grps, { profile: first.sim.profile, seeds: d.seeds, work: first.sim.work, duration: first.sim.duration, incomplete: d.runs.filter((r) => !r.complete).map((r) => `${r.strategy}/seed ${r.seed}`) });
  }
  return null;
}

interface SimDoc {
  readonly scenario: ResolvedScenario;
  readonly sim: { readonly profile: string; readonly seed: number; readonly work: number | null; readonly duration: number };
  readonly metrics: SimMetricsData;
  readonly time_ns: number;
  readonly steps: number;
  readonly complete: boolean;
  readonly violations: ReadonlyArray<{ readonly property: string; readonly step: number; readonly message: string }>;
}

function parsed(schema: { safeParse(x: unknown): { success: boolean; data?: unknown; error?: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } } }, doc: unknown, file: string): unknown {
  const r = schema.safeParse(doc);
  if (r.success) return r.data;
  const i = r.error?.issues[0];
  throw new ScenarioError([{ file, pos: null, path: i ? i.path.map(String).join('.') : '', message: `not a valid result document: ${i?.message ?? 'unknown'}` }]);
}
