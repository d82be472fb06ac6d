/** The simulator driven by a fixed schedule, on toy programs with known timings. */
import { describe, expect, it } from 'vitest';
import { access, type Program } from '../../../src/core/index.js';
import { ipiDuringIrqsOff, program, work } from '../../toys/sim-programs.js';
import type { TimingModel } from '../../../src/engines/sim/engine.js';
import { simulateOrdered } from '../../../src/engines/sim/ordered.js';
import { decodeSchedule } from '../../../src/core/schedule.js';

/** As engine.test.ts: a step costs its cost class's number in ns, default 10; IPIs arrive 100 ns later. */
const timing: TimingModel = {
  duration: (rec) => (rec.cost ? Number(rec.cost.cls) * (rec.cost.n ?? 1) : 10),
  startDelay: (child) => (child.spec.kind === 'irq' ? 100 : 0),
  minWait: (cost) => cost.n ?? 0,
  choose: () => 0,
};

function run(p: Program, schedule: string) {
  const r = simulateOrdered(p, { schedule: decodeSchedule(schedule), seed: 1, timing });
  return { r, at: (fn: string, nth = 0) => r.times[r.exec.trace.filter((x) => x.fn === fn)[nth]!.index]! };
}

describe('simulateOrdered', () => {
  it('keeps the order of dependent steps; independent ones overlap, as the simulator would run them', () => {
    const p = program([
      { name: 'a', cpu: 0, kind: 'task', body: function* () {
        yield* work(100, 'a1');
        yield* access({ fn: 'a2', desc: 'x = 1', writes: ['x'], effect: () => ({ writes: [['x', 1]] }), cost: { cls: '10' } });
      } },
      { name: 'b', cpu: 1, kind: 'task', body: function* () {
        yield* work(100, 'b1');
        yield* access({ fn: 'b2', desc: 'read x', reads: ['x'], cost: { cls: '10' } });
      } },
    ], { x: 0 });
    // b1 commutes with a's steps: it starts at 0 though scheduled after them. b2 reads what a2
    // wrote: not before a2.
    const { r, at } = run(p, '0 0 1 1');
    expect(at('a1')).toEqual({ start: 0, end: 100 });
    expect(at('a2')).toEqual({ start: 100, end: 110 });
    expect(at('b1')).toEqual({ start: 0, end: 100 });
    expect(at('b2')).toEqual({ start: 100, end: 110 });
    // The other order of the dependent pair: a2 (a write) waits for b2's read.
    const other = run(p, '1 1 0 0');
    expect(other.at('b2').start).toBe(100);
    expect(other.at('a2').start).toBe(100);
    expect(other.r.exec.trace.map((x) => x.fn)).toEqual(['b1', 'b2', 'a1', 'a2']);
    expect(r.time).toBe(110);
  });

  it('starts a blocked thread at the end of the step that unblocked it, and counts the time it was blocked', () => {
    const p = program([
      { name: 'waiter', cpu: 0, kind: 'task', body: function* () {
        yield* access({ fn: 'wait', desc: 'x == 1', reads: ['x'], guard: ([v]) => v === 1 });
      } },
      { name: 'setter', cpu: 1, kind: 'task', body: function* () {
        yield* work(100);
        yield* access({ fn: 'set', desc: '', writes: ['x'], effect: () => ({ writes: [['x', 1]] }), cost: { cls: '10' } });
      } },
    ], { x: 0 });
    const { r, at } = run(p, '1 1 0');
    expect(at('set')).toEqual({ start: 100, end: 110 });
    expect(at('wait').start).toBe(110);
    expect(r.blocked).toEqual([110, 0]);
  });

  it('delivers an IPI after its delay and once the target enables IRQs; the task waits for the handler', () => {
    const p = ipiDuringIrqsOff();
    // The handler (thread 2) runs between irq_on and after, as the checker would schedule it.
    const { at } = run(p, '0 1 1 1 2 2 2 1');
    expect(at('irq_on').end).toBe(1020);
    expect(at('irq_entry').start).toBe(1020);
    expect(at('handler').start).toBe(1030);
    expect(at('after').start).toBe(at('irq_exit').end);
    // Scheduled while its IRQs were still on, the handler runs once it is delivered (10 + 100 ns).
    const early = run(p, '0 2 2 2 1 1 1 1');
    expect(early.at('irq_entry').start).toBe(110);
    expect(early.at('irq_off').start).toBe(early.at('irq_exit').end);
  });

  it('starts a step with a minimum wait no earlier than the wait\'s end', () => {
    const p = program([
      { name: 't', cpu: 0, kind: 'task', body: function* () {
        yield* work(10);
        yield* access({ fn: 'wakeup', desc: '', minWait: { cls: 'timer', n: 1000 } });
      } },
    ]);
    expect(run(p, '0 0').at('wakeup').start).toBe(1010);
  });

  it('refuses a schedule that names a thread that cannot step, saying which and what could', () => {
    const p = program([
      { name: 'waiter', cpu: 0, kind: 'task', body: function* () {
        yield* access({ fn: 'wait', desc: 'x == 1', reads: ['x'], guard: ([v]) => v === 1 });
      } },
      { name: 'other', cpu: 1, kind: 'task', body: () => work(10) },
    ], { x: 0 });
    expect(() => run(p, '0')).toThrow('timed replay step 0: thread 0 is not enabled; enabled: 1 (other: work)');
    expect(() => run(p, '1 5')).toThrow('timed replay step 1: thread 5 does not exist yet');
  });
});
