/**
 * Simulation results as text, the way kernel developers read such numbers: a /proc/interrupts
 * table (CAL and TLB lines per CPU), cyclictest-style lines for the real-time threads, latency of
 * each workload operation, grace periods, and page-table pages waiting to be freed. Times are in
 * microseconds unless marked.
 */
import { cpuList } from './format.js';
import type { SimMetricsData, LatencyStats } from '../simulation/metrics.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import type { SimRun } from '../simulation/run.js';
import { renderTable } from './table.js';

const us = (ns: number): string => (ns / 1000).toFixed(ns < 10_000 ? 2 : ns < 1_000_000 ? 1 : 0);

/** CPU ranges with identical counts collapse into one column ("CPU8-111") beyond 16 CPUs. */
function columns(m: SimMetricsData): Array<{ label: string; cpus: number[] }> {
  const all = Array.from({ length: m.cpus }, (_, i) => i);
  if (m.cpus <= 16) return all.map((c) => ({ label: `CPU${c}`, cpus: [c] }));
  const key = (c: number): string => {
    const i = m.interrupts[c] as { CAL: number; TLB: number };
    return `${i.CAL}/${i.TLB}`;
  };
  const out: Array<{ label: string; cpus: number[] }> = [];
  let start = 0;
  for (let c = 1; c <= m.cpus; c++) {
    if (c === m.cpus || key(c) !== key(start)) {
      const cpus = all.slice(start, c);
      out.push({ label: `CPU${cpuList(cpus)}`, cpus });
      start = c;
    }
  }
  return out;
}

export function procInterrupts(m: SimMetricsData): string {
  const cols = columns(m);
  const w = Math.max(10, ...cols.map((c) => c.label.length + 1));
  const count = (c: { cpus: readonly number[] }, kind: 'CAL' | 'TLB'): string => String((m.interrupts[c.cpus[0] as number] as { CAL: number; TLB: number })[kind]);
  // As /proc/interrupts: the interrupt's name, a count per CPU, what it is.
  const lines = renderTable([
    ['', ...cols.map((c) => c.label)],
    ['CAL:', ...cols.map((c) => count(c, 'CAL')), 'Function call interrupts'],
    ['TLB:', ...cols.map((c) => count(c, 'TLB')), 'TLB shootdowns'],
  ], { columns: [{ align: 'right', width: 5 }, ...cols.map(() => ({ align: 'right' as const, width: w })), {}], gap: [...cols.map(() => ''), '   '] });
  if (cols.some((c) => c.cpus.length > 1)) lines.push('       (a range column shows the count of each CPU in the range)');
  return lines.join('\n');
}

/** cyclictest's output line, one per real-time CPU. */
export function cyclictestLines(m: SimMetricsData): string {
  return Object.entries(m.wakeups)
    .map(([cpu, s], i) => `T:${String(i).padStart(2)} (CPU${cpu}) P:99 I:${Math.round(s.interval / 1000)} C:${String(s.count).padStart(7)} Min:${String(Math.round(s.min / 1000)).padStart(7)} Act:${String(Math.round(s.last / 1000)).padStart(7)} Avg:${String(Math.round(s.avg / 1000)).padStart(7)} Max:${String(Math.round(s.max / 1000)).padStart(7)}`)
    .join('\n');
}

/** One row of the latency table: the operation, its count, then min/p50/p99/max in µs. */
function latencyRow(name: string, s: LatencyStats): string[] {
  return [name, String(s.count), us(s.min), us(s.p50), us(s.p99), us(s.max)];
}

const LATENCY_COLUMNS = [{ width: 16 }, { align: 'right', width: 8 }, ...Array.from({ length: 4 }, () => ({ align: 'right', width: 10 }) as const)] as const;

export function simText(title: string, m: SimMetricsData, meta: { time: number; steps: number }): string {
  const out: string[] = [];
  out.push(`${title}: ${(meta.time / 1e6).toFixed(3)} ms simulated, ${meta.steps} steps`);
  out.push('');
  out.push(procInterrupts(m));
  const irq = m.irqTime.reduce((a, b) => a + b, 0);
  out.push(`time in IPI handlers: ${us(irq)} µs in total, ${us(Math.max(...m.irqTime))} µs on the most disturbed CPU`);
  if (Object.keys(m.operations).length > 0) {
    out.push('');
    out.push(...renderTable([['operation', 'count', 'min µs', 'p50 µs', 'p99 µs', 'max µs'], ...Object.entries(m.operations).map(([k, s]) => latencyRow(k, s))], { columns: LATENCY_COLUMNS, gap: ' ' }));
  }
  if (Object.keys(m.wakeups).length > 0) {
    out.push('');
    out.push('real-time wakeup latency (cyclictest, µs):');
    out.push(cyclictestLines(m));
  }
  out.push('');
  const gp = m.gracePeriods;
  out.push(`grace periods: ${gp.count} started${gp.duration ? `, ${gp.duration.count} completed, duration p50 ${us(gp.duration.p50)} µs, max ${us(gp.duration.max)} µs` : ''}`);
  // Tree RCU grace periods (issue #12)
  const r = m.rcu;
  if (r.callbacksPerGp) out.push(`  per grace period: call_rcu() callbacks p50 ${r.callbacksPerGp.p50}, max ${r.callbacksPerGp.max}, mean ${r.callbacksPerGp.avg.toFixed(1)}; synchronize_rcu() callers p50 ${r.syncCallersPerGp?.p50 ?? 0}, max ${r.syncCallersPerGp?.max ?? 0}`);
  if (gp.duration) out.push(`  grace-period length µs: min ${us(gp.duration.min)}, p50 ${us(gp.duration.p50)}, p99 ${us(gp.duration.p99)}, max ${us(gp.duration.max)}`);
  if (r.syncWait) out.push(`  synchronize_rcu() wait µs: ${r.syncWait.count} calls, p50 ${us(r.syncWait.p50)}, p99 ${us(r.syncWait.p99)}, max ${us(r.syncWait.max)}`);
  if (r.expedited) out.push(`  expedited grace periods: ${r.expedited}`);
  out.push(`page-table pages waiting to be freed: peak ${m.pendingFree.peak}, mean ${m.pendingFree.mean.toFixed(1)}; ${m.tablesFreed} freed`);
  const idle = cpuidleLines(m, meta.time);
  if (idle) {
    out.push('');
    out.push(idle);
  }
  return out.join('\n');
}

/**
 * cpuidle (issue #12): per CPU that idled, its policy and the share of the run and the entries
 * per idle state (cpuN/cpuidle/stateK/{time,usage}); CPUs with the same line are grouped.
 */
export function cpuidleLines(m: SimMetricsData, time: number): string {
  const rows = m.cpuidle ?? [];
  const groups = new Map<string, number[]>();
  rows.forEach((r, c) => {
    const states = Object.entries(r.states).filter(([, v]) => v.time > 0 || v.usage > 0);
    if (states.length === 0) return;
    const cells = states.map(([k, v]) => `${k} ${time > 0 ? ((100 * v.time) / time).toFixed(1) : '0.0'}% (${v.usage}×, avg ${us(v.usage ? v.time / v.usage : 0)} µs)`);
    const line = `${r.policy}: ${cells.join(', ')}`;
    const g = groups.get(line);
    if (g) g.push(c);
    else groups.set(line, [c]);
  });
  if (groups.size === 0) return '';
  const out = ['idle-state residency (% of the run, entries, mean stay):'];
  for (const [line, cpus] of groups) out.push(`  CPU ${cpuList(cpus)} ${line}`);
  return out.join('\n');
}

/** The `ptlab.sim/1` document `ptlab sim --json` prints (docs/json.md). */
export function simJson(s: ResolvedScenario, run: SimRun): unknown {
  return {
    schema: 'ptlab.sim/1',
    scenario: s,
    sim: run.sim,
    time_ns: run.result.time,
    steps: run.result.steps,
    stop: run.result.stop,
    complete: run.complete,
    metrics: run.metrics,
    violations: run.result.violations,
  };
}
