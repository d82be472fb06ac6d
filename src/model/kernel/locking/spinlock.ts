/**
 * include/linux/spinlock.h: spin_lock()/spin_unlock(). Taking a spinlock disables preemption,
 * which makes the holder an RCU reader and forbids sleeping (might_sleep reports it).
 */
import { access, internByKey, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { asNumber, cpuLoc, type RcuState } from '../../state.js';
import { rcuAfter } from '../rcu/reader.js';

export const lockLoc = internByKey((name) => `lock.${name}`);

export function* spin_lock(cur: Ctx, caller: string, name: string): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: caller,
    desc: `spin_lock(${name})`,
    cost: { cls: 'spin_lock' },
    reads: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    writes: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    guard: ([owner]) => owner === null,
    effect: ([, pc, held, rcu]) => ({
      writes: [
        [lockLoc(name), cur.comm],
        [cpuLoc.preempt_count(c), asNumber(pc) + 1],
        [cpuLoc.locks_held(c), [...((held ?? []) as readonly Value[]), name]],
        // Preemption is now disabled: the CPU is an RCU reader.
        [cpuLoc.rcu(c), { reader: true, qs: (rcu as RcuState).qs }],
      ],
    }),
  });
}

export function* spin_unlock(cur: Ctx, caller: string, name: string): Proc<void> {
  const c = cur.cpu;
  // Dropping the last spinlock may end an RCU reader: account the quiescent state.
  yield* access({
    fn: caller,
    desc: `spin_unlock(${name})`,
    reads: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.irqs_off(c), cpuLoc.rcu_nesting(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)],
    writes: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    effect: ([owner, pc, held, irqs, nest, hard, rcu]) => {
      if (owner !== cur.comm) throw new Error(`${caller}: spin_unlock(${name}) by ${cur.comm}, held by ${JSON.stringify(owner)}`);
      const npc = asNumber(pc) - 1;
      const writes: Array<[string, Value]> = [
        [lockLoc(name), null],
        [cpuLoc.preempt_count(c), npc],
        [cpuLoc.locks_held(c), ((held ?? []) as readonly Value[]).filter((l) => l !== name)],
      ];
      const old = { irqs_off: irqs === true, preempt_count: asNumber(pc), rcu_nesting: asNumber(nest), hardirq: hard === true, qs: (rcu as RcuState).qs };
      writes.push([cpuLoc.rcu(c), rcuAfter(old, { irqs_off: old.irqs_off, preempt_count: npc, rcu_nesting: old.rcu_nesting, hardirq: old.hardirq })]);
      return { writes };
    },
  });
}
