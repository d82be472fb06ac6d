/** The simulator engine on toy programs with known timings. */
import { describe, expect, it } from 'vitest';
import { access, spawn, type Program, type ThreadSpec } from '../../../src/core/index.js';
import { ipiDuringIrqsOff, program, work } from '../../toys/sim-programs.js';
import { simulate, type TimingModel } from '../../../src/engines/sim/engine.js';

/** Every step costs its cost class's number in ns (`n` multiplies), default 10; IPIs arrive 100 ns later. */
const timing: TimingModel = {
  duration: (rec) => (rec.cost ? Number(rec.cost.cls) * (rec.cost.n ?? 1) : 10),
  startDelay: (child) => (child.spec.kind === 'irq' ? 100 : 0),
  minWait: (cost) => cost.n ?? 0,
  choose: (_key, options, rng) => rng.nextInt(options.length),
};

function observe(p: Program, until = 1e9, seed = 1) {
  const steps: Array<{ fn: string; thread: string; start: number; end: number; late: number }> = [];
  const r = simulate(p, { until, seed, timing, observers: [{ onStep: (rec, start, end, late) => steps.push({ fn: rec.fn, thread: rec.threadName, start, end, late }) }] });
  return { r, steps };
}

describe('simulator engine', () => {
  it('runs a thread\'s steps back to back, each taking its duration', () => {
    const { r, steps } = observe(program([{ name: 't', cpu: 0, kind: 'task', body: function* () {
      yield* work(100);
      yield* work(250);
    } }]));
    expect(steps.map((s) => [s.start, s.end])).toEqual([[0, 100], [100, 350]]);
    expect(r.time).toBe(350);
    expect(r.stop).toBe('idle');
  });

  it('stops once every untilDone thread has finished, though an endless loop could still run', () => {
    const p = program([
      { name: 'short', cpu: 0, kind: 'task', body: function* () {
        for (let i = 0; i < 3; i++) yield* work(100);
      } },
      { name: 'long', cpu: 1, kind: 'task', body: function* () {
        for (let i = 0; i < 5; i++) yield* work(70);
      } },
      { name: 'forever', cpu: 2, kind: 'task', body: function* () {
        for (;;) yield* work(30);
      } },
    ], {}, 3);
    const r = simulate(p, { until: 1e9, seed: 1, timing, untilDone: [0, 1] });
    expect(r.stop).toBe('done');
    // 'long' ends last, at 350 ns; the run stops after that step, which started at 280 ns:
    // 'forever' ran the steps that started before it (0, 30, ..., 270 ns).
    expect(r.time).toBe(350);
    expect(r.steps).toBe(3 + 5 + 10);
    // The time limit still applies.
    const capped = simulate(p, { until: 200, seed: 1, timing, untilDone: [0, 1] });
    expect(capped.stop).toBe('until');
    expect(capped.time).toBe(200);
  });

  it('runs CPUs in parallel and agents beside their CPU', () => {
    const { steps } = observe(program([
      { name: 'a', cpu: 0, kind: 'task', body: () => work(100) },
      { name: 'b', cpu: 1, kind: 'task', body: () => work(100) },
      { name: 'hw', cpu: 0, kind: 'agent', body: () => work(100) },
    ]));
    expect(steps.every((s) => s.start === 0 && s.end === 100)).toBe(true);
  });

  it('delivers an interrupt after its delay, and only once the target enables IRQs', () => {
    const { steps } = observe(ipiDuringIrqsOff());
    const at = (fn: string) => steps.find((s) => s.fn === fn) as { start: number; end: number };
    // Sent at 0..10, delivered at 110, but the walker has IRQs off until 1020.
    expect(at('irq_on').end).toBe(1020);
    expect(at('irq_entry').start).toBe(1020);
    expect(at('handler').start).toBe(1030);
    // The walker's next step waits for the handler to return.
    expect(at('after').start).toBe(at('irq_exit').end);
  });

  it('wakes a thread once when its footprint names the written location twice', () => {
    const { steps } = observe(program([
      { name: 'waiter', cpu: 0, kind: 'task', body: function* () {
        yield* access({ fn: 'wait', desc: 'x == 1 and x == 1', reads: ['x', 'x'], guard: ([a, b]) => a === 1 && b === 1 });
        yield* work(10, 'after');
      } },
      { name: 'other', cpu: 2, kind: 'task', body: function* () {
        yield* access({ fn: 'wait2', desc: 'x == 1', reads: ['x'], guard: ([v]) => v === 1 });
      } },
      { name: 'setter', cpu: 1, kind: 'task', body: function* () {
        yield* work(500);
        yield* access({ fn: 'set', desc: '', writes: ['x'], effect: () => ({ writes: [['x', 1]] }) });
      } },
    ], { x: 0 }, 3));
    expect(steps.filter((s) => s.fn === 'wait').map((s) => s.start)).toEqual([510]);
    expect(steps.filter((s) => s.fn === 'wait2').map((s) => s.start)).toEqual([510]);
    expect(steps.filter((s) => s.fn === 'after').map((s) => s.start)).toEqual([520]);
  });

  it('wakes many waiters on one location in thread order, however many are parked', () => {
    for (const n of [2, 6]) {
      const waiters: ThreadSpec[] = Array.from({ length: n }, (_, i) => ({ name: `w${i}`, cpu: i, kind: 'task', body: function* () {
        yield* access({ fn: 'wait', desc: 'x == 1', reads: ['x'], guard: ([v]) => v === 1 });
      } }));
      const { steps } = observe(program([
        ...waiters,
        { name: 'setter', cpu: n, kind: 'task', body: function* () {
          yield* work(500);
          yield* access({ fn: 'set', desc: '', writes: ['x'], effect: () => ({ writes: [['x', 1]] }) });
        } },
      ], { x: 0 }, n + 1));
      const woken = steps.filter((s) => s.fn === 'wait');
      expect(woken.map((s) => s.thread)).toEqual(waiters.map((w) => w.name));
      expect(woken.every((s) => s.start === 510)).toBe(true);
    }
  });

  it('parks a thread on its guard and wakes it when a step writes what it waits on', () => {
    const { steps } = observe(program([
      { name: 'waiter', cpu: 0, kind: 'task', body: function* () {
        yield* access({ fn: 'wait', desc: 'x == 1', reads: ['x'], guard: ([v]) => v === 1 });
      } },
      { name: 'setter', cpu: 1, kind: 'task', body: function* () {
        yield* work(500);
        yield* access({ fn: 'set', desc: '', writes: ['x'], effect: () => ({ writes: [['x', 1]] }) });
      } },
    ], { x: 0 }));
    const wait = steps.find((s) => s.fn === 'wait');
    expect(wait?.start).toBe(510);
  });

  it('reports how late a minimum wait ended when the CPU was busy', () => {
    const timerLoc = 'busy';
    const { steps } = observe(program([
      { name: 'rt', cpu: 0, kind: 'task', body: function* () {
        yield* work(10, 'sleep');
        yield* access({ fn: 'wakeup', desc: '', minWait: { cls: 'timer', n: 1000 } });
      } },
      { name: 'intruder', cpu: 1, kind: 'task', body: function* () {
        yield* work(900);
        yield* spawn({ fn: 'send', desc: '' }, { name: 'ipi', cpu: 0, kind: 'irq', body: () => work(400, 'handler') }, { cls: '0' });
      } },
    ], { [timerLoc]: 0 }));
    const w = steps.find((s) => s.fn === 'wakeup');
    // Expiry at 10 + 1000; the IPI lands at 1000 and keeps CPU0 until 1000 + 10 + 400 + 10.
    expect(w?.start).toBe(1420);
    expect(w?.late).toBe(410);
  });

  it('stops at the time limit and is deterministic for a seed', () => {
    const loop: ThreadSpec = { name: 'loop', cpu: 0, kind: 'task', body: function* () {
      for (let i = 0; i < 1000; i++) yield* work(100);
    } };
    const a = observe(program([loop]), 50_000);
    expect(a.r.stop).toBe('until');
    expect(a.r.time).toBe(50_000);
    expect(a.steps.length).toBe(501);
    const chooser: ThreadSpec = { name: 'c', cpu: 0, kind: 'task', body: function* () {
      for (let i = 0; i < 20; i++) {
        const k = (yield { kind: 'choose', fn: 'c', desc: '', key: 'k', options: ['a', 'b', 'c'] }) as number;
        yield* work(k + 1);
      }
    } };
    expect(observe(program([chooser]), 1e9, 7).steps).toEqual(observe(program([chooser]), 1e9, 7).steps);
    expect(observe(program([chooser]), 1e9, 7).steps).not.toEqual(observe(program([chooser]), 1e9, 8).steps);
  });
});
