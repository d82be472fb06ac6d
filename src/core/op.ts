/**
 * The op protocol: what a process may ask the machine to do in one atomic step.
 *
 * A process is a generator that yields ops. Each yield is one scheduling point; the engine that
 * drives the process decides when the op is performed and sends the op's result back into the
 * generator. Code between two yields must only touch process-local data: every access to shared
 * state goes through an op, so the op's footprint is the complete set of shared locations the
 * step can observe or change. That is what lets the checker decide which steps commute, and what
 * lets the simulator wake a blocked process when one of the locations it waits on is written.
 *
 * Three kinds of op are enough:
 *
 *  - `access`: a guarded atomic action on the shared store. It names the locations it reads and
 *    the locations it may write. If it has a guard, the step is enabled only while the guard holds
 *    (this is how waiting is expressed: IPI acknowledgements, grace periods, locks). Its effect
 *    receives the values read and returns the values written, a result for the process, and
 *    domain events for the property monitors.
 *  - `choose`: a nondeterministic choice among named outcomes (an allocation fails or not, the
 *    host preempts a vCPU or not). The checker branches on it; the simulator draws it.
 *  - `spawn`: create a new thread, e.g. an interrupt handler on another CPU or a deferred callback.
 *
 * Ops carry a cost class so the simulator can give them a duration; the checker ignores it.
 * No op reads a clock or a random source: time and chance belong to the engines.
 *
 * An op is fixed once yielded: its footprint, description and guard must not depend on process
 * state that the code after the yield changes. The checker keeps a yielded op across a rollback
 * (to decide enabledness without re-running the process) and checks, when the process is re-run,
 * that it yields the same op (Execution.rollback()). A body must also yield the same ops when re-run
 * with the same results (deterministic, no state shared between runs), and an effect's writes,
 * result and events must follow from the values it reads and the process's own state: after a
 * rollback, a step retaken on equal values is replayed from its record instead of re-run. An
 * effect must also change nothing itself (it returns what the step does): the checker runs it on
 * the values of a state the step has not run in, to learn what the step would write there
 * (Execution.writesIn()).
 */
import type { DomainEvent, Loc, Value } from './value.js';

/** A cost class, looked up in the simulator's machine profile (e.g. `ipi_send`, `tlb_flush_local`). */
export interface Cost {
  readonly cls: string;
  /** Multiplier, e.g. the number of IPI targets or pages; 1 when absent. */
  readonly n?: number;
}

/** Where an op comes from, for traces: the kernel (or hardware) function and a short description. */
export interface Site {
  readonly fn: string;
  readonly desc: string;
}

export interface Effect {
  /** Values written, by location. Every location must be among the op's declared `writes`. */
  readonly writes?: ReadonlyArray<readonly [Loc, Value]>;
  /** What the process receives back from `yield`. */
  readonly result?: unknown;
  /** Events for the property monitors, attached to this step. */
  readonly events?: readonly DomainEvent[];
  /** Extra detail for the trace, e.g. what a read returned. */
  readonly note?: string;
}

export interface AccessOp extends Site {
  readonly kind: 'access';
  /** Locations read; their values are passed to `guard` and `effect` in this order. */
  readonly reads: readonly Loc[];
  /** Locations the effect may write. A write outside this list is a model bug and throws. */
  readonly writes: readonly Loc[];
  /** Blocking condition: the step is enabled only while it returns true. */
  readonly guard?: (vals: readonly Value[]) => boolean;
  readonly effect?: (vals: readonly Value[]) => Effect | void;
  /**
   * Memory ordering under x86-TSO (ignored under sequential consistency):
   *  - 'full' (the default): a locked instruction, xchg or smp_mb(): the CPU's store buffer drains
   *    first, then the step runs atomically on memory;
   *  - 'store': a plain store (WRITE_ONCE): its writes go to the CPU's store buffer, to reach
   *    memory later, in order;
   *  - 'load': a plain load (READ_ONCE): it reads memory, or the CPU's own buffered store to the
   *    same location, and drains nothing;
   *  - 'cpu': a change of the CPU's own state that is not a memory access (interrupt flag,
   *    preemption count as the model's RCU sees it): it neither waits for nor enters the buffer.
   */
  readonly ordering?: 'full' | 'store' | 'load' | 'cpu';
  /**
   * Commutativity tag (the checker's partial-order reduction): the access is a read-modify-write
   * of its declared `writes` that commutes with every other access carrying the same tag on the
   * same locations, and whose result and guard do not depend on what such accesses change (e.g.
   * `folio_ref_add()`s: two of them in either order leave the same count). The checker then does
   * not treat two such accesses as racing on those locations. Any other access still races.
   * Such an access must write every location it declares on every path, even an unchanged value
   * (a max that skips the write when the value is already higher breaks the equivalence the
   * reduction relies on: optimal and source-set DPOR then disagree).
   */
  readonly commutes?: string;
  readonly cost?: Cost;
  /**
   * A lower bound, in simulated time, on how long after the thread's previous step this step can
   * happen (a grace period, a vCPU's time off the CPU). The checker ignores it.
   */
  readonly minWait?: Cost;
}

export interface ChooseOp extends Site {
  readonly kind: 'choose';
  /** Stable key the simulator uses to look up a distribution, e.g. `gfp_nowait`. */
  readonly key: string;
  readonly options: readonly string[];
}

export type ThreadKind = 'task' | 'irq' | 'agent';

export interface ThreadSpec {
  /** Human name, e.g. `munmap`, `IPI tlb_remove_table_smp_sync`, `hw walker`. */
  readonly name: string;
  /**
   * The CPU the thread runs on. `task` and `irq` threads need one: only one of them runs on a CPU
   * at a time, an `irq` thread starts only while the CPU has interrupts enabled and then runs to
   * completion before the CPU's task continues. `agent` threads (hardware walkers, deferred
   * callbacks) run independently of the CPU's contexts, but stop with a stopped (descheduled) CPU.
   */
  readonly cpu: number | null;
  readonly kind: ThreadKind;
  readonly body: () => Proc;
  /** A daemon never finishes (a store buffer's drain); an execution ends when the rest have. */
  readonly daemon?: boolean;
  /**
   * A service thread that runs on its own whenever it can (issue #12: a kernel's grace-period
   * kthread): Driver.run() steps it while the thread being run is blocked. Engines treat it as any
   * other thread.
   */
  readonly background?: boolean;
}

export interface SpawnOp extends Site {
  readonly kind: 'spawn';
  readonly thread: ThreadSpec;
  readonly cost?: Cost;
}

export type Op = AccessOp | ChooseOp | SpawnOp;

/** A process: a generator of ops. The value sent back depends on the op (see each helper). */
export type Proc<R = void> = Generator<Op, R, unknown>;

// ---------------------------------------------------------------------------------------------
// Helpers. They return small generators so that model code reads `const v = yield* read(...)`.

export interface AccessSpec extends Site {
  reads?: readonly Loc[];
  writes?: readonly Loc[];
  guard?: (vals: readonly Value[]) => boolean;
  effect?: (vals: readonly Value[]) => Effect | void;
  ordering?: 'full' | 'store' | 'load' | 'cpu';
  /** See AccessOp.commutes. */
  commutes?: string;
  cost?: Cost;
  minWait?: Cost;
}

/** Perform an atomic access and return the effect's `result`. */
export function* access<R = unknown>(spec: AccessSpec): Proc<R> {
  return (yield accessOp(spec)) as R;
}

/**
 * The op access() yields, for hot paths that yield it themselves (`(yield accessOp(spec)) as R`)
 * and so save a generator per step; same op, same step.
 */
export function accessOp(spec: AccessSpec): AccessOp {
  return {
    kind: 'access',
    fn: spec.fn,
    desc: spec.desc,
    reads: spec.reads ?? NOTHING,
    writes: spec.writes ?? NOTHING,
    guard: spec.guard,
    effect: spec.effect,
    ordering: spec.ordering,
    commutes: spec.commutes,
    cost: spec.cost,
    minWait: spec.minWait,
  };
}

/** A step with no shared footprint: local work that only costs time, or a marker in the trace. */
export function* local(site: Site, cost?: Cost, events?: readonly DomainEvent[]): Proc<void> {
  // The op access() would build, yielded directly: the simulator runs millions of these.
  const op: AccessOp = {
    kind: 'access',
    fn: site.fn,
    desc: site.desc,
    reads: NOTHING,
    writes: NOTHING,
    guard: undefined,
    effect: events ? () => ({ events }) : undefined,
    ordering: undefined,
    commutes: undefined,
    cost,
    minWait: undefined,
  };
  yield op;
}

const NOTHING: readonly Loc[] = [];

/** Nondeterministic choice; returns the chosen option's index. */
export function* choose(site: Site, key: string, options: readonly string[]): Proc<number> {
  if (options.length < 1) throw new Error(`choose '${key}' needs at least one option`);
  const op: ChooseOp = { kind: 'choose', fn: site.fn, desc: site.desc, key, options };
  return (yield op) as number;
}

/** Create a thread; returns its id. */
export function* spawn(site: Site, thread: ThreadSpec, cost?: Cost): Proc<number> {
  return (yield spawnOp(site, thread, cost)) as number;
}

/** The op spawn() yields (see accessOp()). */
export function spawnOp(site: Site, thread: ThreadSpec, cost?: Cost): SpawnOp {
  return { kind: 'spawn', fn: site.fn, desc: site.desc, thread, cost };
}
