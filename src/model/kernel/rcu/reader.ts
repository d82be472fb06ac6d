/**
 * RCU reader state of a CPU, consolidated flavour (v4.20+): a CPU is inside a read-side critical
 * section while it has interrupts disabled, preemption disabled (including spinlocks), runs a
 * hardirq handler, or holds rcu_read_lock(). Leaving the last of these is a quiescent state, and
 * so are a context switch, idle and user mode.
 *
 * The model keeps, per CPU, one location `cpuN.rcu` = { reader, qs }: whether the CPU is inside a
 * reader (derived from the fields above, which every step that changes one keeps in step), and a
 * counter that advances at every quiescent state. A grace period is: snapshot every CPU's
 * `cpuN.rcu`, then wait until the counter has advanced on each CPU that was a reader
 * (kernel/rcu/tree.ts). This is the guarantee synchronize_rcu() gives (it waits for all
 * pre-existing readers), not RCU's implementation.
 *
 * Simplification: the model uses CONFIG_PREEMPT semantics, where preemptible kernel code outside
 * any of the sections above is quiescent. Under !PREEMPT all kernel code is a reader until it
 * schedules, which only lengthens grace periods; a strategy safe here is safe there.
 */
import { access, type Cost, type Proc, type Value } from '../../../core/index.js';
import { asBool, asNumber, cpuLoc, type RcuState } from '../../state.js';

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

/** readerLocs() per CPU, built once (every step that changes a reader field reads them). */
const READER_LOCS: Array<readonly string[]> = [];

/** The locations that decide whether CPU `c` is an RCU reader, in ReaderState order, then `cpuN.rcu`. */
export function readerLocs(c: number): readonly string[] {
  return READER_LOCS[c] ?? (READER_LOCS[c] = [cpuLoc.irqs_off(c), cpuLoc.preempt_count(c), cpuLoc.rcu_nesting(c), cpuLoc.hardirq(c), cpuLoc.rcu(c)]);
}

export function readerState(vals: readonly Value[], offset = 0): ReaderState {
  return {
    irqs_off: asBool(vals[offset]),
    preempt_count: asNumber(vals[offset + 1]),
    rcu_nesting: asNumber(vals[offset + 2]),
    hardirq: asBool(vals[offset + 3]),
    qs: (vals[offset + 4] as RcuState).qs,
  };
}

export function inReader(s: Omit<ReaderState, 'qs'>): boolean {
  return s.irqs_off || s.preempt_count > 0 || s.rcu_nesting > 0 || s.hardirq;
}

/**
 * The new `cpuN.rcu` after a change of the reader fields from `old` to `next`: leaving the last
 * read-side section is a quiescent state; `extraQs` reports one more (a context switch).
 */
export function rcuAfter(old: ReaderState, next: Omit<ReaderState, 'qs'>, extraQs = false): RcuState {
  const left = inReader(old) && !inReader(next);
  return { reader: inReader(next), qs: old.qs + (left || extraQs ? 1 : 0) };
}

/**
 * Change one field of CPU `cpu`'s reader state atomically, keeping `cpuN.rcu` in step: when the
 * CPU thereby leaves its last read-side section, that is a quiescent state. Returns the state
 * before the change.
 */
export function* readerChange<F extends ReaderField>(
  cpu: number,
  fn: string,
  desc: string,
  field: F,
  update: (old: ReaderState) => ReaderState[F],
  cost?: Cost,
): Proc<ReaderState> {
  const writes = changeWrites(field, cpu);
  return yield* access<ReaderState>({
    fn,
    desc,
    cost,
    // The interrupt flag and the preemption count are the CPU's own state, not a barrier.
    ordering: 'cpu',
    reads: readerLocs(cpu),
    writes,
    effect: (vals) => {
      const old = readerState(vals);
      const value = update(old);
      return { writes: [[writes[0] as string, value], [writes[1] as string, rcuAfter(old, withField(old, field, value))]], result: old };
    },
  });
}

/** What readerChange() writes: the field's location and `cpuN.rcu`, built once per field and CPU. */
function changeWrites(field: ReaderField, cpu: number): readonly string[] {
  const perCpu = CHANGE_WRITES[field];
  return perCpu[cpu] ?? (perCpu[cpu] = [FIELD_LOC[field](cpu), cpuLoc.rcu(cpu)]);
}
const CHANGE_WRITES: { readonly [F in ReaderField]: Array<readonly string[]> } = { irqs_off: [], preempt_count: [], rcu_nesting: [], hardirq: [] };

/** `s` with `field` set to `value` ({ ...s, [field]: value }, built with one fixed shape). */
function withField(s: ReaderState, field: ReaderField, value: ReaderState[ReaderField]): ReaderState {
  return {
    irqs_off: field === 'irqs_off' ? (value as boolean) : s.irqs_off,
    preempt_count: field === 'preempt_count' ? (value as number) : s.preempt_count,
    rcu_nesting: field === 'rcu_nesting' ? (value as number) : s.rcu_nesting,
    hardirq: field === 'hardirq' ? (value as boolean) : s.hardirq,
    qs: s.qs,
  };
}

/** A quiescent state that is not the end of a section (context switch, idle, user mode). */
export function rcuQs(v: Value | undefined): RcuState {
  const r = v as RcuState;
  return { reader: r.reader, qs: r.qs + 1 };
}
