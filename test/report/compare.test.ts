/**
 * ptlab compare's table (src/report/compare.ts) on the Quick start's scenario, over a short run:
 * every printed percentile is at most its operation's max (issue #12), the per-munmap split by CPU
 * class adds up to the per-munmap total, fixed work gives every strategy the same work, and
 * replications summarise each row over seeds.
 */
import { describe, expect, it } from 'vitest';
import { compareScenario } from '../../src/api/index.js';
import { compareRows, compareStats, compareText } from '../../src/report/compare.js';

const FILE = 'scenarios/sim/munmap-under-pressure.yaml';
// 6 ms: sync-rcu's first munmap may hold the mmap_lock through a 4 ms grace period while the
// others queue behind it (FIFO rwsem, issue #12); in 2 ms none would finish.
const runs = compareScenario(FILE, undefined, {}, { duration: 6_000_000 }, { fixedTime: true });
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

  it('splits the IPIs each munmap/exit sent by kind and by the class of CPU that received them, adding up to the total', () => {
    const total = row('IPIs sent per munmap/exit').map(Number);
    const parts = ['  on RT CPUs per munmap/exit', '  on idle CPUs per munmap/exit', '  on workload CPUs per munmap/exit'].map((l) => row(l).map(Number));
    total.forEach((t, i) => expect(parts.reduce((a, p) => a + (p[i] as number), 0)).toBeCloseTo(t, 1));
    const kinds = ['  CAL per munmap/exit', '  TLB per munmap/exit'].map((l) => row(l).map(Number));
    total.forEach((t, i) => expect(kinds.reduce((a, p) => a + (p[i] as number), 0)).toBeCloseTo(t, 1));
    // broadcast-ipi's fallback IPIs the idle CPUs; the other two never do.
    expect(row('  on idle CPUs per munmap/exit').map(Number).map((x) => x > 0)).toEqual([true, false, false]);
    expect(row('IRQ time on RT CPUs per munmap/exit, µs').every((v) => Number(v) > 0)).toBe(true);
  });
});

describe('ptlab compare with fixed work and replications', () => {
  const seeds = [1, 2, 3];
  const fixed = compareScenario(FILE, ['broadcast-ipi', 'skip-redundant-ipi'], {}, { work: 8 }, { seeds });
  const grps = ['broadcast-ipi', 'skip-redundant-ipi'].map((strategy) => ({
    strategy,
    runs: fixed.filter((r) => r.strategy === strategy).map((r) => ({ strategy, metrics: r.run.metrics, violations: r.run.result.violations.length, time: r.run.result.time })),
  }));

  it('gives every strategy and seed the same work: 8 rounds on each of the 4 workload CPUs', () => {
    expect(fixed.map((r) => [r.strategy, r.seed])).toEqual([['broadcast-ipi', 1], ['broadcast-ipi', 2], ['broadcast-ipi', 3], ['skip-redundant-ipi', 1], ['skip-redundant-ipi', 2], ['skip-redundant-ipi', 3]]);
    for (const r of fixed) {
      expect(r.run.complete).toBe(true);
      expect(r.run.result.stop).toBe('done');
      expect(r.run.metrics.operations.munmap?.count).toBe(32);
      expect(r.run.metrics.operations.mmap?.count).toBe(32);
      expect(r.run.sim.work).toBe(8);
    }
    // The background loops (gup_fast, cyclictest) are not counted as work: they ran as long as it took.
    expect(fixed[0]!.scenario.workThreads).toHaveLength(4);
  });

  it('summarises each row over the seeds: the mean of the per-seed values, with an interval', () => {
    const stats = compareStats(fixed[0]!.scenario.resolved, grps);
    const row = stats.find((r) => r.label === 'IPIs on idle CPUs (9)');
    expect(row).toBeDefined();
    const b = row!.cells[0]!;
    expect(b.values).toHaveLength(3);
    expect(b.summary!.mean).toBeCloseTo((b.values as number[]).reduce((a, x) => a + x, 0) / 3, 9);
    expect(b.summary!.ci95).not.toBeNull();
    // skip-redundant-ipi sends idle CPUs nothing, on every seed; broadcast-ipi sends them IPIs.
    expect(row!.cells[1]!.values).toEqual([0, 0, 0]);
    expect(row!.cells[1]!.differsFromFirst).toBe(true);
    // The work itself is the same: the munmap count does not differ.
    const count = stats.find((r) => r.label === 'munmap count')!;
    expect(count.cells.map((c) => c.text)).toEqual(['32 ±0', '32 ±0 ≈']);
    const text = compareText(fixed[0]!.scenario.resolved, grps, { profile: 'x86-2s', seeds, work: 8, duration: 1e10, incomplete: [] });
    expect(text).toContain('fixed work: 8 rounds');
    expect(text).toContain('3 seeds (1, 2, 3)');
    expect(text).toMatch(/munmap count +32 ±0 +32 ±0 ≈/);
  });

  it('says when the work did not finish within the time limit', () => {
    const [r] = compareScenario(FILE, ['sync-rcu'], {}, { work: 1000, duration: 1_000_000 });
    expect(r!.run.complete).toBe(false);
    expect(r!.run.result.stop).toBe('until');
  });
});
