/**
 * The khugepaged workload in the simulator (scenarios/sim/khugepaged-collapse.yaml): one
 * function-call IPI per other CPU per collapse without the v8 skip, none with it; the collapse
 * flush's TLB IPIs reach the process's CPUs either way.
 */
import { describe, expect, it } from 'vitest';
import { openScenario } from '../../src/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../../src/simulation/run.js';
import { compareRows } from '../../src/report/compare.js';

const FILE = 'scenarios/sim/khugepaged-collapse.yaml';

function run(preset: string) {
  const s = openScenario(FILE, { purpose: 'sim', preset });
  return { s, r: simulateScenario(s, simConfigOf(s)) };
}

describe('khugepaged collapsing 64 MiB on a 64-CPU x86 server', () => {
  it('merged: 63 CAL IPIs per collapse (tlb_remove_table_sync_one() to every other CPU); v8-skip: none; PT_RECLAIM on in both', () => {
    const cols = ['merged', 'v8-skip'].map((preset) => {
      const { s, r } = run(preset);
      expect(s.resolved.config.pt_reclaim).toBe(true);
      expect(r.result.violations).toEqual([]);
      expect(r.metrics.operations.collapse?.count).toBe(32);
      const cal = r.metrics.interrupts.reduce((a, i) => a + i.CAL, 0);
      const tlb = r.metrics.interrupts.reduce((a, i) => a + i.TLB, 0);
      // The flush IPIs reach the process's CPUs 1-3, once per collapse, with or without v8.
      expect(tlb).toBe(3 * 32);
      expect(r.metrics.interrupts.slice(4).every((i) => i.TLB === 0)).toBe(true);
      return { s, r, cal, strategy: preset };
    });
    expect(cols[0]?.cal).toBe(63 * 32);
    expect(cols[1]?.cal).toBe(0);
    // The comparison table carries the per-collapse rows.
    const rows = compareRows(cols[0]!.s.resolved, cols.map((c) => ({ strategy: c.strategy, metrics: c.r.metrics, violations: 0, time: c.r.result.time })));
    expect(rows.find((r) => r[0] === '  CAL per collapse')?.slice(1)).toEqual(['63.00', '0.00']);
    expect(rows.find((r) => r[0] === '  TLB per collapse')?.slice(1)).toEqual(['3.00', '3.00']);
  });
});
