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
import { cpuLoc, asNumber, rcuLoc, type RcuState } from '../../state.js';
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

/** Record which CPUs are inside a reader now: an expedited grace period's start (synchronize_rcu_expedited()). */
export function* rcu_gp_start(cur: Ctx, caller: string): Proc<GpSnapshot> {
  const expedited = caller === 'synchronize_rcu_expedited';
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
        events: [{ type: 'gp_start', cpu: cur.cpu, fn: caller, gp: id, readers: waitOn, ...(expedited ? { expedited } : {}) }],
        note: waitOn.length ? `waits for CPU${waitOn.join(', CPU')}` : 'no CPU inside a reader',
      };
    },
  });
}

/** Wait until every CPU in the expedited grace period's snapshot has passed a quiescent state. */
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
 * synchronize_rcu(): might_sleep() (via rcu_blocking_is_gp()), ask for the grace period that
 * rcu_seq_snap() names (the first one to start after this call: kernel/rcu/rcu.h), and sleep until
 * rcu_state.gp_seq reaches it. Callers in the same window share that grace period (the
 * SR_NORMAL_GP llist path of synchronize_rcu_normal(), wait_rcu_gp() before it). Sleeping is a
 * context switch, hence a quiescent state of the caller's CPU.
 */
export function* synchronize_rcu(cur: Ctx, caller = 'synchronize_rcu'): Proc<void> {
  if (!cur.k.rcu_tree_gp) return yield* synchronize_rcu_per_call(cur, caller);
  yield* might_sleep(cur, 'synchronize_rcu');
  const snap = yield* rcu_start_this_gp(cur, 'synchronize_rcu', 'sync');
  yield* rcu_note_context_switch(cur, 'synchronize_rcu');
  // The caller sleeps: its CPU runs other tasks or idles, and passes a quiescent state in every
  // grace period that starts meanwhile (rcu_note_context_switch() again when gp_seq moves).
  let seen = yield* rcu_seq_wait(cur, caller, snap, 'sync', null);
  while (seen !== null) {
    yield* rcu_note_context_switch(cur, 'synchronize_rcu');
    seen = yield* rcu_seq_wait(cur, caller, snap, 'sync', seen);
  }
  // rcu_normal_wake_from_gp is on only with num_possible_cpus() <= WAKE_FROM_GP_CPU_THRESHOLD
  // (16, rcu_init()): the GP kthread wakes the caller at the end. Otherwise synchronize_rcu_normal()
  // is wait_rcu_gp(call_rcu_hurry): wakeme_after_rcu() runs from rcu_do_batch() at the CPU's next tick.
  if (cur.k.nr_cpus > WAKE_FROM_GP_CPU_THRESHOLD) yield* access({ fn: 'wakeme_after_rcu', desc: 'rcu_do_batch() at the next tick wakes the caller', minWait: { cls: 'rcu_cb_invoke' } });
}
const WAKE_FROM_GP_CPU_THRESHOLD = 16;

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
 * call_rcu(head, func): queue func for the grace period rcu_accelerate_cbs() assigns it (the
 * rcu_seq_snap() of rcu_state.gp_seq: a callback queued while a grace period runs waits for the
 * next one), asking for that grace period if nobody has (rcu_start_this_gp()). The callback runs
 * after it, in rcu_do_batch() from softirq/rcuo context: an agent thread bound to no CPU context.
 * Every callback whose grace period ended runs in the same batch, right after the end.
 */
export function* call_rcu(cur: Ctx, what: string, func: (cbcur: Ctx) => Proc<void>, funcName: string): Proc<void> {
  if (!cur.k.rcu_tree_gp) return yield* call_rcu_per_call(cur, what, func, funcName);
  const snap = yield* rcu_start_this_gp(cur, 'call_rcu', 'cb');
  const k = cur.k;
  const cpu = cur.cpu;
  yield* queue_callback(cur, what, funcName, () => rcu_do_batch(k, cpu, snap, func));
}

/**
 * The queuing both forms of call_rcu() share: the callback's context is an agent thread (RCU
 * softirq or an rcuo kthread) bound to no CPU context, running `body`.
 */
function* queue_callback(cur: Ctx, what: string, funcName: string, body: () => Proc<void>): Proc<void> {
  yield* spawn({ fn: 'call_rcu', desc: `call_rcu(${what}, ${funcName})` }, {
    name: `rcu callback ${funcName}`,
    cpu: cur.cpu,
    kind: 'agent',
    body,
  }, { cls: 'call_rcu' });
}

/**
 * The callback's context: wait until rcu_state.gp_seq reaches the callback's grace period, then
 * run it. A module-level generator (not a generator closure per call_rcu()): see ipi_handler() in
 * smp.ts.
 */
function* rcu_do_batch(k: Kernel, cpu: number, snap: number, func: (cbcur: Ctx) => Proc<void>): Proc<void> {
  const cbcur: Ctx = { k, cpu, comm: `rcuc/${cpu}`, mm: null, context: 'softirq' };
  yield* rcu_seq_wait(cbcur, 'rcu_do_batch', snap, 'cb', undefined);
  // The CPU notices the end at its next tick (rcu_sched_clock_irq() -> rcu_pending() ->
  // invoke_rcu_core()) and runs the batch from RCU_SOFTIRQ.
  yield* access({ fn: 'rcu_core', desc: 'notice the grace period ended: rcu_do_batch()', minWait: { cls: 'rcu_cb_invoke' } });
  yield* func(cbcur);
}

/**
 * synchronize_rcu() where the kernel has no rcu_tree_gp (the checker): might_sleep() (via
 * rcu_blocking_is_gp()), start a grace period, and sleep until it ends. Sleeping is a context
 * switch, hence a quiescent state of the caller's CPU.
 */
function* synchronize_rcu_per_call(cur: Ctx, caller: string): Proc<void> {
  yield* might_sleep(cur, 'synchronize_rcu');
  const snap = yield* rcu_gp_start(cur, 'synchronize_rcu');
  yield* rcu_note_context_switch(cur, 'synchronize_rcu');
  yield* rcu_gp_wait(cur, caller, snap, false);
}

/** call_rcu() where the kernel has no rcu_tree_gp (the checker): run `func` after a grace period of its own. */
function* call_rcu_per_call(cur: Ctx, what: string, func: (cbcur: Ctx) => Proc<void>, funcName: string): Proc<void> {
  const snap = yield* rcu_gp_start(cur, 'call_rcu');
  const k = cur.k;
  const cpu = cur.cpu;
  yield* queue_callback(cur, what, funcName, () => rcu_do_batch_per_call(k, cpu, snap, func));
}

/**
 * The callback's context: wait for the grace period, then run it. A module-level generator (not
 * a generator closure per call_rcu()): see ipi_handler() in smp.ts.
 */
function* rcu_do_batch_per_call(k: Kernel, cpu: number, snap: GpSnapshot, func: (cbcur: Ctx) => Proc<void>): Proc<void> {
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


// ---------------------------------------------------------------------------------------------
// Tree RCU grace periods (issue #12): kernel/rcu/tree.c and rcu.h of torvalds/linux at
// 00c1d298d486 (mainline, read through the source index). One normal grace period in flight at
// a time, run by the grace-period kthread; callers ask for the one rcu_seq_snap() names.

/** RCU_SEQ_CTR_SHIFT (kernel/rcu/rcu.h): the two low bits of gp_seq are the grace period's state. */
const RCU_SEQ_STATE_MASK = 3;

/** rcu_seq_snap(): the gp_seq value at which a full grace period has elapsed since now. */
export function rcu_seq_snap(s: number): number {
  return (s + 2 * RCU_SEQ_STATE_MASK + 1) & ~RCU_SEQ_STATE_MASK;
}

/** rcu_seq_endval(): gp_seq once the grace period in progress has ended. */
function rcu_seq_endval(s: number): number {
  return (s | RCU_SEQ_STATE_MASK) + 1;
}

/** The number of the grace period that gp_seq value `s` ends (or is in): its counter part. */
export function rcu_seq_ctr(s: number): number {
  return s >> 2;
}

/**
 * rcu_start_this_gp() as synchronize_rcu() and call_rcu() (rcu_accelerate_cbs()) reach it: take
 * rcu_seq_snap(rcu_state.gp_seq) and raise rcu_state.gp_seq_needed to it, so that the GP kthread
 * starts that grace period (rcu_gp_kthread_wake()). Returns the snapshot. One atomic step, as
 * under the root rcu_node's lock. The first request also starts the kthread (the kernel spawns it
 * at boot, rcu_spawn_gp_kthread(); starting it on first use keeps it out of executions that
 * never use RCU).
 */
function* rcu_start_this_gp(cur: Ctx, caller: string, kind: 'sync' | 'cb'): Proc<number> {
  const r = yield* access<{ snap: number; spawn: boolean }>({
    fn: caller,
    desc: 'rcu_seq_snap(&rcu_state.gp_seq), rcu_start_this_gp()',
    reads: GP_REQUEST_READS,
    writes: GP_REQUEST_WRITES,
    effect: ([seq, needed, kthread]) => {
      const snap = rcu_seq_snap(asNumber(seq));
      const writes: Array<[string, number | boolean]> = [];
      if (snap > asNumber(needed)) writes.push([rcuLoc.gp_seq_needed, snap]);
      if (kthread !== true) writes.push([rcuLoc.gp_kthread, true]);
      return {
        writes,
        result: { snap, spawn: kthread !== true },
        events: [{ type: 'gp_request', cpu: cur.cpu, fn: caller, kind, snap }],
        note: `needs gp_seq ${snap} (grace period ${rcu_seq_ctr(snap)})${snap > asNumber(needed) ? ', requests it' : ', already requested'}`,
      };
    },
  });
  if (r.spawn) {
    const k = cur.k;
    yield* spawn({ fn: 'rcu_spawn_gp_kthread', desc: 'start the grace-period kthread' }, { name: 'rcu_preempt', cpu: null, kind: 'agent', daemon: true, background: true, body: () => rcu_gp_kthread(k) });
  }
  return r.snap;
}
const GP_REQUEST_READS = [rcuLoc.gp_seq, rcuLoc.gp_seq_needed, rcuLoc.gp_kthread];
const GP_REQUEST_WRITES = [rcuLoc.gp_seq_needed, rcuLoc.gp_kthread];
const GP_SEQ_READS = [rcuLoc.gp_seq];
const GP_WAIT_READS = [rcuLoc.gp_seq, rcuLoc.gp_seq_needed];

/**
 * Sleep until rcu_state.gp_seq has reached `snap` (rcu_seq_done()): then null. With `seen` not
 * undefined, also wake when gp_seq differs from `seen` (null: from its value at the first check)
 * and return the value seen.
 */
function* rcu_seq_wait(cur: Ctx, caller: string, snap: number, kind: 'sync' | 'cb', seen: number | null | undefined): Proc<number | null> {
  return yield* access<number | null>({
    fn: caller,
    desc: `wait for grace period ${rcu_seq_ctr(snap)}`,
    reads: GP_SEQ_READS,
    guard: ([seq]) => asNumber(seq) >= snap || (seen !== undefined && seen !== null && asNumber(seq) !== seen) || (seen === null && asNumber(seq) % 4 !== 0),
    effect: ([seq]) => (asNumber(seq) >= snap ? { result: null, events: [{ type: 'gp_waited', cpu: cur.cpu, fn: caller, kind, snap }] } : { result: asNumber(seq) }),
  });
}

/**
 * rcu_gp_kthread(): sleep until a grace period is needed, then rcu_gp_init(), rcu_gp_fqs_loop()
 * and rcu_gp_cleanup(); again while requests are pending. A daemon: it never finishes.
 */
function* rcu_gp_kthread(k: Kernel): Proc<void> {
  const cpus = Array.from({ length: k.nr_cpus }, (_, i) => i);
  const initReads = [...cpus.map(cpuLoc.rcu), rcuLoc.gp_seq];
  for (;;) {
    // swait_event_idle_exclusive(rcu_state.gp_wq, gp_flags & RCU_GP_FLAG_INIT): the wakeup costs
    // the kthread's scheduling latency.
    yield* access({
      fn: 'rcu_gp_kthread',
      desc: 'wait for a grace-period request (RCU_GP_FLAG_INIT)',
      reads: GP_WAIT_READS,
      guard: ([seq, needed]) => asNumber(needed) > asNumber(seq),
      cost: { cls: 'rcu_gp_kthread_wake' },
    });
    const gp = yield* rcu_gp_init(cpus, initReads);
    yield* rcu_gp_fqs_loop(gp);
  }
}

interface GpState {
  /** gp_seq once the grace period started (state bits 1). */
  readonly seq: number;
  readonly id: string;
  /** CPUs inside a read-side critical section at the start, with their quiescent-state counts. */
  readonly readers: ReadonlyMap<number, number>;
}

/**
 * rcu_gp_init(): rcu_seq_start(&rcu_state.gp_seq) and note which CPUs are inside a read-side
 * critical section now: those must pass a quiescent state before the grace period can end (in
 * the kernel every CPU must report one; a CPU outside any reader at the start has nothing to wait
 * for, and when it reports shapes only the timing: see rcu_gp_fqs_loop()).
 */
function* rcu_gp_init(cpus: readonly number[], reads: readonly string[]): Proc<GpState> {
  return yield* access<GpState>({
    fn: 'rcu_gp_init',
    desc: 'rcu_seq_start(&rcu_state.gp_seq): note CPUs inside read-side critical sections',
    reads,
    writes: GP_SEQ_READS,
    effect: (vals) => {
      const readers = new Map<number, number>();
      for (const c of cpus) {
        const s = vals[c] as RcuState;
        if (s.reader) readers.set(c, s.qs);
      }
      const seq = asNumber(vals[cpus.length]) + 1;
      const id = `gp${rcu_seq_ctr(seq) + 1}`;
      const waitOn = [...readers.keys()];
      return {
        writes: [[rcuLoc.gp_seq, seq]],
        result: { seq, id, readers },
        events: [{ type: 'gp_start', cpu: -1, fn: 'rcu_gp_init', gp: id, seq, readers: waitOn }],
        note: waitOn.length ? `${id} waits for CPU${waitOn.join(', CPU')}` : `${id}: no CPU inside a reader`,
      };
    },
  });
}

/**
 * rcu_gp_fqs_loop() and rcu_gp_cleanup(): the kthread sleeps jiffies_till_first_fqs, then scans
 * (rcu_gp_fqs(): a CPU that has passed a quiescent state, or is idle or in user mode per its
 * rcu_watching counter, is reported), and while CPUs are still pending sleeps
 * jiffies_till_next_fqs and scans again. It is woken early when the last CPU reports
 * (rcu_report_qs_rsp()). When none is left, rcu_seq_end(&rcu_state.gp_seq).
 *
 * The sleep lengths are the timing layer's: the first one is the time until every CPU has
 * reported, one tick on a machine whose CPUs all take the tick (rcu_sched_clock_irq() notes the
 * quiescent state), jiffies_till_first_fqs when a CPU is in dyntick-idle and only the FQS scan
 * can report it. For the checker each scan after the first waits until a pending CPU has made
 * progress, so the loop is finite.
 */
function* rcu_gp_fqs_loop(gp: GpState): Proc<void> {
  let pending = gp.readers;
  let first = true;
  for (;;) {
    const cpus = [...pending.keys()];
    const last = yield* access<{ pending: Map<number, number>; done: boolean }>({
      fn: first ? 'rcu_gp_fqs_loop' : 'rcu_gp_fqs',
      desc: `${gp.id}: ${first ? 'first' : 'next'} force-quiescent-state scan${cpus.length ? ` of CPU${cpus.join(', CPU')}` : ''}`,
      reads: [...cpus.map(cpuLoc.rcu), rcuLoc.gp_seq],
      writes: GP_SEQ_READS,
      guard: first ? undefined : (vals) => cpus.some((c, i) => (vals[i] as RcuState).qs > (pending.get(c) as number)),
      minWait: { cls: first ? 'rcu_fqs_first' : 'rcu_fqs_next' },
      effect: (vals) => {
        const left = new Map<number, number>();
        cpus.forEach((c, i) => {
          if ((vals[i] as RcuState).qs <= (pending.get(c) as number)) left.set(c, pending.get(c) as number);
        });
        if (left.size > 0) return { result: { pending: left, done: false }, note: `still waiting for CPU${[...left.keys()].join(', CPU')}` };
        const end = rcu_seq_endval(asNumber(vals[cpus.length]));
        return {
          writes: [[rcuLoc.gp_seq, end]],
          result: { pending: left, done: true },
          events: [{ type: 'gp_end', cpu: -1, fn: 'rcu_gp_cleanup', gp: gp.id, seq: end, expedited: false }],
          note: `${gp.id} ends: rcu_seq_end(&rcu_state.gp_seq) = ${end}`,
        };
      },
    });
    if (last.done) return;
    pending = last.pending;
    first = false;
  }
}
