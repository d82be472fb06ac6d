/**
 * Small concurrent programs as plain data (JSON-able), for differential testing of the checker:
 * threads, each a list of op descriptors, and properties. A spec is what fast-check generates and
 * shrinks (random-programs.ts) and what a regression test commits as a literal; toProgram()
 * (program-interpreter.ts) turns it into a Program over the core op protocol.
 *
 * Every thread has one local register `r` (initially 0). The ops that return something set it:
 * a read (the value read), a cas (1 on success, 0 on failure), a fetch_add (the old value), a
 * choose (the option's index), a copy (the value read). An op with `when: k` runs only if `r`
 * is k at that point: that is how a thread branches on what it read, on a cas or on a choice.
 */
import type { Value } from '../../src/core/index.js';

/** Shared data locations, all numbers initially 0. */
export const DATA_LOCS = ['x', 'y', 'z'] as const;
export type DataLoc = (typeof DATA_LOCS)[number];
/** Spinlock-like mutexes: null when free, else the owner's thread name. */
export const MUTEXES = ['m', 'n'] as const;
export type Mutex = (typeof MUTEXES)[number];
/** The rwsem-like reader/writer lock: { writer: owner | null, readers: count }. */
export const RWSEM = 'rw';
/** Tags of the domain events (`mark`) that ops emit for the event properties. */
export const TAGS = ['A', 'B'] as const;
export type Tag = (typeof TAGS)[number];

/** An op that may emit a `mark` event (see MarkEvent). */
interface Markable {
  readonly mark?: Tag;
}

export type OpSpec = (
  /** r = loc (a READ_ONCE under TSO with ord 'load'). */
  | ({ readonly op: 'read'; readonly loc: DataLoc; readonly ord?: 'load' } & Markable)
  /** loc = val, where 'r+1' is the register plus one (a WRITE_ONCE under TSO with ord 'store'). */
  | ({ readonly op: 'write'; readonly loc: DataLoc; readonly val: number | 'r+1'; readonly ord?: 'store' } & Markable)
  /** Atomically: r = from; to = r + add (a write whose value depends on the read, in one step). */
  | ({ readonly op: 'copy'; readonly from: DataLoc; readonly to: DataLoc; readonly add: number } & Markable)
  /** Compare-and-swap: if loc == expect then loc = set, r = 1, else r = 0 (and no write). */
  | ({ readonly op: 'cas'; readonly loc: DataLoc; readonly expect: number; readonly set: number } & Markable)
  /** A plain read-modify-write that returns the old value (atomic_fetch_add): r = loc; loc += n. */
  | ({ readonly op: 'fetch_add'; readonly loc: DataLoc; readonly n: number } & Markable)
  /** A commuting update (AccessOp.commutes 'add', like folio_ref_add()): loc += n, no result. */
  | { readonly op: 'add'; readonly loc: DataLoc; readonly n: number }
  /** A commuting update with another tag ('or'): loc |= bits, no result. */
  | { readonly op: 'or'; readonly loc: DataLoc; readonly bits: number }
  /** spin_lock(): wait until the mutex is free, then own it. */
  | ({ readonly op: 'lock'; readonly m: Mutex } & Markable)
  /** spin_unlock(): free the mutex (whoever holds it). */
  | ({ readonly op: 'unlock'; readonly m: Mutex } & Markable)
  /** down_read(): wait while a writer holds the rwsem, then one more reader. */
  | { readonly op: 'down_read' }
  /** up_read(): one reader fewer. */
  | { readonly op: 'up_read' }
  /** down_write(): wait until there is neither writer nor reader, then own it. */
  | { readonly op: 'down_write' }
  /** up_write(): release it. */
  | { readonly op: 'up_write' }
  /**
   * Wait until the sum of `locs` is (cmp 'eq') or is at least (cmp 'ge') n; with `set`, write
   * set.loc = set.val in the same step.
   */
  | ({ readonly op: 'wait'; readonly locs: readonly DataLoc[]; readonly cmp: 'eq' | 'ge'; readonly n: number; readonly set?: { readonly loc: DataLoc; readonly val: number } } & Markable)
  /** A nondeterministic choice among n options: r = the option's index. */
  | { readonly op: 'choose'; readonly n: 2 | 3 }
  /** Create a thread. */
  | { readonly op: 'spawn'; readonly thread: ThreadData }
  /** local_irq_disable()/local_irq_enable() of a CPU: write cpuN.irqs_off (ordering 'cpu'). */
  | { readonly op: 'irqs'; readonly cpu: number; readonly off: boolean }
  /** The host stops (or resumes) a vCPU: write cpuN.stopped (the CPU becomes stoppable). */
  | { readonly op: 'stop'; readonly cpu: number; readonly stopped: boolean }
  /** smp_mb(): a full barrier with no footprint (under TSO it waits for the store buffer). */
  | { readonly op: 'mb' }
) & {
  /** Run the op only if the register holds this value. */
  readonly when?: number;
};

export type OpKind = OpSpec['op'];

export const OP_KINDS: readonly OpKind[] = [
  'read', 'write', 'copy', 'cas', 'fetch_add', 'add', 'or', 'lock', 'unlock',
  'down_read', 'up_read', 'down_write', 'up_write', 'wait', 'choose', 'spawn', 'irqs', 'stop', 'mb',
];

/**
 * A thread: an agent (on no CPU, or bound to one so that stopping it stops the agent), a task on
 * a CPU, or an interrupt handler on a CPU.
 */
export type ThreadData =
  | { readonly kind: 'agent'; readonly cpu: number | null; readonly ops: readonly OpSpec[] }
  | { readonly kind: 'task'; readonly cpu: number; readonly ops: readonly OpSpec[] }
  | { readonly kind: 'irq'; readonly cpu: number; readonly ops: readonly OpSpec[] };

/**
 * A property, as data. Each is chosen so that its verdict is the same on every execution of a
 * Mazurkiewicz trace (what a reduction may rely on):
 *  - 'final': violated when the execution ends (finished or deadlocked) with the sum of `locs`
 *    equal to `sum`;
 *  - 'event' (stateless): violated by a mark with this tag (and value, if given); a mark's value
 *    follows from the values its step read;
 *  - 'order' (stateful): violated when, on one location, a mark `then` that wrote it follows a
 *    mark `first` that wrote it (writes of one location are ordered in every trace);
 *  - 'count' (stateful): violated by the `atLeast`-th mark with this tag.
 */
export type PropertyData =
  | { readonly kind: 'final'; readonly locs: readonly DataLoc[]; readonly sum: number }
  | { readonly kind: 'event'; readonly tag: Tag; readonly value?: number }
  | { readonly kind: 'order'; readonly first: Tag; readonly then: Tag }
  | { readonly kind: 'count'; readonly tag: Tag; readonly atLeast: number };

export interface ProgramSpec {
  /** Sequential consistency when absent. */
  readonly memoryModel?: 'tso';
  readonly threads: readonly ThreadData[];
  readonly properties: readonly PropertyData[];
}

/** The domain event a marked op emits. */
export interface MarkEvent {
  readonly [key: string]: Value;
  readonly type: 'mark';
  readonly tag: Tag;
  readonly loc: string;
  /** The value the step wrote there, or read there when it wrote nothing (a read, a failed cas). */
  readonly value: number | string | null;
  /** The step wrote `loc` in memory (not a read, a failed cas, or a store into a store buffer). */
  readonly write: boolean;
}

/** Every op of a thread, those of the threads it spawns included, depth first. */
export function* allOps(ops: readonly OpSpec[]): Generator<OpSpec> {
  for (const op of ops) {
    yield op;
    if (op.op === 'spawn') yield* allOps(op.thread.ops);
  }
}

/** Every op of a program. */
export function* programOps(spec: ProgramSpec): Generator<OpSpec> {
  for (const t of spec.threads) yield* allOps(t.ops);
}

/** Every thread of a program, spawned ones included (each spawn op once). */
export function* programThreads(spec: ProgramSpec): Generator<ThreadData> {
  function* walk(t: ThreadData): Generator<ThreadData> {
    yield t;
    for (const op of t.ops) if (op.op === 'spawn') yield* walk(op.thread);
  }
  for (const t of spec.threads) yield* walk(t);
}

/** Does the program block in any way: a guard, an interrupt, a stopped CPU, a TSO barrier? */
export function mayBlock(spec: ProgramSpec): boolean {
  if (spec.memoryModel === 'tso') return true;
  for (const t of programThreads(spec)) if (t.kind === 'irq') return true;
  for (const op of programOps(spec)) {
    if (['lock', 'down_read', 'down_write', 'wait', 'irqs', 'stop'].includes(op.op)) return true;
  }
  return false;
}
