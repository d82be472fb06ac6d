/**
 * The verdict catalog: every scenario under scenarios/check is explored exhaustively and its
 * verdicts must match the expectations in its header.
 */
import { describe, expect, it } from 'vitest';
import { checkScenario, findScenarios } from '../../src/api/index.js';
import { check } from '../../src/engines/check/index.js';
import { openScenario } from '../../src/scenarios/resolve.js';

const files = findScenarios('scenarios/check');

describe('verdict catalog', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  it.each(files)('%s', (file) => {
    const run = checkScenario(file);
    expect(run.result.exhaustive).toBe(true);
    const mismatches = run.comparison.rows.filter((r) => !r.match).map((r) => `${r.id}: expected ${r.expected ?? 'holds'}, got ${r.got}`);
    if (!run.comparison.deadlock.match) mismatches.push(`deadlock: expected ${run.comparison.deadlock.expected}, got ${run.comparison.deadlock.got}`);
    expect(mismatches).toEqual([]);
    // Every scenario states at least one expectation.
    expect(Object.keys(run.scenario.expect.invariants).length).toBeGreaterThan(0);
  });
});

describe('optimal and source-set DPOR agree on the catalog', () => {
  // Scenarios with choices (batch allocation, kworker creation, the KVM host), blocking (csd
  // locks, grace periods, rwsems), spawned handlers and x86-TSO store buffers.
  const sample = [
    'munmap-vs-gup-fast/broadcast-ipi+x86+batch-fails.yaml',
    'kvm/skip-redundant-ipi+v8.yaml',
    'kernel-pt/async+system-wq+kworker-may-fail+x86.yaml',
    'hugetlb/batched-non-last+arm64.yaml',
    'khugepaged/x86-flush-skips-lazy+split.yaml',
    'targeted-ipi/targeted-ipi+x86-invlpgb+tso.yaml',
    'context/sync-ipi-from-task.yaml',
    'lazy-tlb/x86-freed-tables-ipis-lazy.yaml',
  ];
  it.each(sample)('%s: same traces and verdicts, fewer executions', (name) => {
    const program = openScenario(`scenarios/check/${name}`).program;
    const optimal = check(program, { reduction: 'dpor' });
    const source = check(program, { reduction: 'source-dpor' });
    expect(optimal.stats.complete).toBe(source.stats.complete);
    expect(optimal.verdicts.map((v) => v.status)).toEqual(source.verdicts.map((v) => v.status));
    expect(optimal.deadlock === null).toBe(source.deadlock === null);
    expect(optimal.stats.executions).toBeLessThanOrEqual(source.stats.executions);
  });
});
