/**
 * One exploration split into subtrees (src/engines/check/subtree.ts) gives exactly what the
 * exploration on its own gives: the same counts, verdicts, counterexamples (schedules included),
 * the same stop and the same explored share, on random programs of every profile, with random
 * stop conditions, and with subtrees handed out, nested, dropped and taken back at random
 * (test/toys/deferred-delegation.ts). The replay counters are the exception the module documents.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Program } from '../../../src/core/index.js';
import { Explorer, type ExploreOptions, type ExploreResult } from '../../../src/engines/check/dpor.js';
import { incrementers } from '../../toys/models.js';
import { DeferredDelegation } from '../../toys/deferred-delegation.js';
import type { Delegation } from '../../../src/engines/check/subtree.js';
import { arbProgram, PROFILES, toProgram, type ProfileName } from '../../toys/random-programs.js';

/** Everything a run reports, but the replay counters. */
function observable(r: ExploreResult): unknown {
  const { replayed: _r, rerun: _rr, ...stats } = r.stats;
  const cx = (c: { schedule: unknown; trace: readonly unknown[]; violation: unknown; blocked: unknown } | null) =>
    c === null ? null : { schedule: c.schedule, steps: c.trace.length, violation: c.violation, blocked: c.blocked };
  return {
    stats,
    exhaustive: r.exhaustive,
    stopped: r.stopped,
    explored: r.explored,
    violations: [...r.violations].sort(([a], [b]) => a.localeCompare(b)).map(([id, c]) => [id, cx(c)]),
    deadlock: cx(r.deadlock),
  };
}

type Stops = Pick<ExploreOptions, 'stopWhenAllViolated' | 'stopAtFirst' | 'maxExecutions'>;

/** The run alone and the run handing subtrees out agree; how many hand-outs were taken back. */
function agree(program: Program, stops: Stops, seed: number, want: number): DeferredDelegation {
  const alone = new Explorer(program, { reduction: 'source-dpor', ...stops }).run();
  const delegation = new DeferredDelegation(program, seed, want);
  const split = new Explorer(program, { reduction: 'source-dpor', ...stops, delegation }).run();
  expect(observable(split)).toEqual(observable(alone));
  expect(delegation.open).toBe(0);
  return delegation;
}

const arbStops: fc.Arbitrary<Stops> = fc.oneof(
  fc.constant({}),
  fc.constant({ stopWhenAllViolated: true }),
  fc.constant({ stopAtFirst: true }),
  fc.integer({ min: 1, max: 60 }).map((n) => ({ maxExecutions: n })),
);

describe('one exploration in subtrees: the same results as the exploration alone', () => {
  it('on a toy with a known answer (3 incrementers, 36 traces), whatever is handed out', () => {
    let taken = 0;
    for (let seed = 1; seed <= 30; seed++) taken += agree(incrementers(3), {}, seed, 0.7).counts.waited;
    expect(taken).toBeGreaterThan(30);
  });

  it('a run asked to stop while a subtree is out ends interrupted, not exhaustive, and drops the subtree', () => {
    const program = incrementers(3);
    const log: string[] = [];
    // Takes every subtree and never finishes one.
    const stuck: Delegation = {
      minSubtree: 0,
      wanted: () => true,
      submit: () => {
        log.push('submit');
        return log.length;
      },
      wait: () => null,
      cancel: () => void log.push('cancel'),
    };
    const steps = new Explorer(program, { reduction: 'source-dpor', delegation: stuck }).explore();
    // The run cannot end while a subtree is out: after enough turns it is waiting for one.
    let r = steps.next();
    for (let i = 0; i < 1000; i++) {
      expect(r.done).toBe(false);
      r = steps.next();
    }
    expect(log[0]).toBe('submit');
    while (r.done !== true) r = steps.next(true);
    expect(r.value.stopped).toBe('interrupted');
    expect(r.value.exhaustive).toBe(false);
    expect(log).toContain('cancel');
  });

  const profiles = Object.keys(PROFILES) as ProfileName[];
  it.each(profiles)('on random programs (%s), with random stops', (profile) => {
    let waited = 0;
    let cancelled = 0;
    fc.assert(
      fc.property(arbProgram(PROFILES[profile]), arbStops, fc.integer({ min: 1, max: 1e9 }), fc.double({ min: 0.2, max: 1, noNaN: true }), (spec, stops, seed, want) => {
        const program = toProgram(spec);
        const d = agree(program, stops, seed, want);
        waited += d.counts.waited;
        cancelled += d.counts.cancelled;
      }),
      { seed: Number(process.env.SPLIT_SEED ?? 20261205), numRuns: Number(process.env.SPLIT_RUNS ?? 3000) },
    );
    // The hand-off is exercised, both ways.
    expect(waited).toBeGreaterThan(50);
    expect(cancelled).toBeGreaterThan(0);
  });
});
