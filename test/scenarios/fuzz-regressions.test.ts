/** Inputs the scenario fuzzer (scenario-fuzz.ts) found escaping as uncaught exceptions: now errors with a position. */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { rejectionOf } from './helpers.js';

const KTHREAD = (mm: string, mms: string) => `name: kthread
machine: { arch: x86, cpus: 2 }
config: { preset: sync-rcu, batch_alloc: succeeds }
mm: ${mms}
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { run: [ { kthread_use_mm: ${mm} }, { gup_fast: { slot: 0 } }, kthread_unuse_mm ] }
`;
const A = '{ A: { vmas: [ { name: heap, start: 0, end: 1 } ] } }';

describe('scenario fuzzer regressions', () => {
  it("kthread_use_mm of an mm the scenario does not have (seed 7: 'kthread_use_mm: holds')", () => {
    const e = rejectionOf(() => scenarioFromText(KTHREAD('holds', A), 'k.yaml'));
    expect(e.issues).toEqual([{ file: 'k.yaml', pos: { line: 7, col: 14 }, path: 'cpus[1].run[0]', message: "kthread_use_mm: 'holds' is not an mm of the scenario (has: A)" }]);
  });

  it('kthread_use_mm with no mm defined at all (seeds 6 and 8: mm: {} and the mm section deleted)', () => {
    const e = rejectionOf(() => scenarioFromText(KTHREAD('A', '{}'), 'k.yaml'));
    expect(e.message).toBe([
      "k.yaml:6:11: error: cpus[0].mm: unknown mm 'A'; the scenario defines: none",
      "k.yaml:7:14: error: cpus[1].run[0]: kthread_use_mm: 'A' is not an mm of the scenario (has: none)",
    ].join('\n'));
  });
});
