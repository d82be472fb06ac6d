/**
 * The estimate before the run (src/api/estimate.ts): smaller runs with fewer identical CPUs, and
 * the extrapolation from the last two. Exact where the walkers multiply the executions (the Spin
 * scenarios); which runs are made depends on execution counts only.
 */
import { describe, expect, it } from 'vitest';
import { checkScenario, estimateScenario, type EstimateRun } from '../../src/api/index.js';

const SPIN_A = 'scenarios/check/spin/a+n2+w1.yaml';
const MADVISE = 'scenarios/check/leaf-tlb/madvise-vs-madvise+nested-flush+arm64.yaml';
const NO_PAIR = 'scenarios/check/munmap-vs-gup-fast/sync-rcu+x86-kvm+batch-fails.yaml';

describe('estimateScenario', () => {
  it('extrapolates from the runs with 0 and 1 of the walkers: exact where they multiply the executions', () => {
    for (const reduction of ['source-dpor', 'dpor'] as const) {
      const e = estimateScenario(SPIN_A, { reduction });
      expect(e.identical).toEqual([1, 2]);
      expect(e.runs.map((r) => [r.kept, r.executions, r.exhaustive])).toEqual([[0, 1, true], [1, 30, true]]);
      expect(e.growth).toBe(30);
      expect(e.executions).toBe(checkScenario(SPIN_A, { reduction, stopWhenAllViolated: false }).result.stats.executions);
      expect(e.why).toBeNull();
    }
  });

  it('makes no run its cap predicts too large, and says so when the runs pass it', () => {
    const runs: EstimateRun[] = [];
    // Three walkers: 0 and 1 are run; 2 would be 30 x 30 = 900 executions, past 500.
    const three = { name: 'spin-a-n3', machine: { arch: 'arm64', cpus: 4 }, config: { preset: 'broadcast-ipi', batch_alloc: 'fails' }, mm: { A: { vmas: [{ name: 'heap', start: 0, end: 1 }, { name: 'stack', start: 1, end: 2 }] } }, cpus: [{ mm: 'A', run: [{ munmap: 'heap' }, { mmap: 'heap' }, { fault: { slot: 0 } }, { munmap: 'heap' }] }, { mm: 'A', run: [{ gup_fast: { slot: 0 } }], count: 3 }] };
    const e = estimateScenario(three, { cap: 500, onRun: (r) => runs.push(r) });
    expect(runs.map((r) => r.kept)).toEqual([0, 1]);
    expect(e.runs).toEqual(runs);
    expect(e.executions).toBe(27_000);
    const capped = estimateScenario(three, { cap: 20 });
    expect(capped.runs.map((r) => [r.kept, r.executions, r.exhaustive])).toEqual([[0, 1, true], [1, 20, false]]);
    expect(capped.executions).toBeNull();
    expect(capped.why).toBe('the smaller runs pass 20 executions before two of them finish');
  });

  it('says so when the estimate is past what a double holds', () => {
    const many = { name: 'spin-a-n214', machine: { arch: 'arm64', cpus: 215 }, config: { preset: 'broadcast-ipi', batch_alloc: 'fails' }, mm: { A: { vmas: [{ name: 'heap', start: 0, end: 1 }, { name: 'stack', start: 1, end: 2 }] } }, cpus: [{ mm: 'A', run: [{ munmap: 'heap' }, { mmap: 'heap' }, { fault: { slot: 0 } }, { munmap: 'heap' }] }, { mm: 'A', run: [{ gup_fast: { slot: 0 } }], count: 214 }] };
    const e = estimateScenario(many, { cap: 1000, maxCpus: 300 });
    expect(e.runs.map((r) => r.executions)).toEqual([1, 30, 900]);
    expect([e.growth, e.executions]).toEqual([30, null]);
    expect(e.why).toBe('the estimate is past the largest number JavaScript holds (about 1.8e308 executions): growth 30.0x over 212 more CPUs');
  });

  it('says why there is no estimate: no identical CPUs, or only one smaller run possible', () => {
    const none = estimateScenario(NO_PAIR);
    expect([none.identical, none.runs, none.executions]).toEqual([[], [], null]);
    expect(none.why).toMatch(/^no two CPUs are identical/);
    const one = estimateScenario(MADVISE);
    expect(one.identical).toEqual([0, 1]);
    expect(one.runs.map((r) => r.kept)).toEqual([1]);
    expect(one.why).toMatch(/^only one smaller run can be made \(CPUs 0-1 are the whole machine/);
  });
});
