/**
 * From PointRecords to what the report draws: every simulation run the records hold (a `sim`
 * point is one run, a `compare` point one per strategy and seed), grouped by configuration and
 * CPU count, and turned into plot series (mean and min–max over seeds) and kernel-style tables.
 * Nothing here invents a value: a plot whose measurement no run has is left out.
 */
import type { SimMetricsData } from '../simulation/metrics.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import { compareStats, type CompareColumn } from '../report/compare.js';
import type { PointRecord } from './record.js';

/** One simulation run, from a sim point or one of a compare point's runs. */
export interface RunView {
  readonly point: PointRecord;
  readonly strategy: string;
  readonly seed: number;
  readonly cpus: number;
  /** The axes that are neither strategy, seed nor CPU count, as one label ('' when none). */
  readonly config: string;
  readonly scenario: ResolvedScenario;
  readonly profile: string;
  readonly work: number | null;
  readonly duration: number;
  readonly complete: boolean;
  readonly timeNs: number;
  readonly steps: number;
  readonly metrics: SimMetricsData;
  readonly violations: number;
}

/** Axis names that say which strategy, seed or CPU count a point is: not part of its configuration. */
const STRATEGY_AXES = ['strategy', 'preset'];
const SEED_AXES = ['seed', 'seeds'];
const CPU_AXES = ['cpus', 'cpu_count', 'cpuCount', 'count'];

function axisText(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

/** The configuration label of a point: its other axes as `name=value`, in the record's order. */
export function configLabel(axes: PointRecord['axes'], drop: readonly string[] = []): string {
  return Object.entries(axes)
    .filter(([k]) => !STRATEGY_AXES.includes(k) && !SEED_AXES.includes(k) && !CPU_AXES.includes(k) && !drop.includes(k))
    .map(([k, v]) => `${k}=${axisText(v)}`)
    .join(', ');
}

interface SimDoc {
  readonly scenario: ResolvedScenario;
  readonly sim: { readonly profile: string; readonly seed: number; readonly work: number | null; readonly duration: number };
  readonly time_ns: number;
  readonly steps: number;
  readonly complete: boolean;
  readonly metrics: SimMetricsData;
  readonly violations: readonly unknown[];
}

function runOf(point: PointRecord, doc: SimDoc, strategy: string, seed: number): RunView {
  return {
    point,
    strategy,
    seed,
    cpus: doc.scenario.cpus,
    config: configLabel(point.axes),
    scenario: doc.scenario,
    profile: doc.sim.profile,
    work: doc.sim.work,
    duration: doc.sim.duration,
    complete: doc.complete,
    timeNs: doc.time_ns,
    steps: doc.steps,
    metrics: doc.metrics,
    violations: doc.violations.length,
  };
}

/** Every simulation run in the records, in record order (a compare's runs in its order). */
export function simRuns(records: readonly PointRecord[]): RunView[] {
  const out: RunView[] = [];
  for (const p of records) {
    if (p.kind === 'sim') {
      const d = p.result as SimDoc;
      out.push(runOf(p, d, d.scenario.preset ?? '(no preset)', d.sim.seed));
    } else if (p.kind === 'compare') {
      for (const r of (p.result as { runs: ReadonlyArray<SimDoc & { strategy: string; seed: number }> }).runs) out.push(runOf(p, r, r.strategy, r.seed));
    }
  }
  return out;
}

/** Distinct values in first-seen order. */
export function distinct<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** A point of a plot series: the mean over seeds, and the smallest and largest seed. */
export interface SeriesRow {
  readonly fx: string;
  readonly fy: string;
  readonly strategy: string;
  readonly cpus: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** A plot of one measurement (one unit) against CPU count, one line per strategy. */
export interface MetricFigure {
  readonly type: 'metric';
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly y: string;
  readonly log: boolean;
  readonly rows: readonly SeriesRow[];
}

/** A line per strategy over a continuous x (time, latency). */
export interface CurveFigure {
  readonly type: 'curve';
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly x: string;
  readonly y: string;
  readonly log: boolean;
  readonly step: boolean;
  /** x takes whole numbers (histogram buckets). */
  readonly xInteger: boolean;
  readonly rows: ReadonlyArray<{ readonly fy: string; readonly strategy: string; readonly x: number; readonly y: number }>;
}

export type Figure = MetricFigure | CurveFigure;

/** Round to 6 significant digits: the data stays exact enough and the HTML small and stable. */
const r6 = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** A raw value of one run: facet labels, and the value (null: not measured in this run). */
interface Sample {
  readonly fx: string;
  readonly fy: string;
  readonly value: number | null;
}

/** Aggregate samples over seeds per (fx, fy, strategy, cpus), in first-seen order. */
function series(runs: readonly RunView[], sample: (r: RunView) => readonly Sample[]): SeriesRow[] {
  const groups = new Map<string, { fx: string; fy: string; strategy: string; cpus: number; values: number[] }>();
  for (const r of runs) {
    for (const s of sample(r)) {
      if (s.value === null || !Number.isFinite(s.value)) continue;
      const key = JSON.stringify([s.fx, s.fy, r.strategy, r.cpus]);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { fx: s.fx, fy: s.fy, strategy: r.strategy, cpus: r.cpus, values: [] }));
      g.values.push(s.value);
    }
  }
  return [...groups.values()].map((g) => ({
    fx: g.fx,
    fy: g.fy,
    strategy: g.strategy,
    cpus: g.cpus,
    mean: r6(g.values.reduce((a, b) => a + b, 0) / g.values.length),
    min: r6(Math.min(...g.values)),
    max: r6(Math.max(...g.values)),
    n: g.values.length,
  }));
}

/** The compare table's rows for one run, by label (the same definitions as `ptlab compare`). */
function rowsOf(r: RunView, cache: Map<RunView, Map<string, number | null>>): Map<string, number | null> {
  let m = cache.get(r);
  if (!m) {
    const col: CompareColumn = { strategy: r.strategy, metrics: r.metrics, violations: r.violations, time: r.timeNs };
    m = new Map(compareStats(r.scenario, [{ strategy: r.strategy, runs: [col] }]).map((row) => [row.label, row.cells[0]?.values[0] ?? null]));
    cache.set(r, m);
  }
  return m;
}

const CLASSES = ['RT', 'idle', 'workload'] as const;
const CLASS_TEXT: Record<(typeof CLASSES)[number], string> = { RT: 'RT CPUs (cyclictest)', idle: 'idle CPUs', workload: 'workload CPUs' };

/** The plots the runs have data for, in report order. */
export function simFigures(runs: readonly RunView[]): Figure[] {
  if (runs.length === 0) return [];
  const figs: Figure[] = [];
  const cache = new Map<RunView, Map<string, number | null>>();
  const configs = distinct(runs.map((r) => r.config));
  const fyOf = (r: RunView, prefix = ''): string => [prefix, configs.length > 1 ? r.config : ''].filter(Boolean).join(' · ');
  const seeds = distinct(runs.map((r) => r.seed)).length;
  const band = seeds > 1 ? `Mean over ${seeds} seeds; the band (against CPU count) or the vertical rule (one CPU count) spans the smallest to the largest seed (min–max, not a confidence interval).` : 'One seed: no band.';
  const add = (f: Figure): void => {
    if (f.rows.length > 0) figs.push(f);
  };

  for (const [op, opLabel] of [['munmap/exit', 'munmap or exit_mmap'], ['collapse', 'khugepaged collapse']] as const) {
    add({
      type: 'metric',
      id: `ipis-${op === 'collapse' ? 'collapse' : 'munmap'}`,
      title: `IPIs received per ${op}, by who receives them`,
      caption: `IPIs (CAL + TLB, as /proc/interrupts counts them) that one ${opLabel} sent, summed over the CPUs of each class, divided by the number of such operations. RT CPUs run cyclictest; idle CPUs run nothing; workload CPUs run the scenario's operations. ${band}`,
      y: `IPIs per ${op}`,
      log: false,
      rows: series(runs, (r) => CLASSES.filter((c) => r.scenario.cpu.some((cpu) => classOf(cpu) === c)).map((c) => ({ fx: CLASS_TEXT[c], fy: fyOf(r), value: rowsOf(r, cache).get(`  on ${c} CPUs per ${op}`) ?? null }))),
    });
  }

  const latOps = ['munmap', 'exit_mmap'].filter((op) => runs.some((r) => (r.metrics.operations[op]?.count ?? 0) > 0));
  add({
    type: 'metric',
    id: 'latency',
    title: `${latOps.join(' and ')} latency percentiles`,
    caption: `Time from the operation's entry to its return, per operation (HDR histogram, 3 significant digits; p50 and p99 are bucket upper bounds clamped to the largest value seen). Log scale. ${band}`,
    y: 'latency, µs',
    log: true,
    rows: series(runs, (r) =>
      latOps.flatMap((op) => (['p50', 'p99', 'max'] as const).map((p) => {
        const s = r.metrics.operations[op];
        return { fx: p, fy: fyOf(r, op), value: s && s.count > 0 ? s[p] / 1000 : null };
      })),
    ),
  });

  add({
    type: 'metric',
    id: 'grace-periods',
    title: 'RCU grace periods started',
    caption: `Normal grace periods started during the run (one per rcu_gp_init(), however many callers share it) and expedited ones. Fixed-work runs do the same work under every strategy. ${band}`,
    y: 'grace periods',
    log: false,
    rows: series(runs, (r) => [
      { fx: 'normal', fy: fyOf(r), value: r.metrics.gracePeriods.count },
      { fx: 'expedited', fy: fyOf(r), value: r.metrics.rcu?.expedited ?? null },
    ]),
  });

  add({
    type: 'metric',
    id: 'grace-period-length',
    title: 'RCU grace-period length, and what synchronize_rcu() callers wait',
    caption: `Length of each normal grace period, rcu_gp_init() to its end, and each synchronize_rcu() caller's wait from its request to its wakeup (p50 and p99; runs without any are left out). Log scale. ${band}`,
    y: 'µs',
    log: true,
    rows: series(runs, (r) => {
      const d = r.metrics.gracePeriods.duration;
      const w = r.metrics.rcu?.syncWait ?? null;
      return [
        { fx: 'grace period p50', fy: fyOf(r), value: d ? d.p50 / 1000 : null },
        { fx: 'grace period p99', fy: fyOf(r), value: d ? d.p99 / 1000 : null },
        { fx: 'synchronize_rcu() wait p99', fy: fyOf(r), value: w ? w.p99 / 1000 : null },
      ];
    }),
  });

  add({
    type: 'metric',
    id: 'pending-peak',
    title: 'Page-table pages waiting to be freed',
    caption: `Pages unlinked from the page tables and not yet freed (waiting for a grace period or a sync): the peak and the time-weighted mean over the run. ${band}`,
    y: 'pages',
    log: false,
    rows: series(runs, (r) => [
      { fx: 'peak', fy: fyOf(r), value: r.metrics.pendingFree.peak },
      { fx: 'time-weighted mean', fy: fyOf(r), value: r.metrics.pendingFree.mean },
    ]),
  });

  // Over time: the first seed of each (configuration, CPU count, strategy).
  const firstSeed = new Map<string, RunView>();
  for (const r of runs) {
    const k = JSON.stringify([r.config, r.cpus, r.strategy]);
    if (!firstSeed.has(k)) firstSeed.set(k, r);
  }
  const multiCpu = distinct(runs.map((r) => r.cpus)).length > 1;
  const fyCurve = (r: RunView): string => [multiCpu ? `${r.cpus} CPUs` : '', configs.length > 1 ? r.config : ''].filter(Boolean).join(' · ');
  const MAX_POINTS = 600;
  let binned = false;
  const timeRows = [...firstSeed.values()].flatMap((r) => {
    const s = r.metrics.pendingFree.samples;
    if (s.length <= MAX_POINTS) return s.map(([t, n]) => ({ fy: fyCurve(r), strategy: r.strategy, x: r6(t / 1e6), y: n }));
    // Too many samples to draw: the largest value of each bin, so that no peak is lost.
    binned = true;
    const per = Math.ceil(s.length / MAX_POINTS);
    const out: Array<{ fy: string; strategy: string; x: number; y: number }> = [];
    for (let i = 0; i < s.length; i += per) {
      const bin = s.slice(i, i + per);
      out.push({ fy: fyCurve(r), strategy: r.strategy, x: r6((bin[0] as readonly [number, number])[0] / 1e6), y: Math.max(...bin.map((b) => b[1])) });
    }
    return out;
  });
  const seedText = (rs: readonly RunView[]): string => distinct(rs.map((r) => r.seed)).join(', ');
  add({
    type: 'curve',
    id: 'pending-over-time',
    title: 'Page-table pages waiting to be freed, over time',
    caption: `Sampled every 100 µs of simulated time${binned ? `; more than ${MAX_POINTS} samples are shown as the largest value per bin` : ''}. One run per strategy (seed ${seedText([...firstSeed.values()])}); fixed-work runs end when their work is done.`,
    x: 'simulated time, ms',
    y: 'pages waiting',
    log: false,
    step: true,
    xInteger: false,
    rows: timeRows,
  });

  // cyclictest -h: per strategy, the counts of every seed and every RT CPU added up.
  const hist = new Map<string, { fy: string; strategy: string; counts: Map<number, number> }>();
  for (const r of runs) {
    for (const w of Object.values(r.metrics.wakeups)) {
      const k = JSON.stringify([fyCurve(r), r.strategy]);
      let h = hist.get(k);
      if (!h) hist.set(k, (h = { fy: fyCurve(r), strategy: r.strategy, counts: new Map() }));
      for (const [us, n] of w.histogram ?? []) h.counts.set(us, (h.counts.get(us) ?? 0) + n);
    }
  }
  const top = Math.max(0, ...[...hist.values()].flatMap((h) => [...h.counts.keys()]));
  const width = Math.max(1, Math.ceil((top + 1) / 400));
  const low = Math.floor(Math.min(top, ...[...hist.values()].flatMap((h) => [...h.counts.keys()])) / width) * width;
  const histRows = [...hist.values()].flatMap((h) => {
    const buckets = new Map<number, number>();
    for (const [us, n] of h.counts) buckets.set(Math.floor(us / width) * width, (buckets.get(Math.floor(us / width) * width) ?? 0) + n);
    // Every bucket from 0 to the last one, empty ones as 0, so that the step line does not bridge gaps.
    const last = Math.max(...buckets.keys());
    const out: Array<{ fy: string; strategy: string; x: number; y: number }> = [];
    for (let b = Math.max(0, low - width); b <= last + width; b += width) out.push({ fy: h.fy, strategy: h.strategy, x: b, y: buckets.get(b) ?? 0 });
    return out;
  });
  add({
    type: 'curve',
    id: 'wakeup-histogram',
    title: 'RT wakeup latency histogram (cyclictest -h)',
    caption: `How late each timer wakeup of a cyclictest thread ran after its expiry, in ${width} µs buckets, the counts of every RT CPU and every seed (${seedText(runs)}) added up. Log-like (symlog) count axis.`,
    x: 'wakeup latency, µs',
    y: 'wakeups',
    log: true,
    step: true,
    xInteger: true,
    rows: histRows,
  });
  return figs;
}

/** RT, idle or workload, as `ptlab compare` names a CPU's group. */
function classOf(c: ResolvedScenario['cpu'][number]): (typeof CLASSES)[number] {
  if (c.run.some((r) => r.startsWith('cyclictest'))) return 'RT';
  if (c.run.length === 0 || c.run.every((r) => r === 'idle')) return 'idle';
  return 'workload';
}

/** Runs of one table: the same configuration and CPU count, every strategy and seed. */
export interface RunGroup {
  readonly config: string;
  readonly cpus: number;
  readonly runs: readonly RunView[];
}

export function runGroups(runs: readonly RunView[]): RunGroup[] {
  const out = new Map<string, RunGroup & { runs: RunView[] }>();
  for (const r of runs) {
    const k = JSON.stringify([r.config, r.cpus]);
    let g = out.get(k);
    if (!g) out.set(k, (g = { config: r.config, cpus: r.cpus, runs: [] }));
    g.runs.push(r);
  }
  return [...out.values()];
}
