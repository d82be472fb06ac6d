/**
 * include/linux/spinlock.h: spin_lock()/spin_unlock(). Taking a spinlock disables preemption,
 * which makes the holder an RCU reader and forbids sleeping (might_sleep reports it).
 *
 * The arch lock is the queued spinlock (kernel/locking/qspinlock.c, read as of v6.12:
 * queued_spin_lock() / queued_spin_lock_slowpath()): uncontended, one cmpxchg of 0 to LOCKED (one
 * step here). Contended, the first waiter sets PENDING and spins on the lock word; later ones
 * queue on the MCS list (a new arrival sees PENDING or the tail set and goes to the queue, never
 * past it), and the MCS head spins until LOCKED and PENDING are clear. So contended waiters get
 * the lock in arrival order: the model keeps one FIFO of waiters (pending waiter first). The
 * lock's value is its owner (comm, or null) while nobody waits, `SpinlockQueued` while some do.
 */
import { access, internByKey, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { asNumber, cpuLoc, type RcuState } from '../../state.js';
import { rcuAfter } from '../rcu/reader.js';

export const lockLoc = internByKey((name) => `lock.${name}`);

/** A contended spinlock: its owner and the waiters, in arrival order (PENDING, then the MCS queue). */
export interface SpinlockQueued {
  readonly [key: string]: Value;
  readonly owner: string | null;
  readonly queue: readonly string[];
}

/** The owner of a lock value, and its waiters. */
export function spinOwner(v: Value | undefined): string | null {
  if (v === undefined) return null;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? ((v as SpinlockQueued).owner) : (v as string | null);
}
function spinQueue(v: Value | undefined): readonly string[] {
  if (v === undefined) return [];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as SpinlockQueued).queue : [];
}
function spinValue(owner: string | null, queue: readonly string[]): Value {
  return queue.length === 0 ? owner : { owner, queue };
}

export function* spin_lock(cur: Ctx, caller: string, name: string): Proc<void> {
  const c = cur.cpu;
  const me = cur.comm;
  // A waiter's name in the queue: comm@cpu (two tasks may share a comm; tasks do not migrate).
  const who = `${me}@${c}`;
  const l = lockLoc(name);
  if (!cur.k.fifo_locks) {
    // The checker's spinlock (Kernel.fifo_locks unset): whichever waiter the schedule picks takes
    // the free lock, in one step; every arrival order qspinlock serves is one of these (§5.23).
    yield* access({
      fn: caller,
      desc: `spin_lock(${name})`,
      cost: { cls: 'spin_lock' },
      reads: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
      writes: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
      guard: ([v]) => spinOwner(v) === null,
      effect: ([, pc, held, rcu]) => ({ writes: acquire(me, name, c, pc, held, rcu, []) }),
    });
    return;
  }
  // queued_spin_lock(): the fast path, or queue_spin_lock_slowpath()'s PENDING/MCS enqueue.
  const got = yield* access<boolean>({
    fn: caller,
    desc: `spin_lock(${name})`,
    cost: { cls: 'spin_lock' },
    reads: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    writes: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    effect: ([v, pc, held, rcu]) => {
      const q = spinQueue(v);
      if (spinOwner(v) !== null || q.length > 0) {
        if (q.includes(who)) throw new Error(`${caller}: ${who} queued twice on ${name}`);
        return { writes: [[l, spinValue(spinOwner(v), [...q, who])]], result: false, note: q.length === 0 ? 'contended: PENDING' : `contended: MCS queue behind ${q.length}` };
      }
      return { writes: acquire(me, name, c, pc, held, rcu, []), result: true };
    },
  });
  if (got) return;
  // The pending waiter / MCS head: spin until the lock word is free and we are first.
  yield* access({
    fn: caller,
    desc: `spin_lock(${name}): queued, spin`,
    reads: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    writes: [l, cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    guard: ([v]) => spinOwner(v) === null && spinQueue(v)[0] === who,
    effect: ([v, pc, held, rcu]) => ({ writes: acquire(me, name, c, pc, held, rcu, spinQueue(v).slice(1)) }),
  });
}

/** The writes of taking lock `name` on CPU `c`, leaving `queue` waiting. */
function acquire(me: string, name: string, c: number, pc: Value | undefined, held: Value | undefined, rcu: Value | undefined, queue: readonly string[]): Array<[string, Value]> {
  return [
    [lockLoc(name), spinValue(me, queue)],
    [cpuLoc.preempt_count(c), asNumber(pc) + 1],
    [cpuLoc.locks_held(c), [...((held ?? []) as readonly Value[]), name]],
    // Preemption is now disabled: the CPU is an RCU reader.
    [cpuLoc.rcu(c), { reader: true, qs: (rcu as RcuState).qs }],
  ];
}

export function* spin_unlock(cur: Ctx, caller: string, name: string): Proc<void> {
  const c = cur.cpu;
  // Dropping the last spinlock may end an RCU reader: account the quiescent state.
  yield* access({
    fn: caller,
    desc: `spin_unlock(${name})`,
    reads: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.irqs_off(c), cpuLoc.rcu_nesting(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)],
    writes: [lockLoc(name), cpuLoc.preempt_count(c), cpuLoc.locks_held(c), cpuLoc.rcu(c)],
    effect: ([v, pc, held, irqs, nest, hard, rcu]) => {
      const owner = spinOwner(v);
      if (owner !== cur.comm) throw new Error(`${caller}: spin_unlock(${name}) by ${cur.comm}, held by ${JSON.stringify(owner)}`);
      const npc = asNumber(pc) - 1;
      const writes: Array<[string, Value]> = [
        // queued_spin_unlock(): clear LOCKED; the waiters stay queued, the first takes it.
        [lockLoc(name), spinValue(null, spinQueue(v))],
        [cpuLoc.preempt_count(c), npc],
        [cpuLoc.locks_held(c), ((held ?? []) as readonly Value[]).filter((l) => l !== name)],
      ];
      const old = { irqs_off: irqs === true, preempt_count: asNumber(pc), rcu_nesting: asNumber(nest), hardirq: hard === true, qs: (rcu as RcuState).qs };
      writes.push([cpuLoc.rcu(c), rcuAfter(old, { irqs_off: old.irqs_off, preempt_count: npc, rcu_nesting: old.rcu_nesting, hardirq: old.hardirq })]);
      return { writes };
    },
  });
}
