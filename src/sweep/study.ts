/**
 * Study files: a base scenario (or several), axes to vary, and what to run at each point. The
 * points are the cross product of the axes, the first axis outermost, each with a stable key
 * (`arch=x86,cpus=64,seed=1`). Loaded through the scenario loader's YAML machinery: every error
 * names the file, line and column.
 *
 * ```yaml
 * name: cost
 * base: sim/munmap-under-pressure        # a path relative to the study, or a built-in scenario
 * run: sim                               # sim | compare | check
 * cpus_group: 3                          # the entry of the base's cpus the cpus axis grows
 * axes:
 *   strategy: [broadcast-ipi, sync-rcu]  # the preset (sim, check)
 *   arch: [x86, x86-kvm]
 *   cpus: [8, 64]                        # the machine's CPU count
 *   seed: [1, 2, 3]
 *   knob.batch_alloc: [fails, ok]        # any knob, as --set takes it
 *   sim.duration: [10ms, 50ms]           # any key of the scenario's sim: section
 *   cost.ipi.delivery: [500, 900]        # any profile cost parameter (ns)
 * sim: { duration: 20ms }                # merged into every point's sim: section
 * measure: [ipis-received, grace-periods]
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { z } from 'zod';
import { builtinScenarioDir, findScenarios, openScenario, type ScenarioOptions } from '../api/index.js';
import { formatPath, parseYaml, readBounded, ScenarioError, zodIssues, type ScenarioIssue, type SourcePos } from '../scenarios/loader.js';
import { didYouMean } from '../scenarios/suggest.js';
import { ARCH_IDS, KNOB_VALUES } from '../model/config.js';
import { PROFILES } from '../profiles/index.js';
import { strategies } from '../strategies/index.js';
import type { ScenarioInput } from '../scenarios/schema.js';

/** The most points a study may have (a sweep of more is a mistake, or several studies). */
export const MAX_POINTS = 100_000;

/** What a study can measure: one number per point, printed in the sweep's summary. */
export const MEASURES = {
  'ipis-received': 'IPIs received, all CPUs (CAL + TLB)',
  'ipis-sent': 'IPIs sent, all CPUs',
  'irq-time': 'ns in interrupt handlers, all CPUs',
  'grace-periods': 'RCU grace periods (normal)',
  'pending-free-peak': 'page-table pages unlinked and not yet freed, peak',
  'tables-freed': 'page-table pages freed',
  'sim-time': 'simulated time, ns',
  executions: 'executions the checker ran',
  violated: 'invariants violated',
  ok: 'verdicts as the scenario expects (1) or not (0)',
} as const;
export type MeasureId = keyof typeof MEASURES;

export const RUN_KINDS = ['sim', 'compare', 'check'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

const axisValue = z.union([z.string(), z.number(), z.boolean()]);
const ident = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _, . and -');

export const studySchema = z.strictObject({
  name: ident,
  description: z.string().default(''),
  /** A scenario (a path relative to the study file, or a built-in one: `sim/khugepaged-collapse`, or a directory: `check`), or a list of them. */
  base: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  run: z.enum(RUN_KINDS).default('sim'),
  /** The entry of the base scenario's cpus list whose count the cpus axis sets (default: the last entry). */
  cpus_group: z.int().min(0).optional(),
  /** Axis name to values; the first axis is the outermost loop. */
  axes: z.record(z.string(), z.array(axisValue).min(1).max(10_000)).default({}),
  /** Merged into every point's scenario `sim:` section (duration, work, seed, costs, ...). */
  sim: z.record(z.string(), z.unknown()).optional(),
  /** run: compare: the strategies, the seeds, fixed time (default: fixed work). */
  compare: z.strictObject({
    strategies: z.array(z.string()).min(1).optional(),
    seeds: z.array(z.int().min(0).max(0xffffffff)).min(1).optional(),
    fixed_time: z.boolean().default(false),
  }).optional(),
  /** run: check: executions an exhaustive check may take (default 100,000,000, an error past it, as ptlab check). */
  check: z.strictObject({ max_executions: z.int().min(1).optional() }).optional(),
  measure: z.array(z.enum(Object.keys(MEASURES) as [MeasureId, ...MeasureId[]], { error: () => `expected one of ${Object.keys(MEASURES).join(', ')}` })).default([]),
  /** Refuse points with more CPUs than this (as --max-cpus). */
  max_cpus: z.int().min(1).optional(),
});
export type StudyData = z.output<typeof studySchema>;

export type AxisValue = string | number | boolean;

/** One run of a study: what the worker needs, as plain data (it crosses threads, processes and machines). */
export interface PointTask {
  readonly study: string;
  readonly index: number;
  readonly key: string;
  readonly axes: Readonly<Record<string, AxisValue>>;
  readonly kind: RunKind;
  /** The scenario as data, with the point's axes applied. */
  readonly scenario: ScenarioInput;
  /** The scenario's name in messages and results (its file). */
  readonly label: string;
  readonly preset?: string;
  readonly set: readonly string[];
  readonly maxCpus?: number;
  readonly compare?: { readonly strategies?: readonly string[]; readonly seeds?: readonly number[]; readonly fixedTime: boolean };
  readonly maxExecutions?: number;
}

export interface Study {
  readonly file: string;
  readonly data: StudyData;
  readonly points: readonly PointTask[];
}

/** Axes a study knows, besides `knob.*`, `sim.*` and `cost.*`. */
const PLAIN_AXES = ['scenario', 'strategy', 'arch', 'profile', 'cpus', 'seed'] as const;
const SIM_KEYS = ['duration', 'seed', 'alloc_fail_rate', 'vcpu_preempt_rate', 'jitter', 'work', 'time_limit', 'profile'] as const;

/** A base entry as files: a path relative to the study, or under the built-in scenarios; a directory gives its .yaml files. */
function baseFiles(entry: string, studyDir: string): string[] | null {
  const tries = isAbsolute(entry) ? [entry] : [join(studyDir, entry), join(builtinScenarioDir(), entry), join(builtinScenarioDir(), `${entry}.yaml`)];
  for (const p of tries) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) return findScenarios(p);
    const rel = relative(process.cwd(), p);
    return [rel.length < p.length && !rel.startsWith('..') ? rel : p];
  }
  return null;
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/** Load a study file: validate it, resolve every point's scenario (so that a bad one is an error before anything runs). */
export function loadStudy(file: string): Study {
  return parseStudy(readBounded(file, 'study'), file);
}

export function parseStudy(source: string, file: string): Study {
  const { raw, posOf } = parseYaml(source, file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ScenarioError([{ file, pos: { line: 1, col: 1 }, path: '', message: 'expected a mapping with name, base, axes, ...' }]);
  const parsed = studySchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(zodIssues(file, posOf, parsed.error, studySchema));
  const d = parsed.data;
  const issues: ScenarioIssue[] = [];
  const issue = (path: ReadonlyArray<PropertyKey>, message: string, key?: string): ScenarioIssue => ({ file, pos: posOf(path, key), path: formatPath(key ? [...path, key] : path), message });

  // The base scenarios.
  const bases = Array.isArray(d.base) ? d.base : [d.base];
  const scenarioFiles: string[] = [];
  bases.forEach((b, i) => {
    const at = Array.isArray(d.base) ? ['base', i] : ['base'];
    const found = baseFiles(b, dirname(file));
    if (found === null) issues.push(issue(at, `no scenario '${b}': expected a path relative to the study (${dirname(file)}), or a built-in scenario or directory under ${builtinScenarioDir()}`));
    else if (found.length === 0) issues.push(issue(at, `no .yaml scenario under '${b}'`));
    else scenarioFiles.push(...found);
  });

  // The axes, each value checked where it is written.
  const axisNames = Object.keys(d.axes);
  const strategyIds = strategies().map((s) => s.id);
  const profileIds = PROFILES.map((p) => p.id);
  for (const name of axisNames) {
    const values = d.axes[name] as AxisValue[];
    const valueIssue = (j: number, message: string): void => void issues.push(issue(['axes', name, j], message));
    const oneOf = (ids: readonly string[], what: string): void =>
      values.forEach((v, j) => {
        if (!ids.includes(String(v))) valueIssue(j, `unknown ${what} '${String(v)}'${didYouMean(String(v), ids)}; expected one of ${ids.join(', ')}`);
      });
    const seen = new Set<string>();
    values.forEach((v, j) => {
      if (seen.has(String(v))) valueIssue(j, `'${String(v)}' appears twice on axis ${name}: two points would have the same key`);
      seen.add(String(v));
    });
    if (name === 'strategy') {
      if (d.run === 'compare') issues.push(issue(['axes'], 'run: compare compares strategies itself: give them as compare.strategies, not as an axis', name));
      oneOf(strategyIds, 'strategy');
    } else if (name === 'arch') oneOf(ARCH_IDS, 'arch');
    else if (name === 'profile') oneOf(profileIds, 'profile');
    else if (name === 'cpus' || name === 'seed') {
      if (name === 'seed' && d.run === 'compare') issues.push(issue(['axes'], 'run: compare replicates over seeds itself: give them as compare.seeds, not as an axis', name));
      if (name === 'seed' && d.run === 'check') issues.push(issue(['axes'], 'run: check explores every interleaving: a seed changes nothing', name));
      values.forEach((v, j) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < (name === 'cpus' ? 1 : 0) || v > 0xffffffff) valueIssue(j, `expected ${name === 'cpus' ? 'a positive' : 'a non-negative'} integer, got '${String(v)}'`);
      });
    } else if (name === 'scenario') {
      issues.push(issue(['axes'], "the scenario axis is the list under 'base:'", name));
    } else if (name.startsWith('knob.')) {
      const knob = name.slice('knob.'.length);
      if (!Object.hasOwn(KNOB_VALUES, knob)) issues.push(issue(['axes'], `unknown knob '${knob}'${didYouMean(knob, Object.keys(KNOB_VALUES))}; expected knob.NAME with one of ${Object.keys(KNOB_VALUES).join(', ')}`, name));
    } else if (name.startsWith('sim.')) {
      const k = name.slice('sim.'.length);
      if (!(SIM_KEYS as readonly string[]).includes(k)) issues.push(issue(['axes'], `unknown simulation setting '${k}'${didYouMean(k, SIM_KEYS)}; expected sim.NAME with one of ${SIM_KEYS.join(', ')} (cost.PARAM for a cost parameter)`, name));
      if (d.run === 'check') issues.push(issue(['axes'], 'run: check does not simulate: a sim.* axis changes nothing', name));
    } else if (name.startsWith('cost.')) {
      const k = name.slice('cost.'.length);
      const params = [...new Set(PROFILES.flatMap((p) => Object.keys(p.params)))];
      if (!params.includes(k)) issues.push(issue(['axes'], `unknown cost parameter '${k}'${didYouMean(k, params)} (ptlab list costs)`, name));
      values.forEach((v, j) => {
        if (typeof v !== 'number' || v < 0) valueIssue(j, `expected a cost in ns (a non-negative number), got '${String(v)}'`);
      });
      if (d.run === 'check') issues.push(issue(['axes'], 'run: check does not simulate: a cost.* axis changes nothing', name));
    } else {
      issues.push(issue(['axes'], `unknown axis '${name}'${didYouMean(name, [...PLAIN_AXES, 'knob.', 'sim.', 'cost.'])}; expected one of ${PLAIN_AXES.filter((a) => a !== 'scenario').join(', ')}, knob.NAME, sim.NAME, cost.PARAM`, name));
    }
    if ((name === 'profile') && d.run === 'check') issues.push(issue(['axes'], 'run: check does not simulate: a profile axis changes nothing', name));
  }
  if (d.run !== 'compare' && d.compare) issues.push(issue(['compare'], `compare: settings are for run: compare (this study runs ${d.run})`));
  if (d.run !== 'check' && d.check) issues.push(issue(['check'], `check: settings are for run: check (this study runs ${d.run})`));
  if (d.run === 'check' && d.sim) issues.push(issue(['sim'], 'run: check does not simulate: drop sim:'));
  if (issues.length > 0) throw new ScenarioError(issues);

  // The cross product: scenarios outermost, then the axes in order.
  const dims: Array<{ name: string; values: readonly AxisValue[] }> = [];
  if (scenarioFiles.length > 1) dims.push({ name: 'scenario', values: scenarioFiles });
  for (const name of axisNames) dims.push({ name, values: d.axes[name] as AxisValue[] });
  const total = dims.reduce((n, x) => n * x.values.length, 1) * (scenarioFiles.length > 1 ? 1 : scenarioFiles.length);
  if (total > MAX_POINTS) throw new ScenarioError([issue(['axes'], `${total.toLocaleString('en-US')} points is past the limit of ${MAX_POINTS.toLocaleString('en-US')}: split the study`)]);

  const sources = new Map<string, Record<string, unknown>>();
  const sourceOf = (f: string): Record<string, unknown> => {
    let s = sources.get(f);
    if (!s) {
      // Validate the file itself first: its errors keep their lines and columns.
      openScenario(f, { purpose: 'sim', maxCpus: Number.MAX_SAFE_INTEGER });
      s = parseYamlText(readBounded(f, 'scenario')) as Record<string, unknown>;
      sources.set(f, s);
    }
    return s;
  };

  const points: PointTask[] = [];
  const where = issue(['base'], '').pos;
  const pointIssues: ScenarioIssue[] = [];
  const combo: AxisValue[] = new Array<AxisValue>(dims.length);
  const visit = (depth: number): void => {
    if (depth < dims.length) {
      for (const v of (dims[depth] as (typeof dims)[number]).values) {
        combo[depth] = v;
        visit(depth + 1);
      }
      return;
    }
    const axes: Record<string, AxisValue> = {};
    dims.forEach((x, i) => (axes[x.name] = combo[i] as AxisValue));
    const key = dims.map((x, i) => `${x.name}=${String(combo[i])}`).join(',') || 'base';
    const label = String(axes.scenario ?? scenarioFiles[0]);
    try {
      points.push(makePoint(d, points.length, key, axes, label, sourceOf(label), where));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      for (const i of e.issues) pointIssues.push({ file, pos: where, path: 'base', message: `point ${key}: ${i.file !== label && i.file !== file ? `${i.file}: ` : ''}${i.path ? `${i.path}: ` : ''}${i.message}` });
    }
  };
  visit(0);
  if (pointIssues.length > 0) throw new ScenarioError(pointIssues.slice(0, 20).concat(pointIssues.length > 20 ? [{ file, pos: where, path: 'base', message: `... and ${pointIssues.length - 20} more problems` }] : []));
  return { file, data: d, points };
}

/** One point: the base scenario with the axes applied, resolved once (so that its errors come now). */
function makePoint(d: StudyData, index: number, key: string, axes: Record<string, AxisValue>, label: string, base: Record<string, unknown>, where: SourcePos | null): PointTask {
  const s = clone(base) as Record<string, unknown> & { machine: Record<string, unknown>; cpus: Array<Record<string, unknown>>; sim?: Record<string, unknown> };
  const set: string[] = [];
  let preset: string | undefined;
  if (d.sim) s.sim = { ...(s.sim ?? {}), ...clone(d.sim) };
  for (const [name, v] of Object.entries(axes)) {
    if (name === 'scenario') continue;
    if (name === 'strategy') preset = String(v);
    else if (name === 'arch') s.machine = { ...s.machine, arch: v };
    else if (name === 'profile') s.sim = { ...(s.sim ?? {}), profile: v };
    else if (name === 'seed') s.sim = { ...(s.sim ?? {}), seed: v };
    else if (name.startsWith('knob.')) set.push(`${name.slice(5)}=${String(v)}`);
    else if (name.startsWith('sim.')) s.sim = { ...(s.sim ?? {}), [name.slice(4)]: v };
    else if (name.startsWith('cost.')) s.sim = { ...(s.sim ?? {}), costs: { ...((s.sim?.costs as object | undefined) ?? {}), [name.slice(5)]: v } };
    else if (name === 'cpus') {
      const cpus = s.cpus;
      if (!Array.isArray(cpus) || cpus.length === 0) throw new ScenarioError([{ file: label, pos: where, path: 'cpus', message: 'the scenario has no cpus list to scale' }]);
      const g = d.cpus_group ?? cpus.length - 1;
      if (g >= cpus.length) throw new ScenarioError([{ file: label, pos: where, path: 'cpus_group', message: `cpus_group ${g}: the scenario has ${cpus.length} cpus entries (0..${cpus.length - 1})` }]);
      const others = cpus.reduce((n, c, i) => n + (i === g ? 0 : Number((c as { count?: number }).count ?? 1)), 0);
      const count = Number(v) - others;
      if (count < 1) throw new ScenarioError([{ file: label, pos: where, path: 'cpus', message: `cpus=${String(v)}: the other entries of cpus already have ${others} CPUs (cpus_group ${g} needs at least 1)` }]);
      cpus[g] = { ...(cpus[g] as object), count };
      // machine.cpus, when the base states it, follows (the schema caps it at 1024; a group goes to the sim limit).
      if (s.machine.cpus !== undefined) s.machine = { ...s.machine, cpus: Number(v) };
    }
  }
  const kind = d.run;
  const overrides: ScenarioOptions = { purpose: kind === 'check' ? 'check' : 'sim', ...(preset !== undefined ? { preset } : {}), set, name: label, ...(d.max_cpus !== undefined ? { maxCpus: d.max_cpus } : {}) };
  const scenario = s as unknown as ScenarioInput;
  const loaded = openScenario(scenario, overrides);
  if (kind === 'compare' && !d.compare?.strategies && !loaded.sim?.strategies) {
    throw new ScenarioError([{ file: label, pos: where, path: 'compare.strategies', message: 'no strategies to compare: give compare.strategies in the study or sim.strategies in the scenario' }]);
  }
  return {
    study: d.name,
    index,
    key,
    axes,
    kind,
    scenario,
    label,
    ...(preset !== undefined ? { preset } : {}),
    set,
    ...(d.max_cpus !== undefined ? { maxCpus: d.max_cpus } : {}),
    ...(kind === 'compare' ? { compare: { ...(d.compare?.strategies ? { strategies: d.compare.strategies } : {}), ...(d.compare?.seeds ? { seeds: d.compare.seeds } : {}), fixedTime: d.compare?.fixed_time ?? false } } : {}),
    ...(kind === 'check' && d.check?.max_executions !== undefined ? { maxExecutions: d.check.max_executions } : {}),
  };
}

/** The JSON Schema of a study file (schemas/study.json, written by `npm run schemas`). */
export function studyJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(studySchema, { io: 'input', unrepresentable: 'any' }), title: 'ptlab study' };
}
