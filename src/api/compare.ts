/** A check's verdicts against the scenario's expected ones (no node: modules: the browser bundle uses it too). */
import type { CheckResult, VerdictStatus } from '../engines/check/index.js';
import type { Expectation, Verdict } from '../scenarios/resolve.js';

export interface Comparison {
  /** `match`: the verdict does not contradict the expectation (an unproven "no violation found" does not contradict "holds"). */
  readonly rows: ReadonlyArray<{ readonly id: string; readonly expected: Verdict | null; readonly got: VerdictStatus; readonly match: boolean }>;
  readonly deadlock: { readonly expected: boolean | null; readonly got: boolean; readonly match: boolean };
  /** Every stated expectation met, and no violation nobody expected. */
  readonly ok: boolean;
}

export function compare(expect: Expectation, result: CheckResult): Comparison {
  const rows = result.verdicts.map((v) => {
    const expected = expect.invariants[v.id] ?? null;
    // An unstated expectation counts as "holds": a violation nobody expected is a failure.
    const match = (expected ?? 'holds') === 'violated' ? v.status === 'violated' : v.status !== 'violated';
    return { id: v.id, expected, got: v.status, match };
  });
  const gotDeadlock = result.deadlock !== null;
  const deadlock = { expected: expect.deadlock, got: gotDeadlock, match: expect.deadlock === null ? !gotDeadlock : expect.deadlock === gotDeadlock };
  return { rows, deadlock, ok: rows.every((r) => r.match) && deadlock.match };
}
