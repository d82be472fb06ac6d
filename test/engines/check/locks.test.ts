/**
 * The checker on programs where locks decide: every order in which threads take a lock is its own
 * Mazurkiewicz trace, and DPOR must reverse those orders. Counts and their sources are in
 * test/toys/lock-models.ts (and LOCK-COUNTS.md).
 */
import { describe, expect, it } from 'vitest';
import type { Program } from '../../../src/core/index.js';
import {
  deadlockOne,
  filesystem,
  lazy01,
  lockedIncrements,
  lockedReaders,
  lockers,
  lockInplace,
  lockInplace2,
  lockInplace3,
  lockrevInPlace,
  mutexDeadlock,
  mutexHard,
  readWriteLock,
  sbLocks,
  stateful01,
  trylockers,
  twoLockIncrements,
} from '../../toys/lock-models.js';
import { explore, factorial } from './explore.js';

/** One program of a family and what an exhaustive exploration of it must find. */
interface Case {
  readonly name: string;
  readonly program: () => Program;
  /** Distinct traces, one complete execution each. */
  readonly traces: number;
  /** Of those, the traces that end deadlocked (default 0). */
  readonly deadlocked?: number;
  /** Distinct final states, where the source says how many. */
  readonly finals?: number;
  /** Small enough to compare with exploration without reduction. */
  readonly naive?: boolean;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** deadlockOne(N, k): sum over j < N of (N-1)!/j!. */
const deadlockOneTraces = (n: number): number => sum(upTo(n).map((j) => factorial(n - 1) / factorial(j)));
/** trylockers(N): sum over k = 1..N of N!/(N-k)! times k(k+1)...(N-1) (failed attempts ordered) or k^(N-k) (commuting). */
const trylockTraces = (n: number, failure: 'rmw' | 'read'): number =>
  sum(upTo(n).map((i) => i + 1).map((k) => (factorial(n) / factorial(n - k)) * (failure === 'rmw' ? factorial(n - 1) / factorial(k - 1) : k ** (n - k))));

const cases: Case[] = [
  ...[1, 2, 3, 4, 5, 6].map((n): Case => ({ name: `lockers(${n})`, program: () => lockers(n), traces: factorial(n), finals: n, naive: n <= 5 })),
  ...[2, 3, 4, 5, 6, 7].map((n): Case => ({ name: `lockedIncrements(${n})`, program: () => lockedIncrements(n), traces: factorial(n), finals: 1, naive: n <= 5 })),
  ...[2, 3, 4, 6].map((n): Case => ({ name: `lockedReaders(${n})`, program: () => lockedReaders(n), traces: factorial(n), finals: 1, naive: n <= 4 })),
  ...[2, 3, 4].map((n): Case => ({ name: `twoLockIncrements(${n})`, program: () => twoLockIncrements(n), traces: factorial(n) ** 2, finals: 1, naive: n <= 3 })),
  { name: 'lazy01', program: lazy01, traces: 6, naive: true },
  { name: 'stateful01', program: stateful01, traces: 6, finals: 1, naive: true },
  { name: 'sbLocks', program: sbLocks, traces: 4, finals: 3, naive: true },
  ...[1, 2, 3, 4].map((n): Case => ({ name: `mutexDeadlock(${n})`, program: () => mutexDeadlock(n), traces: n, deadlocked: n >= 2 ? n : 0, naive: true })),
  ...[1, 2, 3, 4, 5].flatMap((n): Case[] => [...new Set([n - 1, 0])].map((k) => ({
    name: `deadlockOne(${n}, ${k})`,
    program: () => deadlockOne(n, k),
    traces: deadlockOneTraces(n),
    deadlocked: deadlockOneTraces(n),
    naive: true,
  }))),
  ...[1, 2, 3, 4, 5].map((n): Case => ({ name: `mutexHard(${n})`, program: () => mutexHard(n), traces: 1 + (n * (n - 1)) / 2, deadlocked: (n * (n - 1)) / 2, naive: true })),
  ...[12, 13, 14, 16, 19].map((n): Case => ({ name: `filesystem(${n})`, program: () => filesystem(n), traces: n < 13 ? 1 : 2 ** (n - 13) })),
  { name: 'filesystem(14), threads 0 and 13', program: () => filesystem(14, [0, 13]), traces: 2, finals: 2, naive: true },
  { name: 'lockInplace', program: lockInplace, traces: 4, deadlocked: 2, naive: true },
  { name: 'lockInplace2', program: lockInplace2, traces: 3, finals: 1, naive: true },
  { name: 'lockInplace3', program: lockInplace3, traces: 4, deadlocked: 4, naive: true },
  { name: 'lockrevInPlace', program: lockrevInPlace, traces: 8, naive: true },
  { name: 'readWriteLock(2, 2)', program: () => readWriteLock(2, 2), traces: 298, deadlocked: 178 },
  { name: 'readWriteLock(1, 1)', program: () => readWriteLock(1, 1), traces: 4, deadlocked: 2, naive: true },
  { name: 'readWriteLock(2, 1)', program: () => readWriteLock(2, 1), traces: 18, deadlocked: 12, naive: true },
  { name: 'readWriteLock(0, 2)', program: () => readWriteLock(0, 2), traces: 18, naive: true },
  ...[1, 2, 3, 4, 5].map((n): Case => ({ name: `trylockers(${n})`, program: () => trylockers(n), traces: trylockTraces(n, 'rmw'), finals: n, naive: n <= 4 })),
  ...[2, 3, 4].map((n): Case => ({ name: `trylockers(${n}, no unlock)`, program: () => trylockers(n, { unlock: false }), traces: factorial(n), naive: true })),
  ...([[1, 3], [2, 16], [3, 120]] as const).map(([n, t]): Case => ({ name: `trylockers(${n}, locker)`, program: () => trylockers(n, { locker: true }), traces: t, naive: true })),
  ...[1, 2, 3, 4, 5].map((n): Case => ({ name: `trylockers(${n}, failure read)`, program: () => trylockers(n, { failure: 'read' }), traces: trylockTraces(n, 'read'), finals: n, naive: n <= 4 })),
  ...[2, 3, 4].map((n): Case => ({ name: `trylockers(${n}, no unlock, failure read)`, program: () => trylockers(n, { unlock: false, failure: 'read' }), traces: n, finals: n, naive: true })),
];
const small = cases.filter((c) => c.naive);
const table = (cs: readonly Case[]) => cs.map((c) => [c.name, c] as const);

/** Exploration without reduction, once per program for both reductions. */
const naiveRuns = new Map<string, ReturnType<typeof explore>>();
function naive(c: Case): ReturnType<typeof explore> {
  let r = naiveRuns.get(c.name);
  if (!r) naiveRuns.set(c.name, (r = explore(c.program(), 'none')));
  return r;
}

/** What a test compares: complete executions, distinct traces, and the deadlocked ones among each. */
function counts(r: ReturnType<typeof explore>) {
  return { complete: r.stats.complete, traces: r.keys.size, deadlocks: r.stats.deadlocks, deadlockedTraces: r.keys.size - r.finished.size };
}

describe('exploration without reduction on lock-based toy models (the derived counts)', () => {
  it.each(table(small))('%s', (_name, c) => {
    const r = naive(c);
    expect(r.exhaustive).toBe(true);
    expect(r.keys.size).toBe(c.traces);
    expect(r.keys.size - r.finished.size).toBe(c.deadlocked ?? 0);
    if (c.finals !== undefined) expect(r.finals.size).toBe(c.finals);
  });
});

describe.each(['dpor', 'source-dpor'] as const)('%s on lock-based toy models with known trace counts', (reduction) => {
  it.each(table(cases))('%s', (_name, c) => {
    const r = explore(c.program(), reduction);
    expect(r.exhaustive).toBe(true);
    const deadlocked = c.deadlocked ?? 0;
    expect(counts(r)).toEqual({ complete: c.traces, traces: c.traces, deadlocks: deadlocked, deadlockedTraces: deadlocked });
    if (c.finals !== undefined) expect(r.finals.size).toBe(c.finals);
  });

  it.each(table(small))('%s: the traces and final states of exploration without reduction', (_name, c) => {
    const r = explore(c.program(), reduction);
    const all = naive(c);
    expect([...r.keys].sort()).toEqual([...all.keys].sort());
    expect([...r.finals].sort()).toEqual([...all.finals].sort());
  });

  it.each([2, 3, 4, 5])('lockers(%i): the last thread to take the lock can be any of them', (n) => {
    const r = explore(lockers(n), reduction);
    const lastX = new Set([...r.finals].map((f) => new Map(JSON.parse(f) as Array<[string, unknown]>).get('x')));
    expect(lastX).toEqual(new Set(upTo(n)));
  });
});

describe('optimal DPOR on lock-based toy models', () => {
  it.each(table(cases))('%s: one execution per trace, none sleep-set blocked', (_name, c) => {
    const r = explore(c.program(), 'dpor');
    expect(r.stats.sleepBlocked).toBe(0);
    expect(r.stats.executions).toBe(c.traces);
  });
});
