/**
 * kernel/smp.c: cross-CPU function calls, the mechanism behind every IPI in this model
 * (tlb_remove_table_sync_one(), x86 TLB-flush IPIs, expedited RCU).
 *
 * smp_call_function_many_cond(mask, func, info, scf_flags, cond_func), called with preemption
 * disabled by its callers (smp_call_function(), on_each_cpu_cond_mask(), ...) for the whole call,
 * waiting included (it asserts lockdep_assert_preemption_disabled()):
 *   assert IRQs enabled and task context;
 *   for each online CPU in mask other than self (filtered by cond_func):
 *       csd_lock(csd) -- wait until this CPU's previous call to that target completed --
 *       queue func on the target and send the IPI;
 *   if SCF_RUN_LOCAL and self in mask: run func here with IRQs disabled;
 *   if SCF_WAIT: csd_lock_wait() on every target -- spin until each has run func.
 * So a CPU waiting for its IPIs is an RCU reader (preemption disabled) but takes interrupts.
 *
 * The target runs func from its IPI handler, i.e. only once it has interrupts enabled. That is
 * the whole synchronisation of the "sync IPI": the sender waits for the end of every IRQ-disabled
 * region that was in progress on the targets.
 */
import { access, spawn, type Proc } from '../../core/index.js';
import { cpu_online_mask, type Ctx } from '../kernel.js';
import { asBool, cpuLoc, csdLoc, type RcuState } from '../state.js';
import { local_irq_restore, local_irq_save } from '../include/linux/irqflags.js';
import { preempt_disable, preempt_enable } from './sched.js';
import { rcuAfter, readerLocs, readerState } from './rcu/reader.js';

/** An IPI handler body: runs on the target CPU in hardirq context. */
export interface smp_call_func_t {
  /** Kernel name of the function, e.g. `flush_tlb_func`, `tlb_remove_table_smp_sync`. */
  readonly name: string;
  /** IPI kind for /proc/interrupts-style accounting: CAL (function call) or TLB (shootdown). */
  readonly irq: 'CAL' | 'TLB';
  run(cur: Ctx): Proc<void>;
}

/** A cond_func of on_each_cpu_cond_mask(): evaluated by the sender over remote per-CPU state. */
export interface smp_cond_func_t {
  readonly name: string;
  /** The per-CPU locations it reads for `cpu`. */
  reads(cpu: number): readonly string[];
  test(cpu: number, vals: readonly unknown[]): boolean;
}

export const SCF_WAIT = 1;
export const SCF_RUN_LOCAL = 2;

/**
 * irq_enter() .. irq_exit() around an interrupt handler (kernel/softirq.c): the CPU is in hardirq
 * context with interrupts disabled; leaving it may be a quiescent state.
 */
export function* handle_irq(cur: Ctx, func: smp_call_func_t, src: number, body: () => Proc<void>): Proc<void> {
  const c = cur.cpu;
  yield* access({
    fn: 'irq_enter',
    desc: `${func.irq === 'TLB' ? 'TLB shootdown' : 'function call'} IPI from CPU${src}`,
    cost: { cls: 'irq_entry' },
    reads: [cpuLoc.rcu(c)],
    writes: [cpuLoc.irqs_off(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)],
    effect: ([rcu]) => ({
      writes: [[cpuLoc.irqs_off(c), true], [cpuLoc.hardirq(c), true], [cpuLoc.rcu(c), { reader: true, qs: (rcu as RcuState).qs }]],
      events: [{ type: 'ipi_received', cpu: c, src, func: func.name, irq: func.irq }],
    }),
  });
  yield* body();
  yield* access({
    fn: 'irq_exit',
    desc: 'irq_exit()',
    cost: { cls: 'irq_exit' },
    reads: readerLocs(c),
    writes: [cpuLoc.irqs_off(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)],
    effect: (vals) => {
      const s = readerState(vals);
      // Interrupts come back on at iret; the interrupted context had them on.
      const after = { ...s, irqs_off: false, hardirq: false };
      return { writes: [[cpuLoc.irqs_off(c), false], [cpuLoc.hardirq(c), false], [cpuLoc.rcu(c), rcuAfter(s, after)]] };
    },
  });
}

/**
 * __smp_call_single_queue() and the IPI. The target's handler is
 * generic_smp_call_function_single_interrupt(): for a synchronous call it runs func and then
 * releases the csd (the sender's csd_lock_wait() returns); for an asynchronous one it releases
 * the csd first.
 */
function* queue_and_send(cur: Ctx, target: number, func: smp_call_func_t, wait: boolean): Proc<void> {
  const src = cur.cpu;
  const k = cur.k;
  yield* spawn({ fn: 'smp_call_function_many_cond', desc: `send IPI to CPU${target} (${func.name})` }, {
    name: `IPI ${func.name} CPU${src}->CPU${target}`,
    cpu: target,
    kind: 'irq',
    body: function* () {
      const tcur: Ctx = { k, cpu: target, comm: `irq/${target}`, mm: null, context: 'hardirq' };
      yield* handle_irq(tcur, func, src, function* () {
        if (!wait) yield* csd_unlock(tcur, src);
        yield* func.run(tcur);
        if (wait) yield* csd_unlock(tcur, src);
      });
    },
  }, { cls: 'ipi_send' });
}

/** csd_lock(): wait for the previous call to that target to complete, then take the csd. */
function* csd_lock(cur: Ctx, target: number, func: smp_call_func_t): Proc<void> {
  const loc = csdLoc(cur.cpu, target);
  yield* access({
    fn: 'csd_lock',
    desc: `csd_lock(CPU${cur.cpu}->CPU${target})`,
    reads: [loc],
    writes: [loc],
    guard: ([locked]) => locked === null,
    effect: () => ({ writes: [[loc, func.name]] }),
  });
}

/** csd_unlock(), on the target after func ran. */
export function* csd_unlock(cur: Ctx, src: number): Proc<void> {
  const loc = csdLoc(src, cur.cpu);
  yield* access({
    fn: 'csd_unlock',
    desc: `csd_unlock(CPU${src}->CPU${cur.cpu})`,
    reads: [],
    writes: [loc],
    effect: () => ({ writes: [[loc, null]] }),
  });
}

/**
 * smp_call_function_many_cond(). Returns the targets that were sent an IPI.
 * `cond` filters the remote targets (and the local CPU when SCF_RUN_LOCAL).
 */
export function* smp_call_function_many_cond(
  cur: Ctx,
  caller: string,
  mask: readonly number[],
  func: smp_call_func_t,
  scf_flags: number,
  cond: smp_cond_func_t | null,
): Proc<number[]> {
  const self = cur.cpu;
  const wait = (scf_flags & SCF_WAIT) !== 0;
  const run_local = (scf_flags & SCF_RUN_LOCAL) !== 0;

  const online = new Set(cpu_online_mask(cur.k));
  const remote = mask.filter((c) => c !== self && online.has(c));
  const condCpus = cond ? [...remote, ...(run_local && mask.includes(self) ? [self] : [])] : [];
  const condReads = cond ? condCpus.flatMap((c) => cond.reads(c)) : [];

  // lockdep_assert_irqs_enabled(); WARN_ON_ONCE(!in_task()); then evaluate cond_func per CPU.
  const verdict = yield* access<{ targets: number[]; local: boolean }>({
    fn: 'smp_call_function_many_cond',
    desc: `${caller}: ${func.name} on CPUs [${mask.join(',')}]${wait ? ', wait' : ''}`,
    cost: { cls: 'ipi_send_base' },
    reads: [cpuLoc.irqs_off(self), cpuLoc.hardirq(self), ...condReads],
    effect: (vals) => {
      const irqsOff = asBool(vals[0]);
      const hardirq = asBool(vals[1]);
      const pass = new Map<number, boolean>();
      if (cond) {
        let off = 2;
        for (const c of condCpus) {
          const n = cond.reads(c).length;
          pass.set(c, cond.test(c, vals.slice(off, off + n)));
          off += n;
        }
      }
      const ok = (c: number): boolean => (cond ? pass.get(c) === true : true);
      const targets = remote.filter(ok);
      return {
        result: { targets, local: run_local && mask.includes(self) && ok(self) },
        events: [{
          type: 'smp_call',
          cpu: self,
          fn: caller,
          func: func.name,
          wait,
          irqs_off: irqsOff,
          in_task: !hardirq && cur.context === 'task',
          targets,
        }],
        note: `targets [${targets.join(',')}]`,
      };
    },
  });

  for (const t of verdict.targets) {
    yield* csd_lock(cur, t, func);
    yield* queue_and_send(cur, t, func, wait);
  }
  if (verdict.local) {
    const flags = yield* local_irq_save(cur, caller);
    yield* func.run(cur);
    yield* local_irq_restore(cur, caller, flags);
  }
  if (wait) {
    for (const t of verdict.targets) yield* csd_lock_wait(cur, t);
  }
  return verdict.targets;
}

/** preempt_disable(); body; preempt_enable(): how every caller wraps smp_call_function_many_cond(). */
function* preempt_disabled<R>(cur: Ctx, caller: string, body: () => Proc<R>): Proc<R> {
  yield* preempt_disable(cur, caller);
  const r = yield* body();
  yield* preempt_enable(cur, caller);
  return r;
}

/** csd_lock_wait(): spin until the target has run func and released the csd. */
function* csd_lock_wait(cur: Ctx, target: number): Proc<void> {
  const loc = csdLoc(cur.cpu, target);
  yield* access({
    fn: 'csd_lock_wait',
    desc: `wait for CPU${target} to run the IPI`,
    reads: [loc],
    guard: ([locked]) => locked === null,
    cost: { cls: 'ipi_wait' },
  });
}

/** smp_call_function(func, info, wait): every other online CPU. */
export function* smp_call_function(cur: Ctx, caller: string, func: smp_call_func_t, wait: boolean): Proc<number[]> {
  return yield* preempt_disabled(cur, caller, () => smp_call_function_many_cond(cur, caller, cpu_online_mask(cur.k), func, wait ? SCF_WAIT : 0, null));
}

/** smp_call_function_many(mask, func, info, true): the CPUs in mask, except the local one, and wait. */
export function* smp_call_function_many_wait(cur: Ctx, caller: string, mask: readonly number[], func: smp_call_func_t): Proc<number[]> {
  return yield* preempt_disabled(cur, caller, () => smp_call_function_many_cond(cur, caller, mask, func, SCF_WAIT, null));
}

/** on_each_cpu_mask(mask, func, info, wait): the CPUs in mask, the local one included. */
export function* on_each_cpu_mask(cur: Ctx, caller: string, mask: readonly number[], func: smp_call_func_t, wait: boolean): Proc<number[]> {
  return yield* preempt_disabled(cur, caller, () => smp_call_function_many_cond(cur, caller, mask, func, SCF_RUN_LOCAL | (wait ? SCF_WAIT : 0), null));
}

/** on_each_cpu_cond_mask(cond, func, info, wait, mask) */
export function* on_each_cpu_cond_mask(cur: Ctx, caller: string, cond: smp_cond_func_t, func: smp_call_func_t, wait: boolean, mask: readonly number[]): Proc<number[]> {
  return yield* preempt_disabled(cur, caller, () => smp_call_function_many_cond(cur, caller, mask, func, SCF_RUN_LOCAL | (wait ? SCF_WAIT : 0), cond));
}

/** smp_call_function_single(cpu, func, info, wait) */
export function* smp_call_function_single(cur: Ctx, caller: string, cpu: number, func: smp_call_func_t, wait: boolean): Proc<void> {
  if (cpu === cur.cpu) {
    const flags = yield* local_irq_save(cur, caller);
    yield* func.run(cur);
    yield* local_irq_restore(cur, caller, flags);
    return;
  }
  yield* preempt_disabled(cur, caller, () => smp_call_function_many_cond(cur, caller, [cpu], func, wait ? SCF_WAIT : 0, null));
}
