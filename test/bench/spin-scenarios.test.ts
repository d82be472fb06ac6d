/**
 * The scenarios bench/spin.ts runs side by side with Spin (bench/spin-scenarios.ts): for every
 * row of the Promela anchor and N = 1..2 walkers (W = 1, and W = 2 with one walker), the
 * generated scenario loads and gives Spin's verdict. Also: the instances in
 * scenarios/check/spin/ are the generator's output (rerun bench/spin-catalog.ts when it changes).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SPIN_ROWS, spinCatalogFile, spinScenarioName, spinScenarioYaml, type SpinRow } from '../../bench/spin-scenarios.js';
import { check, type CheckResult } from '../../src/engines/check/index.js';
import { scenarioFromText } from '../../src/scenarios/resolve.js';

/** Spin's word for a result: a violation of either invariant (its one assertion), or safe. */
function verdict(r: CheckResult): 'safe' | 'violation' | 'unknown' {
  if (r.verdicts.some((v) => v.status === 'violated')) return 'violation';
  if (r.deadlock) return 'unknown';
  return r.exhaustive && r.verdicts.every((v) => v.status === 'holds') ? 'safe' : 'unknown';
}

const cases: Array<[string, SpinRow, number, number]> = [];
for (const row of SPIN_ROWS) for (const [n, w] of [[1, 1], [2, 1], [1, 2]] as const) cases.push([`${row.id} N=${n} W=${w}`, row, n, w]);

describe('bench/spin-scenarios: the equivalents of ptfree.pml', () => {
  it.each(cases)('%s gives Spin\'s verdict', (_label, row, n, w) => {
    const s = scenarioFromText(spinScenarioYaml(row, n, w), `${row.id}.yaml`);
    expect(s.resolved.name).toBe(spinScenarioName(row, n, w));
    // The updater and N walker CPUs, W GUP-fast walks each, two tables freed by two munmaps.
    expect(s.resolved.cpu).toHaveLength(n + 1);
    expect(s.resolved.cpu[0]!.run).toEqual(['munmap(heap)', 'mmap(heap)', 'page fault (slot 0, page 0)', 'munmap(heap)']);
    for (const c of s.resolved.cpu.slice(1)) {
      expect(c.run).toHaveLength(w);
      expect(c.vcpu_preemptible).toBe(row.flush === 'F_PV');
    }
    // d-pv with two walkers is millions of executions exhaustively (about 3 min to the first
    // counterexample of both invariants): a violation found at random is as final.
    const big = row.id === 'd-pv' && n > 1;
    const r = check(s.program, big ? { mode: { kind: 'random', executions: 3000, seed: 1 } } : { stopWhenAllViolated: true });
    expect(verdict(r)).toBe(row.expected);
    expect(r.deadlock).toBeNull();
  });

  it('scenarios/check/spin holds exactly the generated instances, one per row', () => {
    const files = readdirSync('scenarios/check/spin').sort();
    expect(files).toEqual(SPIN_ROWS.map((r) => spinCatalogFile(r)).sort());
    for (const row of SPIN_ROWS) {
      const m = /\+n(\d+)\+w(\d+)\.yaml$/.exec(spinCatalogFile(row))!;
      expect(readFileSync(`scenarios/check/spin/${spinCatalogFile(row)}`, 'utf8')).toBe(spinScenarioYaml(row, Number(m[1]), Number(m[2])));
    }
  });

  it('rejects N or W below 1', () => {
    expect(() => spinScenarioYaml(SPIN_ROWS[0]!, 0, 1)).toThrow(/N must be/);
    expect(() => spinScenarioYaml(SPIN_ROWS[0]!, 1, 0)).toThrow(/W must be/);
  });
});

describe('bench/spin-scenarios --invariants freed', () => {
  it.each(SPIN_ROWS.map((r) => [r.id, r] as const))('%s: one invariant, the same verdict', (_id, row) => {
    const s = scenarioFromText(spinScenarioYaml(row, 2, 1, { invariants: 'freed' }), `${row.id}.yaml`);
    expect(s.resolved.invariants).toEqual(['no-walk-of-freed-table']);
    const r = check(s.program, { stopWhenAllViolated: true });
    expect(verdict(r)).toBe(row.expected);
  });
});
