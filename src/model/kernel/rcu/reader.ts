/**
 * RCU reader state of a CPU, consolidated flavour (v4.20+): a CPU is inside a read-side critical
 * section while it has interrupts disabled, preemption disabled (including spinlocks), runs a
 * hardirq handler, or holds rcu_read_lock(). Leaving the last of these is a quiescent state, and
 * so are a context switch, idle and user mode.
 *
 * The model keeps one counter per CPU (`cpuN.rcu_qs`) that advances at every quiescent state, so
 * a grace period is: snapshot which CPUs are inside a reader and their counters, then wait until
 * each of those counters has advanced (kernel/rcu/tree.ts). This is the guarantee
 * synchronize_rcu() gives (it waits for all pre-existing readers), not RCU's implementation.
 *
 * Simplification: the model uses CONFIG_PREEMPT semantics, where preemptible kernel code outside
 * any of the sections above is quiescent. Under !PREEMPT all kernel code is a reader until it
 * schedules, which only lengthens grace periods; a strategy safe here is safe there.
 */
import { access, type Cost, type Proc, type Value } from '../../../core/index.js';
import { asBool, asNumber, cpuLoc } from '../../state.js';

export interface ReaderState {
  readonly irqs_off: boolean;
  readonly preempt_count: number;
  readonly rcu_nesting: number;
  readonly hardirq: boolean;
  readonly qs: number;
}

type ReaderField = 'irqs_off' | 'preempt_count' | 'rcu_nesting' | 'hardirq';

const FIELD_LOC: { readonly [F in ReaderField]: (c: number) => string } = {
  irqs_off: cpuLoc.irqs_off,
  preempt_count: cpuLoc.preempt_count,
  rcu_nesting: cpuLoc.rcu_nesting,
  hardirq: cpuLoc.hardirq,
};

/** The locations that decide whether CPU `c` is an RCU reader, in ReaderState order. */
export function readerLocs(c: number): string[] {
  return [cpuLoc.irqs_off(c), cpuLoc.preempt_count(c), cpuLoc.rcu_nesting(c), cpuLoc.hardirq(c), cpuLoc.rcu_qs(c)];
}

export function readerState(vals: readonly Value[], offset = 0): ReaderState {
  return {
    irqs_off: asBool(vals[offset]),
    preempt_count: asNumber(vals[offset + 1]),
    rcu_nesting: asNumber(vals[offset + 2]),
    hardirq: asBool(vals[offset + 3]),
    qs: asNumber(vals[offset + 4]),
  };
}

export function inReader(s: ReaderState): boolean {
  return s.irqs_off || s.preempt_count > 0 || s.rcu_nesting > 0 || s.hardirq;
}

/**
 * Change one field of CPU `cpu`'s reader state atomically; when the CPU thereby leaves its last
 * read-side section, report a quiescent state (rcu_qs++). Returns the state before the change.
 */
export function* readerChange<F extends ReaderField>(
  cpu: number,
  fn: string,
  desc: string,
  field: F,
  update: (old: ReaderState) => ReaderState[F],
  cost?: Cost,
): Proc<ReaderState> {
  const loc = FIELD_LOC[field](cpu);
  return yield* access<ReaderState>({
    fn,
    desc,
    cost,
    reads: readerLocs(cpu),
    writes: [loc, cpuLoc.rcu_qs(cpu)],
    effect: (vals) => {
      const old = readerState(vals);
      const value = update(old);
      const next: ReaderState = { ...old, [field]: value };
      const writes: Array<[string, Value]> = [[loc, value]];
      if (inReader(old) && !inReader(next)) writes.push([cpuLoc.rcu_qs(cpu), old.qs + 1]);
      return { writes, result: old };
    },
  });
}
