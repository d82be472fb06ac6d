/**
 * Strategies side by side: the same workload under each, one column per strategy, one row per
 * measurement. Groups of CPUs are named by what they run (RT CPUs run cyclictest; idle CPUs run
 * nothing; the rest run the workload). With several seeds per strategy (`--seeds`), each cell is
 * the mean with its 95% confidence interval, and a difference from the first strategy that is
 * inside the noise (Welch's t-test) is marked as such.
 */
import type { SimMetricsData } from '../simulation/metrics.js';
import type { LoadedScenario, ResolvedScenario } from '../scenarios/resolve.js';
import type { SimRun } from '../simulation/run.js';
import { simJson } from './sim.js';
import { differ, summarize, type Summary } from './stats.js';
import { renderTable } from './table.js';

/** One run of one strategy. */
export interface CompareColumn {
  readonly strategy: string;
  readonly metrics: SimMetricsData;
  readonly violations: number;
  /** Simulated time the run took (ns): for fixed work, how long the work took. */
  readonly time: number;
}

/** A strategy's runs, one per seed. */
export interface CompareGroup {
  readonly strategy: string;
  readonly runs: readonly CompareColumn[];
}

function groups(s: ResolvedScenario): { rt: number[]; idle: number[]; busy: number[] } {
  const rt: number[] = [];
  const idle: number[] = [];
  const busy: number[] = [];
  for (const c of s.cpu) {
    if (c.run.some((r) => r.startsWith('cyclictest'))) rt.push(c.cpu);
    else if (c.run.length === 0 || c.run.every((r) => r === 'idle')) idle.push(c.cpu);
    else busy.push(c.cpu);
  }
  return { rt, idle, busy };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const usNum = (ns: number): number => ns / 1000;
const fmtUs = (us: number): string => us.toFixed(us < 10 ? 2 : 1);
const fmtInt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const fixed = (d: number) => (n: number): string => n.toFixed(d);

/** A row: its label, its value in one run (null: not applicable, printed '-'), and its format. */
interface Measure {
  readonly label: string;
  readonly value: (c: CompareColumn) => number | null;
  readonly fmt: (n: number) => string;
}

/** The rows that apply to these runs, in print order. */
function measures(s: ResolvedScenario, all: readonly CompareColumn[]): Measure[] {
  const g = groups(s);
  const ipis = (m: SimMetricsData, cpus: readonly number[]): number => sum(cpus.map((c) => (m.interrupts[c]?.CAL ?? 0) + (m.interrupts[c]?.TLB ?? 0)));
  const out: Measure[] = [];
  const row = (label: string, value: (c: CompareColumn) => number | null, fmt: (n: number) => string = fmtInt): void => {
    out.push({ label, value, fmt });
  };
  row('simulated time, ms', (c) => c.time / 1e6, fixed(2));
  row('CAL IPIs received (all CPUs)', (c) => sum(c.metrics.interrupts.map((i) => i.CAL)));
  row('TLB IPIs received (all CPUs)', (c) => sum(c.metrics.interrupts.map((i) => i.TLB)));
  if (g.rt.length) row(`IPIs on RT CPUs (${g.rt.length})`, (c) => ipis(c.metrics, g.rt));
  if (g.idle.length) row(`IPIs on idle CPUs (${g.idle.length})`, (c) => ipis(c.metrics, g.idle));
  if (g.busy.length) row(`IPIs on workload CPUs (${g.busy.length})`, (c) => ipis(c.metrics, g.busy));
  row('max IPIs on one CPU', (c) => Math.max(...c.metrics.interrupts.map((i) => i.CAL + i.TLB)));
  // Per operation (issue #12): the IPIs an operation sent, by who received them, divided by how
  // many such operations ran. RT and idle CPUs pay for IPIs they did not ask for; workload CPUs
  // include the operating CPU's own threads.
  const opCount = (c: CompareColumn, ops: readonly string[]): number => sum(ops.map((o) => c.metrics.operations[o]?.count ?? 0));
  const sent = (c: CompareColumn, ops: readonly string[], cpus: readonly number[], kinds: ReadonlyArray<'CAL' | 'TLB'> = ['CAL', 'TLB']): number =>
    sum(ops.map((o) => {
      const e = c.metrics.ipisByOp?.[o];
      return e ? sum(kinds.map((k) => sum(cpus.map((cpu) => e[k][cpu] ?? 0)))) : 0;
    }));
  const allCpus = s.cpu.map((c) => c.cpu);
  const perOp = (label: string, ops: readonly string[]): void => {
    if (!all.some((c) => opCount(c, ops) > 0)) return;
    const per = (f: (c: CompareColumn) => number) => (c: CompareColumn): number | null => (opCount(c, ops) ? f(c) / opCount(c, ops) : null);
    row(`IPIs sent per ${label}`, per((c) => sent(c, ops, allCpus)), fixed(2));
    // Sub-rows name their operation too, so that every label is unique (tests and JSON find rows by label).
    row(`  CAL per ${label}`, per((c) => sent(c, ops, allCpus, ['CAL'])), fixed(2));
    row(`  TLB per ${label}`, per((c) => sent(c, ops, allCpus, ['TLB'])), fixed(2));
    for (const [name, cpus] of [['RT', g.rt], ['idle', g.idle], ['workload', g.busy]] as const) {
      if (cpus.length) row(`  on ${name} CPUs per ${label}`, per((c) => sent(c, ops, cpus)), fixed(2));
    }
    if (all.some((c) => ops.some((o) => (c.metrics.rcu?.syncWaitByOp[o] ?? 0) > 0))) {
      row(`grace-period wait per ${label}, µs`, per((c) => usNum(sum(ops.map((o) => c.metrics.rcu?.syncWaitByOp[o] ?? 0)))), fmtUs);
    }
    if (g.rt.length) {
      row(`IRQ time on RT CPUs per ${label}, µs`, per((c) => usNum(sum(ops.map((o) => sum(g.rt.map((cpu) => c.metrics.ipisByOp?.[o]?.irqTime[cpu] ?? 0)))))), fmtUs);
    }
  };
  perOp('munmap/exit', ['munmap', 'exit_mmap']);
  perOp('collapse', ['collapse', 'collapse_file']);
  const unmaps = (c: CompareColumn): number => opCount(c, ['munmap', 'exit_mmap']);
  if (all.some((c) => unmaps(c) > 0 && (c.metrics.smpCalls?.tlb_remove_table_smp_sync ?? 0) > 0) && !all.some((c) => opCount(c, ['collapse', 'collapse_file']) > 0)) {
    // One tlb_remove_table_sync_one() is one call, IPI'ing every other online CPU.
    row('sync IPI broadcasts per munmap/exit', (c) => (unmaps(c) ? (c.metrics.smpCalls?.tlb_remove_table_smp_sync ?? 0) / unmaps(c) : null), fixed(1));
  }
  row('time in IPI handlers, µs', (c) => usNum(sum(c.metrics.irqTime)), fmtUs);
  const ops = [...new Set(all.flatMap((c) => Object.keys(c.metrics.operations)))].sort();
  for (const op of ops) {
    row(`${op} count`, (c) => c.metrics.operations[op]?.count ?? 0);
    for (const p of ['p50', 'p99', 'max'] as const) row(`${op} ${p} µs`, (c) => (c.metrics.operations[op] ? usNum(c.metrics.operations[op][p]) : null), fmtUs);
  }
  if (g.rt.length) {
    row('RT wakeup avg µs (worst CPU)', (c) => usNum(Math.max(0, ...Object.values(c.metrics.wakeups).map((w) => w.avg))), fmtUs);
    row('RT wakeup max µs (worst CPU)', (c) => usNum(Math.max(0, ...Object.values(c.metrics.wakeups).map((w) => w.max))), fmtUs);
  }
  row('grace periods started', (c) => c.metrics.gracePeriods.count);
  row('tables waiting to be freed: peak', (c) => c.metrics.pendingFree.peak);
  row('tables waiting to be freed: mean', (c) => c.metrics.pendingFree.mean, fixed(1));
  row('tables freed', (c) => c.metrics.tablesFreed);
  row('invariant violations', (c) => c.violations);
  // Tree RCU grace periods (issue #12)
  if (all.some((c) => c.metrics.gracePeriods.duration)) {
    for (const p of ['p50', 'p99', 'max'] as const) row(`grace-period length ${p} µs`, (c) => (c.metrics.gracePeriods.duration ? usNum(c.metrics.gracePeriods.duration[p]) : null), fmtUs);
    row('call_rcu callbacks per grace period', (c) => c.metrics.rcu.callbacksPerGp?.avg ?? null, fixed(1));
  }
  if (all.some((c) => c.metrics.rcu.syncWait)) {
    row('synchronize_rcu callers per grace period', (c) => c.metrics.rcu.syncCallersPerGp?.avg ?? null, fixed(1));
    for (const p of ['p50', 'p99', 'max'] as const) row(`synchronize_rcu wait ${p} µs`, (c) => (c.metrics.rcu.syncWait ? usNum(c.metrics.rcu.syncWait[p]) : null), fmtUs);
  }
  return out;
}

/** One run per strategy: the table's rows as text cells (label first). */
export function compareRows(s: ResolvedScenario, cols: readonly CompareColumn[]): Array<[string, ...string[]]> {
  return measures(s, cols).map((m) => [m.label, ...cols.map((c) => {
    const v = m.value(c);
    return v === null ? '-' : m.fmt(v);
  })]);
}

/** A row over seeds: per strategy, the summary of its values, and whether it differs from the first strategy's. */
export interface StatsRow {
  readonly label: string;
  readonly cells: ReadonlyArray<{ readonly summary: Summary | null; readonly values: ReadonlyArray<number | null>; readonly differsFromFirst: boolean | null; readonly text: string }>;
}

/** Several seeds per strategy: mean ± 95% CI per cell; '≈' marks a difference from the first strategy inside the noise. */
export function compareStats(s: ResolvedScenario, grps: readonly CompareGroup[]): StatsRow[] {
  const all = grps.flatMap((g) => g.runs);
  return measures(s, all).map((m) => {
    const sums = grps.map((g) => {
      const values = g.runs.map((r) => m.value(r));
      const nums = values.filter((v): v is number => v !== null);
      return { values, summary: nums.length === values.length && nums.length > 0 ? summarize(nums) : null };
    });
    const base = sums[0]?.summary ?? null;
    return {
      label: m.label,
      cells: sums.map((c, i) => {
        const d = i > 0 && base && c.summary ? differ(c.summary, base) : null;
        const text = c.summary === null ? '-' : `${m.fmt(c.summary.mean)}${c.summary.ci95 !== null ? ` ±${m.fmt(c.summary.ci95)}` : ''}${d === false ? ' ≈' : ''}`;
        return { ...c, differsFromFirst: d, text };
      }),
    };
  });
}

export interface CompareMeta {
  readonly profile: string;
  readonly seeds: readonly number[];
  /** Fixed work: rounds per workload CPU; fixed time: null. */
  readonly work: number | null;
  /** Fixed time: the simulated time; fixed work: the time limit (ns). */
  readonly duration: number;
  /** Fixed work: strategy/seed runs that hit the time limit before the work was done. */
  readonly incomplete: readonly string[];
}

/** The first column (row labels) left-aligned, the numbers right-aligned. */
function table(all: ReadonlyArray<readonly string[]>): string[] {
  const n = Math.max(...all.map((r) => r.length));
  return renderTable(all, { columns: Array.from({ length: n }, (_, i) => ({ align: i === 0 ? 'left' : 'right' }) as const) });
}

export function compareText(s: ResolvedScenario, grps: readonly CompareGroup[], meta: CompareMeta): string {
  const what = meta.work !== null
    ? `fixed work: ${meta.work} rounds of each workload CPU's run list`
    : `${(meta.duration / 1e6).toFixed(1)} ms simulated`;
  const seeds = meta.seeds.length === 1 ? `seed ${meta.seeds[0]}` : `${meta.seeds.length} seeds (${meta.seeds.join(', ')})`;
  const lines = [`${s.name}: ${s.arch}, ${s.cpus} CPUs, profile ${meta.profile}, ${what}, ${seeds}`, ''];
  const header = ['', ...grps.map((g) => g.strategy)];
  if (meta.seeds.length === 1) {
    lines.push(...table([header, ...compareRows(s, grps.map((g) => g.runs[0] as CompareColumn))]));
  } else {
    lines.push(...table([header, ...compareStats(s, grps).map((r) => [r.label, ...r.cells.map((c) => c.text)])]));
    lines.push('');
    lines.push(`mean ±95% confidence interval over ${meta.seeds.length} seeds (Student's t); ≈: not distinguishable from ${grps[0]?.strategy} at the 5% level (Welch's t-test)`);
  }
  if (meta.incomplete.length) {
    lines.push('');
    lines.push(`WARNING: the work did not finish within the time limit of ${(meta.duration / 1e6).toFixed(0)} ms in: ${meta.incomplete.join(', ')} (raise sim.time_limit or lower --work)`);
  }
  return lines.join('\n');
}

/** One run of a compare (what compareScenario() returns, one per strategy and seed). */
export interface CompareRun {
  readonly strategy: string;
  readonly seed: number;
  readonly scenario: LoadedScenario;
  readonly run: SimRun;
}

/** The runs of a compare grouped by strategy (in order), and what they have in common. */
export function compareGroups(runs: readonly CompareRun[]): { grps: CompareGroup[]; meta: CompareMeta & { seeds: number[]; incomplete: string[] }; first: CompareRun; strategyIds: string[] } {
  const first = runs[0] as CompareRun;
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const strategyIds = [...new Set(runs.map((r) => r.strategy))];
  const grps = strategyIds.map((strategy) => ({
    strategy,
    runs: runs.filter((r) => r.strategy === strategy).map((r) => ({ strategy, metrics: r.run.metrics, violations: r.run.result.violations.length, time: r.run.result.time })),
  }));
  const meta = {
    profile: first.run.sim.profile,
    seeds,
    work: first.run.sim.work,
    duration: first.run.sim.duration,
    incomplete: runs.filter((r) => !r.run.complete).map((r) => `${r.strategy}/seed ${r.seed}`),
  };
  return { grps, meta, first, strategyIds };
}

/** The `ptlab.compare/2` document `ptlab compare --json` prints (docs/json.md). */
export function compareJson(runs: readonly CompareRun[]): unknown {
  const { grps, meta, first, strategyIds } = compareGroups(runs);
  return {
    schema: 'ptlab.compare/2',
    mode: meta.work !== null ? { work: meta.work, time_limit_ns: meta.duration } : { duration_ns: meta.duration },
    seeds: meta.seeds,
    strategies: strategyIds,
    rows: compareStats(first.scenario.resolved, grps).map((r) => ({
      label: r.label,
      cells: Object.fromEntries(r.cells.map((c, i) => [strategyIds[i], { values: c.values, mean: c.summary?.mean ?? null, ci95: c.summary?.ci95 ?? null, differs_from_first: c.differsFromFirst }])),
    })),
    runs: runs.map((r) => ({ strategy: r.strategy, seed: r.seed, ...(simJson(r.scenario.resolved, r.run) as object) })),
  };
}
