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
import { access, accessOp, internByIndex, spawnOp, type Proc } from '../../core/index.js';
import { cpu_online_mask, cpu_online_set, type Ctx, type Kernel } from '../kernel.js';
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

// Names and footprints of the IPI path, built once per CPU (internByIndex) or per (source,
// target) pair: a broadcast on 1024 CPUs runs this path a thousand times, and building the same
// strings and arrays at every step was a good part of the simulator's time and garbage. The
// values are the ones the code below built inline before, so traces and the checker see the same
// steps.

/**
 * A (source, target) cache. All-to-all IPIs on a large machine would make it a million entries,
 * so past PAIR_CACHE_LIMIT entries in all the pair caches it stops caching and builds each name.
 */
const PAIR_CACHE_LIMIT = 1 << 16;
let pairCached = 0;
function perPairOnce(build: (src: number, dst: number) => string): (src: number, dst: number) => string {
  const rows: string[][] = [];
  return (src, dst) => {
    const row = rows[src] ?? (rows[src] = []);
    let v = row[dst];
    if (v === undefined) {
      v = build(src, dst);
      if (pairCached < PAIR_CACHE_LIMIT) {
        row[dst] = v;
        pairCached++;
      }
    }
    return v;
  };
}
/** perPairOnce() per IPI function name. */
function perFuncPairOnce(build: (func: string, src: number, dst: number) => string): (func: string, src: number, dst: number) => string {
  const byFunc = new Map<string, (src: number, dst: number) => string>();
  return (func, src, dst) => {
    let f = byFunc.get(func);
    if (!f) byFunc.set(func, (f = perPairOnce((a, b) => build(func, a, b))));
    return f(src, dst);
  };
}

const IRQ_ENTRY_COST = { cls: 'irq_entry' } as const;
const IRQ_EXIT_COST = { cls: 'irq_exit' } as const;
const IPI_SEND_COST = { cls: 'ipi_send' } as const;
const IPI_WAIT_COST = { cls: 'ipi_wait' } as const;
const NO_LOCS: readonly string[] = [];
const rcuReads = internByIndex((c) => [cpuLoc.rcu(c)]);
/** What irq_enter() and irq_exit() write: the interrupt flag, hardirq and the RCU state. */
const irqWrites = internByIndex((c) => [cpuLoc.irqs_off(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)]);
const irqComm = internByIndex((c) => `irq/${c}`);
const ipiFromDesc = internByIndex((src) => ({
  TLB: `TLB shootdown IPI from CPU${src}`,
  CAL: `function call IPI from CPU${src}`,
}));
const csdLockDesc = perPairOnce((src, dst) => `csd_lock(CPU${src}->CPU${dst})`);
const csdUnlockDesc = perPairOnce((src, dst) => `csd_unlock(CPU${src}->CPU${dst})`);
/** [csdLoc(src, dst)], kept per pair up to the same limit as the pair names above. */
const csdLockArrays: Array<Array<readonly string[]>> = [];
function csdLocks(src: number, dst: number): readonly string[] {
  const row = csdLockArrays[src] ?? (csdLockArrays[src] = []);
  let a = row[dst];
  if (a === undefined) {
    a = [csdLoc(src, dst)];
    if (pairCached < PAIR_CACHE_LIMIT) {
      row[dst] = a;
      pairCached++;
    }
  }
  return a;
}
const ipiThreadName = perFuncPairOnce((func, src, dst) => `IPI ${func} CPU${src}->CPU${dst}`);
const ipiSendDesc = perFuncPairOnce((func, _src, dst) => `send IPI to CPU${dst} (${func})`);

/**
 * irq_enter() .. irq_exit() around an interrupt handler (kernel/softirq.c): the CPU is in hardirq
 * context with interrupts disabled; leaving it may be a quiescent state.
 */
export function* handle_irq(cur: Ctx, func: smp_call_func_t, src: number, body: () => Proc<void>): Proc<void> {
  const c = cur.cpu;
  const writes = irqWrites(c);
  // accessOp() and spawnOp(): the ops access() and spawn() yield, without a generator per step
  // (this path runs about nine steps per IPI target).
  yield accessOp({
    fn: 'irq_enter',
    desc: ipiFromDesc(src)[func.irq],
    cost: IRQ_ENTRY_COST,
    reads: rcuReads(c),
    writes,
    effect: ([rcu]) => ({
      writes: [[writes[0] as string, true], [writes[1] as string, true], [writes[2] as string, { reader: true, qs: (rcu as RcuState).qs }]],
      events: [{ type: 'ipi_received', cpu: c, src, func: func.name, irq: func.irq }],
    }),
  });
  yield* body();
  yield accessOp({
    fn: 'irq_exit',
    desc: 'irq_exit()',
    cost: IRQ_EXIT_COST,
    reads: readerLocs(c),
    writes,
    effect: (vals) => {
      const s = readerState(vals);
      // Interrupts come back on at iret; the interrupted context had them on.
      const after = { irqs_off: false, preempt_count: s.preempt_count, rcu_nesting: s.rcu_nesting, hardirq: false };
      return { writes: [[writes[0] as string, false], [writes[1] as string, false], [writes[2] as string, rcuAfter(s, after)]] };
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
  yield spawnOp({ fn: 'smp_call_function_many_cond', desc: ipiSendDesc(func.name, src, target) }, {
    name: ipiThreadName(func.name, src, target),
    cpu: target,
    kind: 'irq',
    body: () => ipi_handler(k, src, target, func, wait),
  }, IPI_SEND_COST);
}

/*
 * The handler's generators are module-level functions called from arrow closures, not generator
 * closures created per IPI: V8 gives every generator function object its own prototype and
 * object map, so a fresh `function* () {}` per IPI made each handler's generators a new map (a
 * runtime call to create them, and megamorphic inline-cache misses on their next()).
 */
function* ipi_handler(k: Kernel, src: number, target: number, func: smp_call_func_t, wait: boolean): Proc<void> {
  const tcur: Ctx = { k, cpu: target, comm: irqComm(target), mm: null, context: 'hardirq' };
  yield* handle_irq(tcur, func, src, () => generic_smp_call_function_single_interrupt(tcur, src, func, wait));
}

function* generic_smp_call_function_single_interrupt(tcur: Ctx, src: number, func: smp_call_func_t, wait: boolean): Proc<void> {
  if (!wait) yield* csd_unlock(tcur, src);
  yield* func.run(tcur);
  if (wait) yield* csd_unlock(tcur, src);
}

/** csd_lock(): wait for the previous call to that target to complete, then take the csd. */
function* csd_lock(cur: Ctx, target: number, func: smp_call_func_t): Proc<void> {
  const locs = csdLocks(cur.cpu, target);
  yield accessOp({
    fn: 'csd_lock',
    desc: csdLockDesc(cur.cpu, target),
    reads: locs,
    writes: locs,
    guard: csdFree,
    effect: () => ({ writes: [[locs[0] as string, func.name]] }),
  });
}

/** The guard of csd_lock() and csd_lock_wait(): the csd is not locked. */
const csdFree = ([locked]: readonly unknown[]): boolean => locked === null;

/** csd_unlock(), on the target after func ran. */
export function* csd_unlock(cur: Ctx, src: number): Proc<void> {
  const locs = csdLocks(src, cur.cpu);
  yield accessOp({
    fn: 'csd_unlock',
    desc: csdUnlockDesc(src, cur.cpu),
    reads: NO_LOCS,
    writes: locs,
    effect: () => ({ writes: [[locs[0] as string, null]] }),
  });
}

/**
 * The online CPUs of `mask` other than `self`, and the text of CPU lists, built once per mask
 * array: a broadcast on 1024 CPUs named its mask and its targets in two 4,000-character strings
 * at every call. Masks are immutable values (the cached cpu_online_mask(), or an mm_cpumask read
 * from the store), so an array's text and remote CPUs never change.
 */
const REMOTE = new WeakMap<Kernel, WeakMap<readonly number[], Array<readonly number[]>>>();
function remoteCpus(k: Kernel, mask: readonly number[], self: number): readonly number[] {
  let byMask = REMOTE.get(k);
  if (!byMask) REMOTE.set(k, (byMask = new WeakMap()));
  let bySelf = byMask.get(mask);
  if (!bySelf) byMask.set(mask, (bySelf = []));
  let r = bySelf[self];
  if (!r) {
    const online = cpu_online_set(k);
    bySelf[self] = r = mask.filter((c) => c !== self && online.has(c));
  }
  return r;
}
const JOINED = new WeakMap<readonly number[], string>();
function joined(cpus: readonly number[]): string {
  let t = JOINED.get(cpus);
  if (t === undefined) JOINED.set(cpus, (t = cpus.join(',')));
  return t;
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

  const remote = remoteCpus(cur.k, mask, self);
  const condCpus = cond ? [...remote, ...(run_local && mask.includes(self) ? [self] : [])] : [];
  const condReads = cond ? condCpus.flatMap((c) => cond.reads(c)) : [];

  // lockdep_assert_irqs_enabled(); WARN_ON_ONCE(!in_task()); then evaluate cond_func per CPU.
  const verdict = yield* access<{ targets: number[]; local: boolean }>({
    fn: 'smp_call_function_many_cond',
    desc: `${caller}: ${func.name} on CPUs [${joined(mask)}]${wait ? ', wait' : ''}`,
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
        // Without a cond_func the targets are the remote CPUs: their list's text is cached.
        note: `targets [${cond ? targets.join(',') : joined(remote)}]`,
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
  yield accessOp({
    fn: 'csd_lock_wait',
    desc: csdWaitDesc(target),
    reads: csdLocks(cur.cpu, target),
    guard: csdFree,
    cost: IPI_WAIT_COST,
  });
}
const csdWaitDesc = internByIndex((target) => `wait for CPU${target} to run the IPI`);

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
