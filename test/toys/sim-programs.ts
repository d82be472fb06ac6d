/**
 * Toy programs with known timings for the simulator's tests (test/engines/sim/): the free
 * simulator (engine.test.ts) and the one driven by a schedule (ordered.test.ts) run the same ones.
 */
import { access, local, machineLocs, spawn, type Program, type Proc, type ThreadSpec, type Value } from '../../src/core/index.js';

export function program(threads: ThreadSpec[], init: Record<string, Value> = {}, cpus = 2): Program {
  return { name: 'toy', machine: { cpus }, init: new Map(Object.entries(init)), threads, properties: [] };
}

/** A step costing `ns` (its cost class). */
export const work = (ns: number, what = 'work'): Proc => local({ fn: what, desc: `${ns} ns` }, { cls: String(ns) });

/**
 * CPU0 sends an IPI (a 50 ns handler, thread 2) to CPU1, which runs 1000 ns of `walk` with IRQs
 * off, then `irq_on`, then 100 ns of `after`.
 */
export function ipiDuringIrqsOff(): Program {
  const irqsOff = machineLocs.irqsOff(1);
  const handler: ThreadSpec = { name: 'ipi', cpu: 1, kind: 'irq', body: () => work(50, 'handler') };
  return program([
    { name: 'sender', cpu: 0, kind: 'task', body: function* () {
      yield* spawn({ fn: 'send', desc: 'IPI' }, handler, { cls: '10' });
    } },
    { name: 'walker', cpu: 1, kind: 'task', body: function* () {
      yield* access({ fn: 'irq_off', desc: '', writes: [irqsOff], effect: () => ({ writes: [[irqsOff, true]] }) });
      yield* work(1000, 'walk');
      yield* access({ fn: 'irq_on', desc: '', writes: [irqsOff], effect: () => ({ writes: [[irqsOff, false]] }) });
      yield* work(100, 'after');
    } },
  ]);
}
