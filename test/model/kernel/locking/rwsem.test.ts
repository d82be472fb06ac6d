/**
 * kernel/locking/rwsem.c as the model has it: the FIFO wait list, rwsem_mark_wake()'s reader
 * batching, lock stealing by readers and writers, and the handoff after RWSEM_WAIT_TIMEOUT that
 * ends the stealing. Explicit schedules over a minimal program (harness.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Driver } from '../../../../src/core/index.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock, rwsem_handoff, type RwsemState } from '../../../../src/model/kernel/locking/rwsem.js';
import { mmLoc, rwsemTimedOutLoc } from '../../../../src/model/state.js';
import { driver, runBlocked, type Body } from './harness.js';

const writer: Body = function* (cur) {
  yield* mmap_write_lock(cur, 'test', 'A');
  yield* mmap_write_unlock(cur, 'test', 'A');
};
const reader: Body = function* (cur) {
  yield* mmap_read_lock(cur, 'test', 'A');
  yield* mmap_read_unlock(cur, 'test', 'A');
};

const lock = (d: Driver): RwsemState => d.exec.read(mmLoc.mmap_lock('A')) as unknown as RwsemState;
const handoff = (d: Driver): boolean => rwsem_handoff(lock(d), d.exec.read(rwsemTimedOutLoc(mmLoc.mmap_lock('A'))));
const queued = (d: Driver): string[] => (lock(d).waiters ?? []).map((w) => `${w.task}${w.write ? ' W' : ' R'}`);

/** Step `tid` until its next step is the release (it holds the lock). */
function acquire(d: Driver, tid: number): void {
  while (!d.pending(tid).desc.startsWith('up_') && !d.pending(tid).desc.startsWith('mmap_read_unlock')) {
    if (!d.enabled(tid)) throw new Error(`thread ${tid} blocked at ${d.pending(tid).desc}`);
    d.step(tid);
  }
}

/** Step `tid` through its queuing: might_sleep(), the failed fast path, the timer's spawn; it is then blocked. */
function queue(d: Driver, tid: number): void {
  expect(runBlocked(d, tid)).toBe(false);
}

describe('rwsem: FIFO wait list (rwsem_add_waiter())', () => {
  it('uncontended, down_write() is one step after might_sleep()', () => {
    const d = driver([['W0', writer]]);
    const w0 = d.tid('W0');
    const recs = d.run(w0);
    expect(recs.filter((r) => r.desc.startsWith('down_write')).map((r) => r.desc)).toEqual(['down_write(A->mmap_lock)']);
    expect(d.exec.threads.length).toBe(1); // no timer spawned
  });

  it('writers get the lock in the order they queued, not in thread-id order', () => {
    const d = driver([['W0', writer], ['W1', writer], ['W2', writer], ['W3', writer]]);
    const [w0, w1, w2, w3] = ['W0', 'W1', 'W2', 'W3'].map((n) => d.tid(n)) as [number, number, number, number];
    acquire(d, w0);
    queue(d, w3);
    queue(d, w1);
    queue(d, w2);
    expect(queued(d)).toEqual(['W3@3 W', 'W1@1 W', 'W2@2 W']);
    d.run(w0); // up_write(): rwsem_wake() wakes the first waiter only
    expect([d.enabled(w1), d.enabled(w2), d.enabled(w3)]).toEqual([false, false, true]);
    const order: string[] = [];
    for (const t of [w3, w1, w2]) {
      d.step(t); // rwsem_try_write_lock()
      order.push(lock(d).writer as string);
      d.run(t);
    }
    expect(order).toEqual(['W3', 'W1', 'W2']);
    expect(lock(d)).toMatchObject({ writer: null, readers: 0 });
    expect(lock(d).waiters).toBeUndefined();
  });
});

describe("rwsem_mark_wake(): readers are granted together, past queued writers", () => {
  it('a writer releasing to a reader at the head grants every queued reader (MAX_READERS_WAKEUP)', () => {
    const d = driver([['W0', writer], ['R1', reader], ['W2', writer], ['R3', reader]]);
    const [w0, r1, w2, r3] = ['W0', 'R1', 'W2', 'R3'].map((n) => d.tid(n)) as [number, number, number, number];
    acquire(d, w0);
    queue(d, r1);
    queue(d, w2);
    queue(d, r3);
    expect(queued(d)).toEqual(['R1@1 R', 'W2@2 W', 'R3@3 R']);
    d.run(w0);
    // R3 queued behind W2 and still got the lock with R1; W2 stays first in the list.
    expect(lock(d)).toMatchObject({ writer: null, readers: 2 });
    expect(queued(d)).toEqual(['W2@2 W']);
    expect([d.enabled(r1), d.enabled(r3), d.enabled(w2)]).toEqual([true, true, false]);
    d.run(r1);
    expect(d.enabled(w2)).toBe(false);
    d.run(r3); // the last reader wakes W2
    expect(d.enabled(w2)).toBe(true);
    d.step(w2);
    expect(lock(d).writer).toBe('W2');
  });

  it('a reader arriving while readers hold the lock and a writer waits queues (no steal past a sleeping writer)', () => {
    const d = driver([['R0', reader], ['W1', writer], ['R2', reader]]);
    const [r0, w1, r2] = ['R0', 'W1', 'R2'].map((n) => d.tid(n)) as [number, number, number];
    acquire(d, r0);
    queue(d, w1);
    queue(d, r2);
    expect(queued(d)).toEqual(['W1@1 W', 'R2@2 R']);
    d.run(r0);
    d.step(w1);
    expect(lock(d).writer).toBe('W1');
    d.run(w1);
    expect(lock(d)).toMatchObject({ readers: 1 });
  });
});

describe('lock stealing, and the handoff after RWSEM_WAIT_TIMEOUT', () => {
  /** W0 held the lock; W1 queued; W0 released: W1 is woken but has not run yet. */
  function woken(second: Body): { d: Driver; w1: number; x: number; timer: number } {
    const d = driver([['W0', writer], ['W1', writer], ['X', second]]);
    const [w0, w1, x] = ['W0', 'W1', 'X'].map((n) => d.tid(n)) as [number, number, number];
    acquire(d, w0);
    queue(d, w1);
    d.run(w0);
    expect(d.enabled(w1)).toBe(true);
    return { d, w1, x, timer: d.tid('rwsem timeout W1@1') };
  }

  it('a reader steals the free lock from the woken writer (reader optimistic lock stealing)', () => {
    const { d, w1, x } = woken(reader);
    d.run(x, (p) => p.desc.startsWith('mmap_read_unlock'));
    expect(lock(d)).toMatchObject({ writer: null, readers: 1 });
    expect(d.enabled(w1)).toBe(false);
  });

  it('a writer steals it too (rwsem_try_write_lock_unqueued())', () => {
    const { d, w1, x } = woken(writer);
    acquire(d, x);
    expect(lock(d).writer).toBe('X');
    expect(d.enabled(w1)).toBe(false);
    d.run(x);
    expect(d.enabled(w1)).toBe(true);
  });

  it('once the first waiter has waited RWSEM_WAIT_TIMEOUT, RWSEM_FLAG_HANDOFF is set and nobody steals', () => {
    for (const second of [reader, writer]) {
      const { d, w1, x, timer } = woken(second);
      expect(d.pending(timer).desc).toMatch(/waited RWSEM_WAIT_TIMEOUT/);
      d.run(timer);
      expect(handoff(d)).toBe(true);
      queue(d, x);
      expect(queued(d)).toEqual(['W1@1 W', `X@2 ${second === reader ? 'R' : 'W'}`]);
      d.step(w1);
      expect(lock(d).writer).toBe('W1');
      expect(handoff(d)).toBe(false); // gone with the first waiter, who has the lock
      d.run(w1);
      expect(d.enabled(x)).toBe(true);
    }
  });

  it('a timer whose waiter already has the lock changes nothing', () => {
    const { d, w1, timer } = woken(reader);
    d.run(w1);
    const before = lock(d);
    d.run(timer);
    expect(lock(d)).toEqual(before);
  });

  it("an old queuing's timer does not time out a later queuing of the same task", () => {
    const twice: Body = function* (cur) {
      for (let i = 0; i < 2; i++) {
        yield* mmap_write_lock(cur, 'test', 'A');
        yield* mmap_write_unlock(cur, 'test', 'A');
      }
    };
    const d = driver([['W0', writer], ['W1', twice], ['R2', reader]]);
    const [w0, w1, r2] = ['W0', 'W1', 'R2'].map((n) => d.tid(n)) as [number, number, number];
    acquire(d, w0);
    queue(d, w1); // ticket 1
    const timer1 = d.tid('rwsem timeout W1@1');
    d.run(w0);
    d.step(w1); // W1 gets the lock
    d.step(w1); // and releases it
    acquire(d, r2);
    queue(d, w1); // ticket 2, behind R2's read lock
    expect(lock(d).waiters?.map((w) => w.ticket)).toEqual([2]);
    d.run(timer1); // the first queuing's timeout passes
    expect(handoff(d)).toBe(false);
    d.run(d.tid('rwsem timeout W1@1', 1));
    expect(handoff(d)).toBe(true);
  });
});

describe("the checker's locks (Kernel.fifo_locks unset): any waiter may take a free lock", () => {
  it('down_write() is one guarded step, queues nobody and arms no timer; the last writer to arrive may go first', () => {
    const d = driver([['W0', writer], ['W1', writer], ['W2', writer]], false);
    acquire(d, 0);
    // W1 then W2 arrive while W0 holds the lock: both wait on the same guarded step, queued nowhere.
    d.step(1);
    d.step(2);
    expect(d.enabled(1) || d.enabled(2)).toBe(false);
    expect(lock(d).waiters).toBeUndefined();
    expect(d.pending(2).desc).toBe('down_write(A->mmap_lock)');
    runBlocked(d, 0);
    // W2, the later arrival, takes it: an order the FIFO wait list allows only if W2 stole it or arrived first.
    acquire(d, 2);
    expect(lock(d).writer).toBe('W2');
    expect(d.exec.threads.length).toBe(3);
  });
});
