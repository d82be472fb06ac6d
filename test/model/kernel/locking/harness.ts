/**
 * A minimal program for lock tests: N task threads, one per CPU, each running its own body over a
 * booted per-CPU state, one mm's mmap_lock and one spinlock.
 */
import type { Proc, Program, Value } from '../../../../src/core/index.js';
import { Driver } from '../../../../src/core/index.js';
import type { Ctx, Kernel } from '../../../../src/model/kernel.js';
import { RWSEM_UNLOCKED } from '../../../../src/model/kernel/locking/rwsem.js';
import { lockLoc } from '../../../../src/model/kernel/locking/spinlock.js';
import { cpuLoc, mmLoc, rwsemTimedOutLoc } from '../../../../src/model/state.js';

export type Body = (cur: Ctx) => Proc;

/** `fifo`: the simulator's locks (Kernel.fifo_locks); false: the checker's, which take any order. */
export function lockProgram(bodies: ReadonlyArray<readonly [string, Body]>, fifo = true): Program {
  const init = new Map<string, Value>();
  bodies.forEach((_, i) => {
    init.set(cpuLoc.irqs_off(i), false);
    init.set(cpuLoc.preempt_count(i), 0);
    init.set(cpuLoc.hardirq(i), false);
    init.set(cpuLoc.locks_held(i), []);
    init.set(cpuLoc.rcu_nesting(i), 0);
    init.set(cpuLoc.rcu(i), { reader: false, qs: 0 });
  });
  init.set(mmLoc.mmap_lock('A'), RWSEM_UNLOCKED);
  init.set(rwsemTimedOutLoc(mmLoc.mmap_lock('A')), 0);
  init.set(lockLoc('L'), null);
  const k = { fifo_locks: fifo } as Kernel;
  return {
    name: 'locks',
    machine: { cpus: bodies.length },
    init,
    threads: bodies.map(([name, body], cpu) => ({
      name,
      cpu,
      kind: 'task' as const,
      body: () => body({ k, cpu, comm: name, mm: 'A', context: 'task' }),
    })),
    properties: [],
  };
}

export const driver = (bodies: ReadonlyArray<readonly [string, Body]>, fifo = true): Driver => new Driver(lockProgram(bodies, fifo));

/** Run `tid` until it is blocked or done; returns whether it finished. */
export function runBlocked(d: Driver, tid: number): boolean {
  while (!d.done(tid) && d.enabled(tid)) d.step(tid);
  return d.done(tid);
}
