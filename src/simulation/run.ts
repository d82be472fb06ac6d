/**
 * Running a scenario in the simulator: resolve the machine profile and the chance rates, run the
 * engine with the kernel-metrics observer, and return the measurements with the resolved
 * configuration (echoed in every result).
 */
import { simulate, type SimObserver, type SimResult } from '../engines/sim/engine.js';
import type { Execution } from '../core/execution.js';
import type { StepRecord } from '../core/trace.js';
import type { Violation } from '../core/property.js';
import type { LoadedScenario } from '../scenarios/resolve.js';
import { defaultProfile, profileById, PROFILES, type MachineProfile } from '../profiles/index.js';
import { SimMetrics, type SimMetricsData } from './metrics.js';
import { ProfileTiming, type ChanceConfig, type CState } from './timing.js';
import { didYouMean } from '../scenarios/suggest.js';
import { TableLedger } from '../model/table-ledger.js';
import { ScenarioError, type ScenarioIssue } from '../scenarios/loader.js';

export interface SimConfig {
  /** Machine profile id; default: the one for the scenario's arch. */
  readonly profile?: string;
  /** Parameter overrides, in ns. */
  readonly params?: { readonly [name: string]: number };
  /** Idle policy of each CPU: a pinned C-state, 'auto' (the governor, default) or 'poll'. */
  readonly cstates?: readonly CState[];
  readonly chance?: Partial<ChanceConfig>;
  /** Simulated duration, ns; with `work`, the time limit. */
  readonly duration: number;
  /**
   * Fixed work: each workload CPU runs its run list this many times and the run ends when all
   * have (the scenario must be loaded with the same Overrides.work). Unset: fixed time.
   */
  readonly work?: number;
  /** Relative jitter of step durations (0: exact profile values). */
  readonly jitter?: number;
  /** Rare long stalls of a step. */
  readonly stalls?: { readonly rate: number; readonly duration: number };
  readonly seed?: number;
  readonly onProgress?: (time: number, steps: number) => void;
}

export interface ResolvedSim {
  readonly profile: string;
  readonly params: { readonly [name: string]: number };
  readonly cstates: readonly CState[];
  readonly chance: ChanceConfig;
  /** Fixed time: the simulated time; fixed work: the time limit. */
  readonly duration: number;
  /** Rounds of its run list each workload CPU does (fixed work), or null (fixed time). */
  readonly work: number | null;
  readonly jitter: number;
  readonly stalls: { readonly rate: number; readonly duration: number };
  readonly seed: number;
}

export interface SimRun {
  readonly sim: ResolvedSim;
  readonly result: SimResult;
  readonly metrics: SimMetricsData;
  /** The steps leading to the first invariant violation, if any (for the per-CPU trace). */
  readonly firstViolation: ViolationTrace | null;
  /** Fixed work: whether every workload CPU finished before the time limit (fixed time: true). */
  readonly complete: boolean;
}

export interface ViolationTrace {
  readonly violation: Violation;
  /** The last steps up to and including the violating one, with their times (ns). */
  readonly steps: ReadonlyArray<{ readonly rec: StepRecord; readonly start: number; readonly end: number }>;
  readonly threadNames: readonly string[];
  readonly threadKinds: readonly string[];
  readonly threadCpus: ReadonlyArray<number | null>;
  /** Page-table pages named as at a step, from the whole run (TableLedger.rename). */
  readonly rename: (text: string, step: number) => string;
}

/** Keeps the last `size` steps; when the first violation appears, freezes them. */
export class ViolationRecorder implements SimObserver {
  /** A circular buffer of the last `size` steps, as columns; `next` is where the next one goes. */
  private readonly recs: StepRecord[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private next = 0;
  private readonly size: number;
  captured: ViolationTrace | null = null;
  /** The run's table pages, to name them in the steps kept (no facts listed: names only). */
  private readonly tables = new TableLedger(() => false);

  constructor(size = 120) {
    this.size = size;
  }

  onStep(rec: StepRecord, start: number, end: number, _late: number, exec: Execution): void {
    if (this.captured) return;
    this.tables.observe(rec);
    const i = this.next;
    this.recs[i] = rec;
    this.starts[i] = start;
    this.ends[i] = end;
    this.next = i + 1 === this.size ? 0 : i + 1;
    const v = exec.violations[0];
    if (!v) return;
    const n = this.recs.length;
    const first = n < this.size ? 0 : this.next;
    const steps: Array<{ rec: StepRecord; start: number; end: number }> = [];
    for (let k = 0; k < n; k++) {
      const j = (first + k) % n;
      steps.push({ rec: this.recs[j] as StepRecord, start: this.starts[j] as number, end: this.ends[j] as number });
    }
    const tables = this.tables;
    this.captured = {
      violation: v,
      steps,
      ...exec.threadColumns(),
      rename: (text, step) => tables.rename(text, step),
    };
  }
}

export class SimConfigError extends Error {}

export function resolveSim(scenario: LoadedScenario, cfg: SimConfig): { profile: MachineProfile; resolved: ResolvedSim } {
  const arch = scenario.resolved.arch;
  const profile = cfg.profile ? profileById(cfg.profile) : defaultProfile(arch);
  if (!profile) throw new SimConfigError(`unknown machine profile '${cfg.profile}'${didYouMean(cfg.profile ?? '', PROFILES.map((p) => p.id))}; expected one of ${PROFILES.map((p) => p.id).join(', ')}`);
  if (!profile.arches.includes(arch)) throw new SimConfigError(`profile ${profile.id} is for ${profile.arches.join('/')}, the scenario's arch is ${arch}`);
  const params: Record<string, number> = {};
  for (const [k, v] of Object.entries(profile.params)) params[k] = v.value;
  for (const [k, v] of Object.entries(cfg.params ?? {})) {
    if (!Object.hasOwn(params, k)) throw new SimConfigError(`profile ${profile.id} has no parameter '${k}'; see ptlab list costs`);
    if (!Number.isFinite(v) || v < 0) throw new SimConfigError(`parameter ${k} must be a non-negative number of ns, got ${v}`);
    params[k] = v;
  }
  const cpus = scenario.resolved.cpus;
  const cstates = Array.from({ length: cpus }, (_, i) => cfg.cstates?.[i] ?? 'auto');
  const chance: ChanceConfig = { allocFailRate: 0, vcpuPreemptRate: 0, ...cfg.chance };
  const jitter = cfg.jitter ?? 0;
  if (!(jitter >= 0 && jitter < 1)) throw new SimConfigError(`jitter must be in [0, 1), got ${jitter}`);
  const stalls = cfg.stalls ?? { rate: 0, duration: 0 };
  const work = cfg.work ?? null;
  if (work !== null && scenario.workThreads.length === 0) {
    throw new SimConfigError(`${scenario.resolved.file}: fixed work needs a workload CPU (a run list without cyclictest); run for a fixed time with --duration instead`);
  }
  return { profile, resolved: { profile: profile.id, params, cstates, chance, duration: cfg.duration, work, jitter, stalls, seed: cfg.seed ?? 1 } };
}

/**
 * The profile and costs a scenario's `sim:` section names, checked against the profiles: a
 * ScenarioError at the line of the bad value (the command line's --profile and --cost are checked
 * by resolveSim, which has no file to point into).
 */
function checkSimSection(scenario: LoadedScenario, cliProfile: string | undefined): void {
  const s = scenario.sim;
  if (!s) return;
  const arch = scenario.resolved.arch;
  const issues: ScenarioIssue[] = [];
  const ids = PROFILES.map((p) => p.id);
  let profile = defaultProfile(arch);
  if (s.profile !== undefined) {
    const p = profileById(s.profile);
    if (!p) issues.push(scenario.file.issue(['sim', 'profile'], `unknown machine profile '${s.profile}'${didYouMean(s.profile, ids)}; expected one of ${ids.join(', ')}`));
    else if (!p.arches.includes(arch)) issues.push(scenario.file.issue(['sim', 'profile'], `profile ${p.id} is for ${p.arches.join('/')}, the scenario's arch is ${arch}`));
    else profile = p;
  }
  if (cliProfile !== undefined) profile = profileById(cliProfile) ?? profile;
  for (const k of Object.keys(s.costs ?? {})) {
    if (profile && !Object.hasOwn(profile.params, k)) {
      issues.push(scenario.file.issue(['sim', 'costs'], `profile ${profile.id} has no parameter '${k}'${didYouMean(k, Object.keys(profile.params))}; see ptlab list costs`, k));
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues);
}

/** The scenario's `sim:` section and per-CPU C-states, with command-line overrides on top. */
export function simConfigOf(scenario: LoadedScenario, cli: Partial<SimConfig> = {}): SimConfig {
  checkSimSection(scenario, cli.profile);
  const s = scenario.sim;
  const cstates = scenario.resolved.cpu.map((c) => (c.idle === 'poll' ? 'poll' : (c.cstate ?? 'auto')) as CState);
  return {
    profile: cli.profile ?? s?.profile,
    params: { ...(s?.costs ?? {}), ...(cli.params ?? {}) },
    cstates: cli.cstates ?? cstates,
    chance: {
      allocFailRate: s?.alloc_fail_rate ?? 0,
      vcpuPreemptRate: s?.vcpu_preempt_rate ?? 0,
      ...(s?.alloc_fail_burst ? { allocFailBurst: s.alloc_fail_burst } : {}),
      ...(cli.chance ?? {}),
    },
    // Fixed work: the duration is the time limit.
    duration: cli.duration ?? (cli.work !== undefined ? s?.time_limit : s?.duration) ?? (cli.work !== undefined ? 10_000_000_000 : 10_000_000),
    ...(cli.work !== undefined ? { work: cli.work } : {}),
    jitter: cli.jitter ?? s?.jitter ?? 0,
    stalls: cli.stalls ?? s?.stalls ?? { rate: 0, duration: 0 },
    seed: cli.seed ?? s?.seed ?? 1,
    onProgress: cli.onProgress,
  };
}

/** Records the steps that start inside a time window, with their times, for a Perfetto trace. */
/**
 * The steps of a window of a run, for a Perfetto trace, with what the run did to page tables in
 * them (a ledger of the whole run, so that tables allocated before the window are named).
 *
 * `to: 'one-gp'` (sim --perfetto's default) ends the window at the later of `min` and the end of
 * the first grace period that started inside it, so that the trace shows one whole grace period
 * (they take 0.3 to 3.5 ms in the built-in scenarios, longer than any fixed window that keeps the
 * trace small); at `max` at the latest, or after `maxSteps` steps (a trace of a busy machine
 * grows by a million steps per simulated millisecond, 200 MB of JSON). Until the run's first violation, the ledger also keeps
 * what happens after the window: the steps before that violation join the trace (violationSteps).
 */
export class WindowRecorder implements SimObserver {
  readonly steps: Array<{ rec: StepRecord; start: number; end: number }> = [];
  readonly threadNames: string[] = [];
  readonly threadKinds: string[] = [];
  readonly threadCpus: Array<number | null> = [];
  readonly tables = new TableLedger();
  private readonly from: number;
  private to: number;
  private readonly untilGp: { readonly max: number; readonly maxSteps: number } | null;
  /** One-gp mode: the window was closed at maxSteps steps, before it showed a whole grace period. */
  cutAtSteps = false;
  private minEnd = 0;
  /** The first grace period started in the window (one-gp mode), and whether it has ended. */
  private firstGp: string | null = null;
  private firstGpEnded = false;
  private violated = false;
  private lastInWindow: number | null = null;
  /** Time the window ended at (ns): `to`, or in one-gp mode where it closed. */
  end: number;

  constructor(from: number, to: number | { readonly oneGp: { readonly min: number; readonly max: number; readonly maxSteps: number } }) {
    this.from = from;
    if (typeof to === 'number') {
      this.to = to;
      this.untilGp = null;
    } else {
      this.to = to.oneGp.max;
      this.untilGp = { max: to.oneGp.max, maxSteps: to.oneGp.maxSteps };
      this.minEnd = to.oneGp.min;
    }
    this.end = this.to;
  }

  onStep(rec: StepRecord, start: number, end: number, _late: number, exec: Execution): void {
    const inWindow = start >= this.from && start < this.to;
    if (this.untilGp && inWindow) {
      for (const ev of rec.events) {
        if (ev.type === 'gp_start' && ev.expedited !== true && this.firstGp === null) this.firstGp = String(ev.gp);
        if (ev.type === 'gp_end' && String(ev.gp) === this.firstGp) this.firstGpEnded = true;
      }
    }
    // Facts are listed for the window and, until the first violation, for the steps after it
    // (pruned to the last few thousand: only the steps before a violation join the trace).
    this.tables.observe(rec, inWindow || !this.violated);
    if (!this.violated && exec.violations.length > 0) this.violated = true;
    if (!inWindow) {
      if (!this.violated && rec.index % 4096 === 0 && this.lastInWindow !== null) this.tables.forget(this.lastInWindow + 1, rec.index - 4096);
      return;
    }
    this.lastInWindow = rec.index;
    this.steps.push({ rec, start, end });
    for (let i = this.threadNames.length; i < exec.threads.length; i++) {
      const t = exec.thread(i);
      this.threadNames.push(t.spec.name);
      this.threadKinds.push(t.spec.kind);
      this.threadCpus.push(t.spec.cpu);
    }
    // One-gp mode: close the window once it is `min` long and has shown a whole grace period.
    if (this.untilGp && ((end >= this.minEnd && this.firstGpEnded) || this.steps.length >= this.untilGp.maxSteps)) {
      this.cutAtSteps = !(end >= this.minEnd && this.firstGpEnded);
      this.to = end;
      this.end = end;
    }
  }
}

export function simulateScenario(scenario: LoadedScenario, cfg: SimConfig, extra: readonly SimObserver[] = []): SimRun {
  const { profile, resolved } = resolveSim(scenario, cfg);
  const timing = new ProfileTiming({ profile, params: resolved.params, cstates: resolved.cstates, isolated: scenario.resolved.cpu.map((c) => c.isolated), chance: resolved.chance, jitter: resolved.jitter, stalls: resolved.stalls });
  // Pending-free samples: 200 over a fixed time; every 100 µs for fixed work (its end is not known).
  const metrics = new SimMetrics(scenario.resolved.cpus, resolved.work !== null ? 100_000 : Math.max(1, Math.round(resolved.duration / 200)));
  const violations = new ViolationRecorder();
  const result = simulate(scenario.program, {
    until: resolved.duration,
    ...(resolved.work !== null ? { untilDone: scenario.workThreads } : {}),
    seed: resolved.seed,
    timing,
    // The timing model first: it sees each step before anything asks it for a delay.
    observers: [timing, metrics, violations, ...extra],
    onProgress: cfg.onProgress,
  });
  return { sim: resolved, result, metrics: { ...metrics.data(result.time), cpuidle: timing.residency(result.time) }, firstViolation: violations.captured, complete: resolved.work === null || result.stop === 'done' };
}
