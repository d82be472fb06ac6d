/**
 * qspinlock (kernel/locking/qspinlock.c): contended waiters get the lock in arrival order (the
 * PENDING waiter, then the MCS queue); uncontended, spin_lock() is one step.
 */
import { describe, expect, it } from 'vitest';
import { lockLoc, spin_lock, spin_unlock, spinOwner } from '../../../../src/model/kernel/locking/spinlock.js';
import { cpuLoc } from '../../../../src/model/state.js';
import { driver, runBlocked, type Body } from './harness.js';

const locker: Body = function* (cur) {
  yield* spin_lock(cur, 'test', 'L');
  yield* spin_unlock(cur, 'test', 'L');
};

describe('spin_lock(): qspinlock order', () => {
  it('uncontended: one step, preemption disabled', () => {
    const d = driver([['A', locker]]);
    const a = d.tid('A');
    d.step(a);
    expect(d.exec.read(lockLoc('L'))).toBe('A');
    expect(d.exec.read(cpuLoc.preempt_count(0))).toBe(1);
    d.run(a);
    expect(d.exec.read(lockLoc('L'))).toBe(null);
  });

  it('contended waiters acquire in arrival order, not thread-id order', () => {
    const d = driver([['H', locker], ['A', locker], ['B', locker], ['C', locker]]);
    const [h, a, b, c] = ['H', 'A', 'B', 'C'].map((n) => d.tid(n)) as [number, number, number, number];
    d.step(h);
    for (const t of [c, a, b]) expect(runBlocked(d, t)).toBe(false);
    expect(d.exec.read(lockLoc('L'))).toEqual({ owner: 'H', queue: ['C@3', 'A@1', 'B@2'] });
    expect(d.exec.read(cpuLoc.preempt_count(3))).toBe(0); // counted from the acquisition
    d.run(h);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ready = [a, b, c].filter((t) => !d.done(t) && d.enabled(t));
      expect(ready.length).toBe(1);
      const t = ready[0] as number;
      d.step(t);
      order.push(spinOwner(d.exec.read(lockLoc('L'))) as string);
      d.run(t);
    }
    expect(order).toEqual(['C', 'A', 'B']);
    expect(d.exec.read(lockLoc('L'))).toBe(null);
  });
});

describe("spin_lock() in the checker (Kernel.fifo_locks unset)", () => {
  it('any waiter may take the free lock, in one step; nothing is queued', () => {
    const d = driver([['H', locker], ['A', locker], ['B', locker]], false);
    const [h, a, b] = ['H', 'A', 'B'].map((n) => d.tid(n)) as [number, number, number];
    d.step(h);
    expect(d.enabled(a) || d.enabled(b)).toBe(false);
    expect(d.exec.read(lockLoc('L'))).toBe('H');
    d.run(h);
    // Both are enabled: the schedule picks, B although A is first by thread id.
    expect(d.enabled(a) && d.enabled(b)).toBe(true);
    d.step(b);
    expect(d.exec.read(lockLoc('L'))).toBe('B');
    expect(d.enabled(a)).toBe(false);
  });
});
