/**
 * Strategies side by side: the same workload and seed under each, one column per strategy, one
 * row per measurement. Groups of CPUs are named by what they run (RT CPUs run cyclictest; idle
 * CPUs run nothing; the rest run the workload).
 */
import type { SimMetricsData } from '../simulation/metrics.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';

export interface CompareColumn {
  readonly strategy: string;
  readonly metrics: SimMetricsData;
  readonly violations: number;
  readonly time: number;
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
const us = (ns: number): string => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);

export function compareRows(s: ResolvedScenario, cols: readonly CompareColumn[]): Array<[string, ...string[]]> {
  const g = groups(s);
  const ipis = (m: SimMetricsData, cpus: readonly number[]): number => sum(cpus.map((c) => (m.interrupts[c]?.CAL ?? 0) + (m.interrupts[c]?.TLB ?? 0)));
  const rows: Array<[string, ...string[]]> = [];
  const row = (label: string, f: (c: CompareColumn) => string): void => {
    rows.push([label, ...cols.map(f)]);
  };
  row('CAL IPIs received (all CPUs)', (c) => String(sum(c.metrics.interrupts.map((i) => i.CAL))));
  row('TLB IPIs received (all CPUs)', (c) => String(sum(c.metrics.interrupts.map((i) => i.TLB))));
  if (g.rt.length) row(`IPIs on RT CPUs (${g.rt.length})`, (c) => String(ipis(c.metrics, g.rt)));
  if (g.idle.length) row(`IPIs on idle CPUs (${g.idle.length})`, (c) => String(ipis(c.metrics, g.idle)));
  if (g.busy.length) row(`IPIs on workload CPUs (${g.busy.length})`, (c) => String(ipis(c.metrics, g.busy)));
  row('max IPIs on one CPU', (c) => String(Math.max(...c.metrics.interrupts.map((i) => i.CAL + i.TLB))));
  const unmaps = (c: CompareColumn): number => (c.metrics.operations.munmap?.count ?? 0) + (c.metrics.operations.exit_mmap?.count ?? 0);
  if (cols.some((c) => unmaps(c) > 0)) {
    row('IPIs received per munmap/exit', (c) => (unmaps(c) ? (sum(c.metrics.interrupts.map((i) => i.CAL + i.TLB)) / unmaps(c)).toFixed(1) : '-'));
    // The same work split by who pays for it (issue #12): RT and idle CPUs pay for IPIs they did
    // not ask for; workload CPUs include the unmapping CPU's own threads.
    const perUnmap = (label: string, cpus: readonly number[]): void => {
      if (cpus.length) row(label, (c) => (unmaps(c) ? (ipis(c.metrics, cpus) / unmaps(c)).toFixed(2) : '-'));
    };
    perUnmap('  on RT CPUs', g.rt);
    perUnmap('  on idle CPUs', g.idle);
    perUnmap('  on workload CPUs', g.busy);
    if (g.rt.length) row('IRQ time on RT CPUs per munmap/exit, µs', (c) => (unmaps(c) ? us(sum(g.rt.map((cpu) => c.metrics.irqTime[cpu] ?? 0)) / unmaps(c)) : '-'));
  }
  const collapses = (c: CompareColumn): number => c.metrics.operations.collapse?.count ?? 0;
  if (cols.some((c) => collapses(c) > 0)) {
    // /proc/interrupts CAL vs TLB as the model counts them: the sync IPI is CAL, the flush IPI TLB.
    row('CAL IPIs received per collapse', (c) => (collapses(c) ? (sum(c.metrics.interrupts.map((i) => i.CAL)) / collapses(c)).toFixed(1) : '-'));
    row('TLB IPIs received per collapse', (c) => (collapses(c) ? (sum(c.metrics.interrupts.map((i) => i.TLB)) / collapses(c)).toFixed(1) : '-'));
  }
  if (cols.some((c) => unmaps(c) > 0 && (c.metrics.smpCalls?.tlb_remove_table_smp_sync ?? 0) > 0)) {
    // One tlb_remove_table_sync_one() is one call, IPI'ing every other online CPU.
    row('sync IPI broadcasts per munmap/exit', (c) => (unmaps(c) ? ((c.metrics.smpCalls?.tlb_remove_table_smp_sync ?? 0) / unmaps(c)).toFixed(1) : '-'));
  }
  row('time in IPI handlers, µs', (c) => us(sum(c.metrics.irqTime)));
  const ops = [...new Set(cols.flatMap((c) => Object.keys(c.metrics.operations)))].sort();
  for (const op of ops) {
    row(`${op} count`, (c) => String(c.metrics.operations[op]?.count ?? 0));
    row(`${op} p50 µs`, (c) => (c.metrics.operations[op] ? us(c.metrics.operations[op].p50) : '-'));
    row(`${op} p99 µs`, (c) => (c.metrics.operations[op] ? us(c.metrics.operations[op].p99) : '-'));
    row(`${op} max µs`, (c) => (c.metrics.operations[op] ? us(c.metrics.operations[op].max) : '-'));
  }
  if (g.rt.length) {
    row('RT wakeup avg µs (worst CPU)', (c) => us(Math.max(0, ...Object.values(c.metrics.wakeups).map((w) => w.avg))));
    row('RT wakeup max µs (worst CPU)', (c) => us(Math.max(0, ...Object.values(c.metrics.wakeups).map((w) => w.max))));
  }
  row('grace periods started', (c) => String(c.metrics.gracePeriods.count));
  row('tables waiting to be freed: peak', (c) => String(c.metrics.pendingFree.peak));
  row('tables waiting to be freed: mean', (c) => c.metrics.pendingFree.mean.toFixed(1));
  row('tables freed', (c) => String(c.metrics.tablesFreed));
  row('invariant violations', (c) => String(c.violations));
  return rows;
}

export function compareText(s: ResolvedScenario, cols: readonly CompareColumn[], meta: { duration: number; seed: number; profile: string }): string {
  const rows = compareRows(s, cols);
  const header: [string, ...string[]] = ['', ...cols.map((c) => c.strategy)];
  const all = [header, ...rows];
  const w0 = Math.max(...all.map((r) => r[0].length));
  const ws = cols.map((_, i) => Math.max(...all.map((r) => (r[i + 1] ?? '').length)));
  const lines = [`${s.name}: ${s.arch}, ${s.cpus} CPUs, profile ${meta.profile}, ${(meta.duration / 1e6).toFixed(1)} ms simulated, seed ${meta.seed}`, ''];
  for (const r of all) lines.push(`${r[0].padEnd(w0)}  ${r.slice(1).map((x, i) => (x ?? '').padStart(ws[i] as number)).join('  ')}`.trimEnd());
  return lines.join('\n');
}
