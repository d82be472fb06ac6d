/** A scenario's sim: profile and costs are checked against the profiles, with the line of the bad value (found by the scenario fuzzer). */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { simConfigOf } from '../../src/simulation/run.js';
import { rejectionOf } from '../scenarios/helpers.js';

const scenario = (sim: string) => `name: s
machine: { arch: x86, cpus: 2 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }
sim:
${sim}
`;
const load = (sim: string) => scenarioFromText(scenario(sim), 's.yaml', { purpose: 'sim' });

describe("a scenario's sim section", () => {
  it('rejects an unknown profile, or one for another arch, at its line', () => {
    const e = rejectionOf(() => simConfigOf(load('  profile: x86-2')));
    expect(e.issues).toEqual([{ file: 's.yaml', pos: { line: 9, col: 12 }, path: 'sim.profile', message: "unknown machine profile 'x86-2' (did you mean 'x86-2s'?); expected one of x86-2s, arm64, kvm-guest" }]);
    expect(rejectionOf(() => simConfigOf(load('  profile: arm64'))).message).toBe("s.yaml:9:12: error: sim.profile: profile arm64 is for arm64, the scenario's arch is x86");
  });

  it('rejects cost keys the profile does not have, Object.prototype names included, at their keys', () => {
    const e = rejectionOf(() => simConfigOf(load('  costs: { toString: 5, ipi.delivery: 900, hasOwnProperty: 1 }')));
    expect(e.issues.map((i) => [i.pos?.col, i.message])).toEqual([
      [12, "profile x86-2s has no parameter 'toString'; see ptlab list costs"],
      [44, "profile x86-2s has no parameter 'hasOwnProperty'; see ptlab list costs"],
    ]);
  });

  it('accepts a known profile and its parameters', () => {
    expect(simConfigOf(load('  profile: x86-2s\n  costs: { ipi.delivery: 900 }')).params).toEqual({ 'ipi.delivery': 900 });
  });
});
