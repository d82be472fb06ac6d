/**
 * The verdict catalog: every scenario under scenarios/check is explored exhaustively and its
 * verdicts must match the expectations in its header.
 */
import { describe, expect, it } from 'vitest';
import { checkScenario, findScenarios } from '../../src/api/index.js';

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
