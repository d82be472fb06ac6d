/**
 * Stopping at the answer (ptlab check's default; --shortest turns it off): once every property has
 * a counterexample the exploration stops, says so, and never claims more than it saw. The
 * differential test (test/toys/differential.ts) checks the same on generated programs.
 */
import { describe, expect, it } from 'vitest';
import type { Program, Property } from '../../../src/core/index.js';
import { check } from '../../../src/engines/check/index.js';
import { deadlock, incrementers } from '../../toys/models.js';

/** A property of the final state: x ended at `bad`. */
function finalNot(bad: number): Property {
  return {
    id: `x-not-${bad}`,
    title: `x is not ${bad} at the end`,
    description: 'toy',
    monitor: () => ({
      onEvent: () => null,
      onEnd: (read) => (read('x') === bad ? { message: `x = ${bad}`, details: {} } : null),
    }),
  };
}

const withProps = (p: Program, props: Property[]): Program => ({ ...p, properties: props });

describe('stop at the answer', () => {
  // 3 incrementers: 36 traces; x ends at 1, 2 or 3 (a lost update leaves less than 3).
  const lost = withProps(incrementers(3), [finalNot(1), finalNot(2)]);

  it.each(['dpor', 'source-dpor', 'none'] as const)('%s: stops once every property is violated, with the same verdicts as the full run', (reduction) => {
    const full = check(lost, { reduction });
    const early = check(lost, { reduction, stopWhenAllViolated: true });
    expect(full.exhaustive).toBe(true);
    expect(full.stopped).toBeNull();
    expect(early.exhaustive).toBe(false);
    expect(early.stopped).toBe('all-violated');
    expect(early.verdicts.map((v) => v.status)).toEqual(['violated', 'violated']);
    expect(full.verdicts.map((v) => v.status)).toEqual(['violated', 'violated']);
    expect(early.stats.executions).toBeLessThan(full.stats.executions);
    // A counterexample found early is a real one, and never shorter than the shortest.
    for (const [i, v] of early.verdicts.entries()) {
      expect(v.counterexample!.trace.length).toBeGreaterThanOrEqual(full.verdicts[i]!.counterexample!.trace.length);
    }
  });

  it('explores everything while some property holds: then "holds" is proven as before', () => {
    const some = withProps(incrementers(3), [finalNot(1), finalNot(7)]);
    const r = check(some, { stopWhenAllViolated: true });
    expect(r.exhaustive).toBe(true);
    expect(r.stopped).toBeNull();
    expect(r.verdicts.map((v) => v.status)).toEqual(['violated', 'holds']);
    expect(r.stats.executions).toBe(check(some).stats.executions);
  });

  it('is still exhaustive when the last execution gave the last counterexample', () => {
    // incrementers(1): one execution, x = 1.
    const r = check(withProps(incrementers(1), [finalNot(1)]), { stopWhenAllViolated: true });
    expect(r.stats.executions).toBe(1);
    expect(r.exhaustive).toBe(true);
    expect(r.stopped).toBeNull();
  });

  it('waits for a deadlock too when asked (the scenario expects one)', () => {
    // The deadlock toy with a property violated on its first execution: without waiting for the
    // deadlock the run could stop before finding it.
    const p = withProps(deadlock(), []);
    const r = check(p, { stopWhenAllViolated: true, stopNeedsDeadlock: true });
    expect(r.deadlock).not.toBeNull();
    const q = withProps(incrementers(2), [finalNot(2)]);
    const noDeadlock = check(q, { stopWhenAllViolated: true, stopNeedsDeadlock: true });
    // It never finds one, so it explores everything.
    expect(noDeadlock.exhaustive).toBe(true);
    expect(noDeadlock.deadlock).toBeNull();
  });
});

describe('the estimate of the share explored', () => {
  it('is exact on a uniform tree whose branches are all known: 3 independent writers without reduction, 3! leaves', async () => {
    const { independentWriters } = await import('../../toys/models.js');
    const shares: number[] = [];
    const r = check(independentWriters(3), { reduction: 'none', onProgress: (_, explored) => shares.push(explored!()) });
    expect(r.stats.executions).toBe(6);
    shares.forEach((s, i) => expect(s).toBeCloseTo((i + 1) / 6, 12));
    expect(r.explored).toBe(1);
  });

  it('is 1 when an exploration finishes, and below 1 when it stopped at the answer', () => {
    const lost = withProps(incrementers(3), [finalNot(1), finalNot(2)]);
    for (const reduction of ['dpor', 'source-dpor', 'none'] as const) {
      expect(check(lost, { reduction }).explored).toBe(1);
      let last = NaN;
      const early = check(lost, { reduction, stopWhenAllViolated: true, onProgress: (_, explored) => (last = explored!()) });
      expect(early.explored).toBeGreaterThan(0);
      expect(early.explored).toBeLessThan(1);
      // The share of the stop is the one the progress line showed last (taken before backtracking).
      expect(early.explored).toBe(last);
    }
  });
});
