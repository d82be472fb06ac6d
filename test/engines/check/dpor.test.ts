import { describe, expect, it } from 'vitest';
import { Explorer } from '../../../src/engines/check/dpor.js';
import type { Program } from '../../../src/core/index.js';
import { explore, factorial } from './explore.js';
import { atomicAdders, deadlock, incrementers, independentWriters, indexer, lastzero, readersWriter, waiter } from '../../toys/models.js';

describe.each(['dpor', 'source-dpor'] as const)('%s on toy models with known trace counts', (reduction) => {
  it.each([1, 2, 3, 5])('independent writers (%i): one trace', (n) => {
    const r = explore(independentWriters(n), reduction);
    expect(r.stats.complete).toBe(1);
    expect(r.exhaustive).toBe(true);
  });

  it.each([1, 2, 3, 4, 5])('one writer, %i readers: 2^N traces', (n) => {
    const r = explore(readersWriter(n), reduction);
    expect(r.stats.complete).toBe(2 ** n);
    expect(r.keys.size).toBe(2 ** n);
  });

  it.each([1, 2, 3])('%i incrementers: N!^2 traces, as naive exploration counts', (n) => {
    const dpor = explore(incrementers(n), reduction);
    const naive = explore(incrementers(n), 'none');
    expect(dpor.stats.complete).toBe(naive.keys.size);
    expect(dpor.keys.size).toBe(naive.keys.size);
    expect(dpor.finals).toEqual(naive.finals);
    expect(naive.keys.size).toBe(factorial(n) ** 2);
  });

  it.each([2, 3, 4, 5])('lastzero(%i): (N+3)·2^(N-2) traces', (n) => {
    const r = explore(lastzero(n), reduction);
    expect(r.stats.complete).toBe((n + 3) * 2 ** (n - 2));
    expect(r.keys.size).toBe(r.stats.complete);
  });

  it.each([11, 12, 13])('indexer(%i): 8^(N-11) traces', (n) => {
    const r = explore(indexer(n), reduction);
    expect(r.stats.complete).toBe(8 ** (n - 11));
    expect(r.keys.size).toBe(r.stats.complete);
  });

  it('lastzero(3): DPOR and naive exploration reach the same traces and final states', () => {
    const dpor = explore(lastzero(3), reduction);
    const naive = explore(lastzero(3), 'none');
    expect(dpor.keys).toEqual(naive.keys);
    expect(dpor.finals).toEqual(naive.finals);
    expect(naive.stats.executions).toBeGreaterThan(dpor.stats.executions);
  });

  it('explores blocking steps without false deadlocks', () => {
    const dpor = explore(waiter(), reduction);
    const naive = explore(waiter(), 'none');
    expect(dpor.deadlock).toBeNull();
    expect(naive.deadlock).toBeNull();
    expect(dpor.keys).toEqual(naive.keys);
    // peek reads x before or after set: two traces.
    expect(dpor.keys.size).toBe(2);
  });

  it('reports a deadlock with the blocked threads', () => {
    const r = explore(deadlock(), reduction);
    expect(r.deadlock).not.toBeNull();
    expect(r.deadlock?.blocked).toEqual([0, 1]);
    expect(r.stats.deadlocks).toBe(r.stats.complete);
  });
});

describe.each(['dpor', 'source-dpor'] as const)('%s with commuting accesses (AccessOp.commutes)', (reduction) => {
  it.each([2, 3, 4])('%i atomic adders: one trace, the final state naive exploration finds in N! orders', (n) => {
    const dpor = explore(atomicAdders(n), reduction);
    const naive = explore(atomicAdders(n), 'none');
    expect(dpor.stats.complete).toBe(1);
    expect(naive.stats.complete).toBe(factorial(n));
    expect([...dpor.finals]).toEqual([...naive.finals]);
  });

  it.each([1, 2, 3, 4])('%i atomic adders and a reader: 2^N traces, every value the reader can see', (n) => {
    const dpor = explore(atomicAdders(n, { reader: true }), reduction);
    const naive = explore(atomicAdders(n, { reader: true }), 'none');
    expect(dpor.stats.complete).toBe(2 ** n);
    expect([...dpor.finals].sort()).toEqual([...naive.finals].sort());
    expect(dpor.finals.size).toBe(n + 1);
  });

  it.each([1, 2, 3])('%i atomic adders, a reader and a plain writer: every final state naive exploration finds', (n) => {
    const dpor = explore(atomicAdders(n, { reader: true, writer: true }), reduction);
    const naive = explore(atomicAdders(n, { reader: true, writer: true }), 'none');
    expect([...dpor.finals].sort()).toEqual([...naive.finals].sort());
    expect(dpor.stats.complete).toBeLessThan(naive.stats.complete);
  });
});

describe('optimal DPOR (wakeup trees) against source-set DPOR', () => {
  it.each([4, 5, 6])('lastzero(%i): every execution is a new trace; source sets explore sleep-blocked ones', (n) => {
    const optimal = explore(lastzero(n), 'dpor');
    const source = explore(lastzero(n), 'source-dpor');
    expect(optimal.stats.executions).toBe(optimal.stats.complete);
    expect(optimal.stats.sleepBlocked).toBe(0);
    expect(source.stats.sleepBlocked).toBeGreaterThan(0);
    expect(optimal.keys).toEqual(source.keys);
    expect(optimal.finals).toEqual(source.finals);
  });

  it.each([
    ['incrementers(3)', incrementers(3)],
    ['indexer(13)', indexer(13)],
    ['readers(4)', readersWriter(4)],
    ['adders+reader+writer(3)', atomicAdders(3, { reader: true, writer: true })],
  ])('%s: one execution per trace', (_name, p) => {
    const r = explore(p, 'dpor');
    expect(r.stats.executions).toBe(r.stats.complete);
    expect(r.keys.size).toBe(r.stats.complete);
  });

  it('does not try to reverse a race whose later step the earlier one enabled (a guard)', () => {
    // waiter: T0 waits for x == 1, which T1 sets; the race between T1's write and T0's guarded
    // read cannot be reversed, and no execution is spent trying.
    const r = explore(waiter(), 'dpor');
    expect(r.stats.executions).toBe(r.stats.complete);
    expect(r.keys.size).toBe(2);
  });
});

describe('end-of-execution properties', () => {
  it('are checked once per complete execution, on its final state', () => {
    const p: Program = {
      ...waiter(),
      properties: [{
        id: 'x-set-at-end',
        title: 'x is 1 when everything has finished',
        description: 'toy liveness-style property',
        monitor: () => ({ onEvent: () => null, onEnd: (read) => (read('x') === 1 ? null : { message: 'x is not 1', details: {} }) }),
      }],
    };
    const r = new Explorer(p, { reduction: 'dpor' }).run();
    expect(r.violations.has('x-set-at-end')).toBe(false);
    const q: Program = { ...p, threads: p.threads.filter((t) => t.name === 'peek') };
    const rq = new Explorer(q, { reduction: 'dpor' }).run();
    expect(rq.violations.get('x-set-at-end')?.violation?.message).toBe('x is not 1');
  });
});
