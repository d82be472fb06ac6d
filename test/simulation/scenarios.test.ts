/**
 * The simulation scenarios (scenarios/sim/) say what they model (issue #12): each header names the
 * kernel it stands for and its CONFIG_PT_RECLAIM, and the configuration it resolves to agrees. The
 * default-x86 scenario shows where the v8 skip matters on a kernel as built by default.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareScenario } from '../../src/api/index.js';
import { openScenario } from '../../src/scenarios/resolve.js';

const DIR = 'scenarios/sim';
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).map((f) => `${DIR}/${f}`);

describe('scenarios/sim', () => {
  it.each(files)('%s names its kernel and its CONFIG_PT_RECLAIM, and resolves to what it says', (file) => {
    const text = readFileSync(file, 'utf8');
    const header = text.split('\n').filter((l) => l.startsWith('#')).join('\n');
    expect(header).toMatch(/^# Kernel: /m);
    const said = /CONFIG_PT_RECLAIM=([yn])/.exec(header);
    expect(said, 'the header states CONFIG_PT_RECLAIM=y or =n').not.toBeNull();
    // The scenario's own preset and knobs (the first strategy a header describes may differ).
    const s = openScenario(file, { purpose: 'sim' });
    expect(s.resolved.config.pt_reclaim ? 'y' : 'n').toBe(said![1]);
  });
});

describe('a default x86_64 kernel (PT_RECLAIM=y): khugepaged collapse and hugetlb unshare', () => {
  const FILE = `${DIR}/x86-default-collapse-unshare.yaml`;
  const runs = compareScenario(FILE, undefined, {}, { work: 10 });
  const [merged, v8] = runs;

  it('keeps PT_RECLAIM on under both strategies, and does the same work', () => {
    expect(runs.map((r) => r.strategy)).toEqual(['merged', 'v8-skip']);
    for (const r of runs) {
      expect(r.scenario.resolved.config.pt_reclaim).toBe(true);
      expect(r.run.complete).toBe(true);
      expect(r.run.metrics.operations.collapse?.count).toBe(16);
      expect(r.run.metrics.operations.exit_mmap?.count).toBe(40);
      expect(r.run.result.violations).toEqual([]);
    }
  });

  it('merged: every collapse broadcasts a sync IPI to the 23 other CPUs, RT and idle ones included; v8-skip: none', () => {
    const cal = (r: typeof merged, cpus: number[]) => cpus.reduce((a, c) => a + (r!.run.metrics.ipisByOp.collapse?.CAL[c] ?? 0), 0);
    const others = Array.from({ length: 23 }, (_, i) => i + 1);
    expect(cal(merged, others)).toBe(16 * 23);
    expect(cal(v8, others)).toBe(0);
    // RT CPUs 4, 9 and 10 get one per collapse from merged.
    expect(cal(merged, [4, 9, 10])).toBe(16 * 3);
    // The flush's TLB IPIs to A's CPUs 1-3 remain under both.
    for (const r of [merged, v8]) expect([1, 2, 3].reduce((a, c) => a + (r!.run.metrics.ipisByOp.collapse?.TLB[c] ?? 0), 0)).toBe(16 * 3);
  });

  it('merged: exits that leave a hugetlb PMD table exclusive broadcast too; v8-skip: they do not', () => {
    const sum = (r: typeof merged) => r!.run.metrics.ipisByOp.exit_mmap?.CAL.reduce((a, b) => a + b, 0) ?? 0;
    expect(sum(merged)).toBeGreaterThan(0);
    expect(sum(merged) % 23).toBe(0);
    expect(sum(v8)).toBe(0);
  });
});
