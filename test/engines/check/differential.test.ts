/**
 * Differential testing of the checker on random programs (test/toys/random-programs.ts): every
 * reduction must find what exploring every interleaving finds (test/toys/differential.ts), on a
 * few thousand programs from fixed seeds, profile by profile. A failure prints the shrunk
 * program; `npm run fuzz:check` runs many more and minimises further.
 *
 * test/engines/check/differential-regressions.test.ts has the smallest program of each engine bug
 * this found. A profile the engine gets wrong while a fix is under way can be marked `it.fails`,
 * with the bug it waits on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareReductions, type CompareOptions } from '../../toys/differential.js';
import { arbProgram, PROFILES, type ProfileName } from '../../toys/random-programs.js';

const CAP = 500;

/** Run `runs` programs of a profile; every one must agree; few may be skipped over the cap. */
function agreeOn(profile: ProfileName, seed: number, runs: number, opts: CompareOptions & { endOnFailure?: boolean } = {}): void {
  let skipped = 0;
  fc.assert(
    fc.property(arbProgram(PROFILES[profile]), (spec) => {
      const c = compareReductions(spec, { cap: CAP, ...opts });
      if (c.skipped) skipped++;
      expect(c.disagreements.map((d) => d.message)).toEqual([]);
    }),
    { seed, numRuns: runs, endOnFailure: opts.endOnFailure },
  );
  expect(skipped).toBeLessThan(runs * 0.15);
}

describe('differential testing: the oracle', () => {
  it('agrees with itself: executions of one trace (by its key) end in the same state with the same violations', () => {
    agreeOn('every-op', 7, 3000, { reductions: [] });
  });
});

describe('differential testing: every reduction finds what every interleaving finds', () => {
  it('on programs that never block: plain and commuting accesses, choices', () => {
    agreeOn('never-block', 1, 4000);
  });

  // Found: a wakeup sequence named threads by id, and ids follow creation order, so a sequence
  // recorded where two threads spawned in one order was dropped as not executable where they
  // spawn in the other ('dpor' only).
  it('on programs that spawn threads (wakeup trees name threads by stable ids)', () => {
    agreeOn('spawn', 2, 3000, { endOnFailure: true });
  });

  // Found: a cas writes or not by the value it reads, but wakeup trees and sleep sets judged a
  // step by a footprint recorded in another state, or by its declared one ('dpor' missed traces;
  // both reductions ran equivalent executions twice).
  it('on programs with conditional writes (a step not yet run is given the writes it would do)', () => {
    agreeOn('conditional-writes', 1, 3000, { endOnFailure: true });
  });

  // Found: with blocking steps, a race whose reversal needs a step another one disabled was never
  // reversed (locks, rwsems, waits, interrupts, stopped vCPUs, TSO barriers); a store buffer's
  // drain ignored its stopped vCPU.
  it('on programs that block (races past the release that enabled a step)', () => {
    agreeOn('blocking', 1, 3000, { endOnFailure: true });
  });

  it('on programs with every op the model uses', () => {
    agreeOn('every-op', 1, 3000, { endOnFailure: true });
  });
});

describe('differential testing: optimal DPOR is optimal', () => {
  // Every op but choose, blocking of every kind included: one execution per trace (the
  // agreement above) and no sleep-set blocked execution. Choices are where it explores redundant
  // executions (differential-regressions.test.ts, docs/checker.md).
  it('on programs with every op but choose: no execution is sleep-set blocked', () => {
    let blocked = 0;
    fc.assert(
      fc.property(arbProgram(PROFILES['no-choice']), (spec) => {
        const c = compareReductions(spec, { cap: CAP, reductions: ['dpor'] });
        expect(c.disagreements.map((d) => d.message)).toEqual([]);
        blocked += c.stats.dpor?.sleepBlocked ?? 0;
      }),
      { seed: 3, numRuns: 2000 },
    );
    expect(blocked).toBe(0);
  });
});
