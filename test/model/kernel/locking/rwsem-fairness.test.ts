/**
 * Fairness under the simulator: N tasks looping a short mmap_write_lock() section share the lock
 * equally in a fixed simulated time (FIFO wait list; before issue #12 the waiter the engine
 * happened to pop first won every release, and one task could starve another).
 */
import { describe, expect, it } from 'vitest';
import { local, type Cost } from '../../../../src/core/index.js';
import { simulate, type TimingModel } from '../../../../src/engines/sim/engine.js';
import { mmap_write_lock, mmap_write_unlock } from '../../../../src/model/kernel/locking/rwsem.js';
import { lockProgram, type Body } from './harness.js';

const N = 4;
const HOLD = 1_000;
const OUTSIDE = 200;

const looper: Body = function* (cur) {
  for (;;) {
    yield* mmap_write_lock(cur, 'test', 'A');
    yield* local({ fn: 'test', desc: 'critical section' }, { cls: 'hold' });
    yield* mmap_write_unlock(cur, 'test', 'A');
    yield* local({ fn: 'test', desc: 'outside' }, { cls: 'outside' });
  }
};

const timing: TimingModel = {
  duration: (rec) => (rec.cost?.cls === 'hold' ? HOLD : rec.cost?.cls === 'outside' ? OUTSIDE : 10),
  startDelay: () => 0,
  minWait: (cost: Cost) => (cost.cls === 'rwsem_wait_timeout' ? 4_000_000 : 0),
  choose: () => 0,
};

describe('rwsem fairness in the simulator', () => {
  it(`${N} tasks looping a write-locked section get equal shares`, () => {
    const program = lockProgram(Array.from({ length: N }, (_, i) => [`T${i}`, looper] as const));
    const counts = new Array<number>(N).fill(0);
    const until = 20_000_000;
    simulate(program, {
      until,
      seed: 1,
      timing,
      observers: [{ onStep: (rec) => { if (rec.desc.startsWith('up_write') && rec.cpu !== null) counts[rec.cpu] = (counts[rec.cpu] as number) + 1; } }],
    });
    const total = counts.reduce((a, b) => a + b, 0);
    // The lock is never idle while others wait: about one section per HOLD plus its few steps.
    expect(total).toBeGreaterThan((until / (HOLD + 100)) * 0.9);
    for (const c of counts) expect(Math.abs(c - total / N)).toBeLessThanOrEqual(2);
  });
});
