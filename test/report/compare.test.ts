/**
 * ptlab compare's table (src/report/compare.ts) on the Quick start's scenario, over a short run:
 * every printed percentile is at most its operation's max (issue #12), and the per-munmap split
 * by CPU class adds up to the per-munmap total.
 */
import { describe, expect, it } from 'vitest';
import { compareScenario } from '../../src/api/index.js';
import { compareRows } from '../../src/report/compare.js';

const runs = compareScenario('scenarios/sim/munmap-under-pressure.yaml', undefined, {}, { duration: 2_000_000 });
const rows = compareRows(
  runs[0]!.scenario.resolved,
  runs.map((r) => ({ strategy: r.strategy, metrics: r.run.metrics, violations: r.run.result.violations.length, time: r.run.result.time })),
);
const row = (label: string): string[] => {
  const r = rows.find((x) => x[0] === label);
  if (!r) throw new Error(`no row '${label}'`);
  return r.slice(1);
};

describe('ptlab compare on the Quick start scenario', () => {
  it('prints no percentile above the max of its operation', () => {
    const ops = rows.filter((r) => r[0].endsWith(' max µs')).map((r) => r[0].slice(0, -' max µs'.length));
    expect(ops.length).toBeGreaterThan(2);
    let compared = 0;
    for (const op of ops) {
      const max = row(`${op} max µs`);
      for (const p of ['p50', 'p99']) {
        row(`${op} ${p} µs`).forEach((v, i) => {
          if (v === '-') return;
          expect(Number(v), `${op} ${p} of ${runs[i]!.strategy}`).toBeLessThanOrEqual(Number(max[i]));
          compared++;
        });
      }
    }
    expect(compared).toBeGreaterThan(ops.length * 2);
  });

  it('splits the IPIs per munmap/exit by CPU class, adding up to the total', () => {
    const total = row('IPIs received per munmap/exit').map(Number);
    const parts = ['  on RT CPUs', '  on idle CPUs', '  on workload CPUs'].map((l) => row(l).map(Number));
    total.forEach((t, i) => expect(parts.reduce((a, p) => a + (p[i] as number), 0)).toBeCloseTo(t, 0));
    expect(row('IRQ time on RT CPUs per munmap/exit, µs').every((v) => Number(v) > 0)).toBe(true);
  });
});
