/**
 * CPU groups (`- { count: N, ... }`): a group stands for N identical CPU lines, expanded in order;
 * its problems are reported at its line; the CPU limits apply to the expanded machine.
 */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { simScenario } from '../../src/api/index.js';
import { parse } from 'yaml';
import type { ScenarioInput } from '../../src/scenarios/schema.js';
import { rejectionOf, textAt } from './helpers.js';

const HEAD = `name: g
machine: { arch: x86 }
config: { preset: sync-rcu }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
`;

const GROUPS = `${HEAD}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { count: 3, cstate: C6 }
  - { count: 2, mm: A, mode: user, run: [ user ], isolated: true }
`;

const WRITTEN_OUT = `${HEAD}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { cstate: C6 }
  - { cstate: C6 }
  - { cstate: C6 }
  - { mm: A, mode: user, run: [ user ], isolated: true }
  - { mm: A, mode: user, run: [ user ], isolated: true }
`;

describe('CPU groups', () => {
  it('expand in order into the machine written out line by line', () => {
    const g = scenarioFromText(GROUPS, 'g.yaml', { purpose: 'sim' });
    const w = scenarioFromText(WRITTEN_OUT, 'g.yaml', { purpose: 'sim' });
    expect(g.resolved.cpus).toBe(6);
    expect(g.resolved.cpu.map((c) => [c.cpu, c.cstate, c.isolated, c.mm])).toEqual([
      [0, null, false, 'A'],
      [1, 'C6', false, null],
      [2, 'C6', false, null],
      [3, 'C6', false, null],
      [4, null, true, 'A'],
      [5, null, true, 'A'],
    ]);
    expect(g.resolved).toEqual(w.resolved);
    expect(g.program.threads.length).toBe(w.program.threads.length);
  });

  it('simulate exactly as the written-out machine (same metrics, same seed)', () => {
    const cli = { duration: 2_000_000, seed: 7 };
    const a = simScenario(parse(GROUPS) as ScenarioInput, {}, cli);
    const b = simScenario(parse(WRITTEN_OUT) as ScenarioInput, {}, cli);
    expect(a.run.result.steps).toBeGreaterThan(0);
    expect(a.run.result.time).toBe(b.run.result.time);
    expect(JSON.stringify(a.run.metrics)).toBe(JSON.stringify(b.run.metrics));
  });

  it('report a problem of a group once, at the group line', () => {
    const text = `${HEAD}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { count: 4, mm: B, run: [ user ] }
`;
    const e = rejectionOf(() => scenarioFromText(text, 'g.yaml'));
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.path).toBe('cpus[1].mm');
    expect(textAt(text, e.issues[0]!.pos)).toBe('B, run: [ user ] }');
    expect(e.message).toContain("g.yaml:8:21: error: cpus[1].mm: unknown mm 'B'");
  });

  it('count the expanded CPUs against machine.cpus', () => {
    const text = `${HEAD.replace('{ arch: x86 }', '{ arch: x86, cpus: 5 }')}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { count: 3 }
`;
    const e = rejectionOf(() => scenarioFromText(text, 'g.yaml'));
    expect(e.message).toBe("g.yaml:2:29: error: machine.cpus: machine.cpus is 5 but 4 CPUs are listed under 'cpus' (in 2 entries with their count)");
  });

  it('hold the expanded count to the limits (check 12, sim 4096, --max-cpus), without expanding it', () => {
    const text = (n: number): string => `${HEAD}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { count: ${n} }
`;
    expect(rejectionOf(() => scenarioFromText(text(12), 'g.yaml')).message).toBe(
      'g.yaml:7:3: error: cpus: 13 CPUs is past the limit of 12 for check (the checker explores every interleaving, exponential in the CPUs; use --random N, --estimate to see how big the check would be, or --max-cpus N to raise it)',
    );
    expect(scenarioFromText(text(11), 'g.yaml').resolved.cpus).toBe(12);
    expect(rejectionOf(() => scenarioFromText(text(65536), 'g.yaml', { purpose: 'sim' })).message).toContain('65537 CPUs is past the limit of 4096 for sim');
    expect(scenarioFromText(text(1023), 'g.yaml', { purpose: 'sim' }).resolved.cpus).toBe(1024);
    expect(scenarioFromText(text(20), 'g.yaml', { maxCpus: 21 }).resolved.cpus).toBe(21);
  });

  it('reject a count that is not a positive integer, at its position', () => {
    const text = `${HEAD}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { count: 0 }
`;
    const e = rejectionOf(() => scenarioFromText(text, 'g.yaml'));
    expect(e.issues[0]!.path).toBe('cpus[1].count');
    expect(textAt(text, e.issues[0]!.pos)).toBe('0 }');
  });
});
