/**
 * kernel/rcu/tree.c, as the guarantee it gives rather than the state machine it runs:
 *
 *  - synchronize_rcu(): might_sleep(); then wait until every CPU that was inside a read-side
 *    critical section (IRQs off, preemption off, hardirq, rcu_read_lock()) when the grace period
 *    started has passed a quiescent state. It sends no IPIs (it may take milliseconds).
 *  - synchronize_rcu_expedited(): the same wait, but IPIs each CPU that is not quiescent so the
 *    grace period ends quickly (rcu_exp_handler reports a quiescent state if the interrupted
 *    context is not a reader).
 *  - call_rcu(head, func): queue func to run after a grace period, from softirq/rcuo context.
 *
 * See reader.ts for how a CPU's reader state and quiescent states are kept.
 */
import { access, spawn, type Proc } from '../../../core/index.js';
import type { Ctx, Kernel } from '../../kernel.js';
import { cpuLoc, asNumber, type RcuState } from '../../state.js';
import { might_sleep, rcu_note_context_switch } from '../sched.js';
import { rcuQs, readerChange } from './reader.js';
import { smp_call_function_single, type smp_call_func_t } from '../smp.js';

/** A grace period's start: its id, and the CPUs that were readers with their quiescent-state counts. */
export interface GpSnapshot {
  /** `cpuN#k`: the k-th grace period started from CPU N (for traces). */
  readonly id: string;
  readonly readers: { readonly [cpu: number]: number };
}

/**
 * rcu_gp_start()'s footprint from CPU `cpu`: every CPU's `cpuN.rcu`, then its own grace-period
 * counter. Built once per kernel and CPU: on 1024 CPUs it is a thousand names.
 */
function gpStartFootprint(k: Kernel, cpu: number): { readonly cpus: readonly number[]; readonly reads: readonly string[]; readonly writes: readonly string[] } {
  let perCpu = GP_START.get(k);
  if (!perCpu) GP_START.set(k, (perCpu = []));
  let f = perCpu[cpu];
  if (!f) {
    const cpus = Array.from({ length: k.nr_cpus }, (_, i) => i);
    const seqLoc = cpuLoc.rcu_gp_started(cpu);
    perCpu[cpu] = f = { cpus, reads: [...cpus.map(cpuLoc.rcu), seqLoc], writes: [seqLoc] };
  }
  return f;
}
const GP_START = new WeakMap<Kernel, Array<{ readonly cpus: readonly number[]; readonly reads: readonly string[]; readonly writes: readonly string[] }>>();

/** Record which CPUs are inside a reader now (rcu_gp_init's view of the world). */
export function* rcu_gp_start(cur: Ctx, caller: string): Proc<GpSnapshot> {
  const { cpus, reads, writes } = gpStartFootprint(cur.k, cur.cpu);
  const seqLoc = writes[0] as string;
  return yield* access<GpSnapshot>({
    fn: caller,
    desc: 'start grace period: note CPUs inside read-side critical sections',
    reads,
    writes,
    effect: (vals) => {
      const readers: Record<number, number> = {};
      const waitOn: number[] = [];
      for (const c of cpus) {
        const s = vals[c] as RcuState;
        if (s.reader) {
          readers[c] = s.qs;
          waitOn.push(c);
        }
      }
      const k = asNumber(vals[cpus.length]) + 1;
      const id = `cpu${cur.cpu}#${k}`;
      return {
        writes: [[seqLoc, k]],
        result: { id, readers },
        events: [{ type: 'gp_start', cpu: cur.cpu, fn: caller, gp: id, readers: waitOn }],
        note: waitOn.length ? `waits for CPU${waitOn.join(', CPU')}` : 'no CPU inside a reader',
      };
    },
  });
}

/** Wait until every CPU in the snapshot has passed a quiescent state. */
export function* rcu_gp_wait(cur: Ctx, caller: string, snap: GpSnapshot, expedited: boolean): Proc<void> {
  const cpus = Object.keys(snap.readers).map(Number);
  yield* access({
    fn: caller,
    desc: `wait for ${expedited ? 'expedited ' : ''}grace period ${snap.id}`,
    reads: cpus.map(cpuLoc.rcu),
    guard: (vals) => cpus.every((c, i) => (vals[i] as RcuState).qs > (snap.readers[c] as number)),
    minWait: { cls: expedited ? 'rcu_gp_expedited' : 'rcu_gp' },
    effect: () => ({ events: [{ type: 'gp_end', cpu: cur.cpu, fn: caller, gp: snap.id, expedited }] }),
  });
}

/**
 * synchronize_rcu(): might_sleep() (via rcu_blocking_is_gp()), start a grace period, and sleep
 * until it ends. Sleeping is a context switch, hence a quiescent state of the caller's CPU.
 */
export function* synchronize_rcu(cur: Ctx, caller = 'synchronize_rcu'): Proc<void> {
  yield* might_sleep(cur, 'synchronize_rcu');
  const snap = yield* rcu_gp_start(cur, 'synchronize_rcu');
  yield* rcu_note_context_switch(cur, 'synchronize_rcu');
  yield* rcu_gp_wait(cur, caller, snap, false);
}

/** rcu_exp_handler(): report a quiescent state unless the interrupted context is a reader. */
const rcu_exp_handler: smp_call_func_t = {
  name: 'rcu_exp_handler',
  irq: 'CAL',
  *run(cur: Ctx): Proc<void> {
    const c = cur.cpu;
    yield* access({
      fn: 'rcu_exp_handler',
      desc: 'expedited QS check',
      reads: [cpuLoc.preempt_count(c), cpuLoc.rcu_nesting(c), cpuLoc.rcu(c)],
      writes: [cpuLoc.rcu(c)],
      effect: ([pc, nest, rcu]) =>
        asNumber(pc) === 0 && asNumber(nest) === 0 ? { writes: [[cpuLoc.rcu(c), rcuQs(rcu)]] } : {},
    });
  },
};

/** synchronize_rcu_expedited(): IPI every CPU still inside a reader, then wait. */
export function* synchronize_rcu_expedited(cur: Ctx): Proc<void> {
  yield* might_sleep(cur, 'synchronize_rcu_expedited');
  const snap = yield* rcu_gp_start(cur, 'synchronize_rcu_expedited');
  yield* rcu_note_context_switch(cur, 'synchronize_rcu_expedited');
  for (const c of Object.keys(snap.readers).map(Number)) {
    if (c !== cur.cpu) yield* smp_call_function_single(cur, 'synchronize_rcu_expedited', c, rcu_exp_handler, false);
  }
  yield* rcu_gp_wait(cur, 'synchronize_rcu_expedited', snap, true);
}

/**
 * call_rcu(head, func): run `func` after a grace period. The callback runs in a separate
 * context (RCU softirq or an rcuo kthread): modelled as an agent thread bound to no CPU context.
 */
export function* call_rcu(cur: Ctx, what: string, func: (cbcur: Ctx) => Proc<void>, funcName: string): Proc<void> {
  const snap = yield* rcu_gp_start(cur, 'call_rcu');
  const k = cur.k;
  const cpu = cur.cpu;
  yield* spawn({ fn: 'call_rcu', desc: `call_rcu(${what}, ${funcName})` }, {
    name: `rcu callback ${funcName}`,
    cpu,
    kind: 'agent',
    body: () => rcu_do_batch(k, cpu, snap, func),
  }, { cls: 'call_rcu' });
}

/**
 * The callback's context: wait for the grace period, then run it. A module-level generator (not
 * a generator closure per call_rcu()): see ipi_handler() in smp.ts.
 */
function* rcu_do_batch(k: Kernel, cpu: number, snap: GpSnapshot, func: (cbcur: Ctx) => Proc<void>): Proc<void> {
  const cbcur: Ctx = { k, cpu, comm: `rcuc/${cpu}`, mm: null, context: 'softirq' };
  yield* rcu_gp_wait(cbcur, 'rcu_do_batch', snap, false);
  yield* func(cbcur);
}

/** rcu_read_lock() */
export function* rcu_read_lock(cur: Ctx, caller: string): Proc<void> {
  yield* readerChange(cur.cpu, caller, 'rcu_read_lock()', 'rcu_nesting', (s) => s.rcu_nesting + 1);
}

/** rcu_read_unlock() */
export function* rcu_read_unlock(cur: Ctx, caller: string): Proc<void> {
  yield* readerChange(cur.cpu, caller, 'rcu_read_unlock()', 'rcu_nesting', (s) => {
    if (s.rcu_nesting <= 0) throw new Error(`${caller}: unbalanced rcu_read_unlock() on CPU${cur.cpu}`);
    return s.rcu_nesting - 1;
  });
}

