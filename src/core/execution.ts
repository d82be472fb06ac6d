/**
 * One execution of a program: the machine semantics every engine shares.
 *
 * An `Execution` holds the shared store and the threads, knows which threads may step now, and
 * performs one step of a chosen thread. It does not choose: the checker, the simulator and the
 * replayer each decide which thread steps next (and how choices resolve), and call `step()`.
 *
 * The machine has CPUs, each with an interrupt flag (`cpuN.irqs_off`, written by the program) and
 * a context slot (`cpuN.ctx`, owned by the machine):
 *  - a `task` thread on CPU N steps only while no interrupt handler occupies the CPU;
 *  - an `irq` thread on CPU N begins (a synthetic `irq-entry` step) only while the CPU has
 *    interrupts enabled and no other handler is running there; it then owns the CPU until its body
 *    returns (a synthetic `irq-exit` step), so the handler is never interleaved with its own CPU's
 *    task, but it is interleaved with every other CPU;
 *  - a CPU listed as stoppable has a `cpuN.stopped` flag (a vCPU the host descheduled); while it is
 *    set, nothing bound to that CPU steps, agents with that `cpu` included (its MMU, its callbacks);
 *  - `agent` threads (hardware walkers, deferred callbacks) are bound to no CPU context.
 *
 * The implicit accesses (context slot, interrupt flag, stopped flag) are part of each step's
 * footprint, so that a checker sees an interrupt entry as dependent with the task steps it delays.
 */
import type { AccessOp, ChooseOp, Effect, Op, Proc, SpawnOp, ThreadKind, ThreadSpec } from './op.js';
import type { Property, Violation, Monitor } from './property.js';
import type { StepRecord } from './trace.js';
import { internByIndex, sameLocs, valueEquals, type DomainEvent, type Loc, type Value } from './value.js';

/** Locations the machine itself interprets. */
export const machineLocs = {
  /** x86-TSO store buffer of a CPU: Array<{ loc, value }>, oldest first. */
  storeBuffer: internByIndex((cpu) => `cpu${cpu}.store_buffer`),
  irqsOff: internByIndex((cpu) => `cpu${cpu}.irqs_off`),
  ctx: internByIndex((cpu) => `cpu${cpu}.ctx`),
  stopped: internByIndex((cpu) => `cpu${cpu}.stopped`),
} as const;

export interface MachineSpec {
  readonly cpus: number;
  /** CPUs whose execution another thread may stop (vCPUs of a guest the host can preempt). */
  readonly stoppable?: readonly number[];
}

export interface Program {
  readonly name: string;
  readonly machine: MachineSpec;
  /** Initial store. Every location a step reads must be here or written before. */
  readonly init: ReadonlyMap<Loc, Value>;
  /**
   * Initial value of locations not in `init` (families too large to list, such as one lock per
   * pair of CPUs); undefined for a location that does not exist.
   */
  readonly initial?: (loc: Loc) => Value | undefined;
  readonly threads: readonly ThreadSpec[];
  readonly properties: readonly Property[];
  /** Stop with an error past this many steps (a runaway loop in the model). */
  readonly maxSteps?: number;
  /**
   * 'sc' (default): sequential consistency. 'tso': x86-TSO for task and interrupt threads: each
   * CPU has a FIFO store buffer; ops marked `ordering: 'store'` go into it, `'load'` ops read
   * through it, every other op (a locked op, a full barrier) waits until it is empty; a daemon
   * thread per CPU drains it one store at a time, at any point.
   */
  readonly memoryModel?: 'sc' | 'tso';
}

/** An execution longer than its step limit (Program.maxSteps): a runaway loop, or a limit set too low. */
export class StepLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`an execution exceeded ${limit} steps (a loop in the model or the workload?)`);
    this.name = 'StepLimitError';
    this.limit = limit;
  }
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export type Phase = 'entry' | 'body' | 'exit' | 'done';

/** The threads of an execution as columns indexed by thread id (Execution.threadColumns()). */
export interface ThreadColumns {
  readonly threadNames: readonly string[];
  readonly threadKinds: readonly ThreadKind[];
  readonly threadCpus: ReadonlyArray<number | null>;
}

/** A thread's next step, as the engines see it before it runs. */
export interface Pending {
  readonly kind: StepRecord['kind'];
  readonly fn: string;
  readonly desc: string;
  /** Footprint of the step, implicit machine locations included. */
  readonly reads: readonly Loc[];
  readonly writes: readonly Loc[];
  /** For `choose`: the options. */
  readonly options?: readonly string[];
  readonly key?: string;
  readonly op?: Op;
}

export interface ThreadState {
  readonly id: number;
  /** Replaced when the thread's creator is re-run after a rollback (see revive()). */
  spec: ThreadSpec;
  /** Step index of the spawn that created it, or -1 for initial threads. */
  readonly createdAt: number;
  phase: Phase;
  steps: number;
  gen: Proc | null;
  op: Op | null;
  /** Value to send into the generator when it resumes. */
  resume: unknown;
  /** The machine's implicit reads of this thread's body steps (context slot, stopped flag). */
  readonly implicitReads: readonly Loc[];
  /** Its CPU's stopped flag if the CPU is stoppable, and context slot if it is a task or handler. */
  readonly stoppedLoc: Loc | null;
  readonly ctxLoc: Loc | null;
  /** The first op of a body-phase thread (restored by a rollback to before its first step). */
  initialOp: Op | null;
  /**
   * After a rollback: `phase`, `steps` and `op` are restored, but the generator is not rebuilt
   * until the thread steps again (see rollback()).
   */
  stale: boolean;
  /**
   * After a rollback, the steps the thread took before it from its restored position on, and
   * its generator where they left it: while the thread retakes the same steps on the same values,
   * they are replayed from here and the generator waits (see ghostStep()).
   */
  ghost: Ghost | null;
  /** bodyPending()'s last answer and the op it was for (the footprint of an op never changes, except under TSO). */
  pendOp: Op | null;
  pend: Pending | null;
}

/**
 * A moved thread's steps as a rollback undid them, from position `from` on, and its generator,
 * suspended after the last of them (null if the thread had finished).
 */
interface Ghost {
  readonly from: number;
  readonly steps: readonly GhostStep[];
  readonly gen: Proc | null;
}

/** One undone step: its record, the values it read (an access), its result, and the thread's op and phase after it. */
interface GhostStep {
  readonly rec: StepRecord;
  readonly vals: readonly Value[] | null;
  readonly resume: unknown;
  readonly opAfter: Op | null;
  readonly phaseAfter: Phase;
}

const DEFAULT_MAX_STEPS = 100_000;
/** A step's undo log: location, previous value (undefined: did not exist), location, ... */
type UndoLog = Array<Loc | Value | undefined>;
const NO_UNDO: UndoLog = [];
const NO_WRITES: ReadonlyArray<readonly [Loc, Value]> = [];
const NO_EVENTS: readonly DomainEvent[] = [];
const NO_LOCS: readonly Loc[] = [];
/** The effect of an op without one, or whose effect returned nothing (never mutated). */
const NO_EFFECT: Effect = {};

/** A store waiting in a CPU's store buffer. */
interface BufferedStore {
  readonly [key: string]: Value;
  readonly loc: Loc;
  readonly value: Value;
}

/** The step of a store-buffer daemon: commit the oldest buffered store to memory. */
const DRAIN_OP: AccessOp = {
  kind: 'access',
  fn: 'store buffer',
  desc: 'the oldest buffered store reaches memory',
  reads: [],
  writes: [],
};

function* drainBody(): Proc<void> {
  for (;;) yield DRAIN_OP;
}

/** The same op, as far as a rollback can tell: kind, function, description and footprint. */
function sameOp(a: Op | null, b: Op | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.kind !== b.kind || a.fn !== b.fn || a.desc !== b.desc) return false;
  if (a.kind === 'access' && b.kind === 'access') return sameLocs(a.reads, b.reads) && sameLocs(a.writes, b.writes) && (a.guard === undefined) === (b.guard === undefined);
  return true;
}

/** a ++ b (Array.prototype.concat is a slow generic builtin on this path). */
function concatLocs(a: readonly Loc[], b: readonly Loc[]): Loc[] {
  const out = new Array<Loc>(a.length + b.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] as Loc;
  for (let i = 0; i < b.length; i++) out[a.length + i] = b[i] as Loc;
  return out;
}

function describeOp(op: Op | null): string {
  return op === null ? 'no op' : `${op.fn}: ${op.desc}`;
}

function finishedBody(): Proc<void> {
  throw new ModelError('a finished thread was resumed');
}

export class Execution {
  readonly program: Program;
  readonly threads: ThreadState[] = [];
  readonly trace: StepRecord[] = [];
  readonly violations: Violation[] = [];
  private readonly store: Map<Loc, Value>;
  /** The machine's own locations as the execution was created: initialValue() looks there first. */
  private readonly machineInit = new Map<Loc, Value>();
  /** Per step: the previous values of the locations it wrote (undefined: did not exist). */
  private readonly undo: UndoLog[] = [];
  /** Per step: the value the step sent into its thread's generator. */
  private readonly resumes: unknown[] = [];
  /** Per step: its thread's op, phase and step count after it (what a rollback restores). */
  private readonly opAfter: Array<Op | null> = [];
  private readonly phaseAfter: Phase[] = [];
  private readonly stepsAfter: number[] = [];
  /** Per step: the values an access read (null for other steps), for ghost replay. */
  private readonly readVals: Array<readonly Value[] | null> = [];
  private lastVals: readonly Value[] | null = null;
  private pendingUndo: UndoLog = NO_UNDO;
  private lastResume: unknown = undefined;
  private monitors: Array<{ property: Property; monitor: Monitor }>;
  /** Every property's monitor is a pure function of one event (rollback need not replay them). */
  private readonly statelessMonitors: boolean;
  private readonly stoppable: ReadonlySet<number>;
  private readonly maxSteps: number;
  private readonly keepTrace: boolean;
  private tso = false;
  private steps = 0;
  /** Steps replayed from a ghost, and generator steps re-run by revive(), since creation. */
  readonly counters = { replayed: 0, rerun: 0 };
  /** Without a trace: ids of finished interrupt and agent threads, reused by the next spawns. */
  private readonly freeIds: number[] = [];

  /**
   * `keepTrace: false` (the simulator's long runs): steps are not kept, so memory stays flat; the
   * execution cannot be rolled back and `trace` stays empty.
   */
  constructor(program: Program, opts: { readonly keepTrace?: boolean; readonly maxSteps?: number } = {}) {
    this.keepTrace = opts.keepTrace ?? true;
    this.program = program;
    this.store = new Map(program.init);
    this.stoppable = new Set(program.machine.stoppable ?? []);
    this.maxSteps = opts.maxSteps ?? program.maxSteps ?? DEFAULT_MAX_STEPS;
    this.tso = program.memoryModel === 'tso';
    const init = this.machineInit;
    for (let c = 0; c < program.machine.cpus; c++) {
      if (!program.init.has(machineLocs.irqsOff(c))) init.set(machineLocs.irqsOff(c), false);
      init.set(machineLocs.ctx(c), null);
      if (this.stoppable.has(c) && !program.init.has(machineLocs.stopped(c))) init.set(machineLocs.stopped(c), false);
      if (this.tso) init.set(machineLocs.storeBuffer(c), []);
    }
    for (const [loc, v] of init) this.store.set(loc, v);
    this.monitors = program.properties.map((property) => ({ property, monitor: property.monitor() }));
    this.statelessMonitors = program.properties.every((p) => p.stateless === true);
    for (const spec of program.threads) this.addThread(spec, -1);
    if (this.tso) {
      for (let c = 0; c < program.machine.cpus; c++) {
        this.addThread({ name: `CPU${c} store buffer`, cpu: c, kind: 'agent', daemon: true, body: drainBody }, -1);
      }
    }
  }

  /** Current value of a location (for reports and engines; model code reads through ops). */
  read(loc: Loc): Value {
    return this.get(loc);
  }

  private get(loc: Loc): Value {
    return this.valueOr(loc, this.store.get(loc));
  }

  /** `v`, or the program's implied initial value of `loc` when `v` is undefined. */
  private valueOr(loc: Loc, v: Value | undefined): Value {
    if (v === undefined && this.program.initial) v = this.program.initial(loc);
    if (v === undefined) throw new ModelError(`read of unknown location '${loc}'`);
    return v;
  }

  has(loc: Loc): boolean {
    return this.store.has(loc);
  }

  /** Snapshot of the whole store, sorted by location (for reports and fingerprints). */
  snapshot(): Array<[Loc, Value]> {
    return [...this.store.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  get stepCount(): number {
    return this.steps;
  }

  /**
   * The value step `index` sent into its thread's generator: with the values the thread's
   * earlier steps received, it determines the thread's local state (what rollback() replays).
   * For tools that key states (bench/states.ts).
   */
  sentAt(index: number): unknown {
    if (index < 0 || index >= this.resumes.length) throw new ModelError(`no step ${index} (the trace has ${this.resumes.length})`);
    return this.resumes[index];
  }

  /** Ids of the threads that may step now, ascending. */
  enabled(): number[] {
    const out: number[] = [];
    for (const t of this.threads) if (this.isEnabled(t)) out.push(t.id);
    return out;
  }

  /** Name, kind and CPU of every thread, by thread id: what the trace renderers label steps with. */
  threadColumns(): ThreadColumns {
    return {
      threadNames: this.threads.map((t) => t.spec.name),
      threadKinds: this.threads.map((t) => t.spec.kind),
      threadCpus: this.threads.map((t) => t.spec.cpu),
    };
  }

  /** Unfinished threads that cannot step now. */
  blocked(): number[] {
    return this.threads.filter((t) => t.phase !== 'done' && !t.spec.daemon && !this.isEnabled(t)).map((t) => t.id);
  }

  get finished(): boolean {
    return this.threads.every((t) => t.phase === 'done' || t.spec.daemon === true);
  }

  /** Not finished, and no thread can step. */
  get deadlocked(): boolean {
    return !this.finished && this.enabled().length === 0;
  }

  isEnabled(t: ThreadState): boolean {
    return this.enabledIn(t, t.phase, t.op, this.storeValue);
  }

  /** The store's current value of a location (undefined if it does not exist). */
  private readonly storeValue = (loc: Loc): Value | undefined => this.store.get(loc);

  /**
   * Could thread `t`, parked in `phase` at `op`, step in the state where location `loc` holds
   * `value(loc)`? isEnabled() asks it of the current state; the checker asks it of a state it
   * has not built, to tell whether a race can be reversed (Explorer).
   */
  enabledIn(t: ThreadState, phase: Phase, op: Op | null, value: (loc: Loc) => Value | undefined): boolean {
    if (phase === 'done') return false;
    const cpu = t.spec.cpu;
    if (t.stoppedLoc !== null && value(t.stoppedLoc) === true) return false;
    if (t.ctxLoc !== null) {
      const ctx = value(t.ctxLoc);
      if (t.spec.kind === 'task' && ctx !== null) return false;
      if (t.spec.kind === 'irq') {
        if (phase === 'entry') {
          return ctx === null && value(machineLocs.irqsOff(cpu as number)) === false;
        }
        if (ctx !== t.id) return false;
      }
    }
    if (this.tso && cpu !== null && phase === 'body' && op?.kind === 'access') {
      const buffered = (value(machineLocs.storeBuffer(cpu)) as readonly unknown[]).length;
      if (op === DRAIN_OP) return buffered > 0;
      // A full barrier or locked op waits until the daemon has drained the CPU's buffer: every
      // store then reaches memory as a step of its own, which the checker can reorder.
      if (t.spec.kind !== 'agent' && (op.ordering ?? 'full') === 'full' && buffered > 0) return false;
    }
    if (phase === 'body' && op?.kind === 'access' && op.guard) {
      const vals = new Array<Value>(op.reads.length);
      for (let i = 0; i < op.reads.length; i++) vals[i] = this.valueOr(op.reads[i] as Loc, value(op.reads[i] as Loc));
      return op.guard(vals);
    }
    return true;
  }

  /**
   * The locations thread `t`, parked in `phase` at `op`, would write if it stepped in the state
   * where location `loc` holds `value(loc)`, or null when they are the ones it declares. An
   * access's effect decides (a compare-and-swap that fails writes nothing), so the effect is run
   * on the values it would read, and its result thrown away: effects are pure functions of those
   * values and the process's own state (op.ts). An effect that throws there would throw when the
   * step runs; the declared writes then stand. Under x86-TSO, a plain store that writes anything
   * writes its CPU's store buffer (doAccessTso()).
   */
  writesIn(t: ThreadState, phase: Phase, op: Op | null, value: (loc: Loc) => Value | undefined): readonly Loc[] | null {
    if (phase !== 'body' || op?.kind !== 'access' || op === DRAIN_OP) return null;
    if (op.effect === undefined || op.writes.length === 0) return NO_LOCS;
    const c = t.spec.cpu;
    const buffered = this.tso && c !== null && t.spec.kind !== 'agent' ? ((value(machineLocs.storeBuffer(c)) ?? []) as readonly BufferedStore[]) : null;
    const vals = new Array<Value>(op.reads.length);
    for (let i = 0; i < op.reads.length; i++) {
      const loc = op.reads[i] as Loc;
      let v: Value | undefined;
      // Store-to-load forwarding, as doAccessTso() reads.
      if (buffered !== null) for (let k = buffered.length - 1; k >= 0 && v === undefined; k--) if ((buffered[k] as BufferedStore).loc === loc) v = (buffered[k] as BufferedStore).value;
      vals[i] = v !== undefined ? v : this.valueOr(loc, value(loc));
    }
    let eff: Effect | void;
    try {
      eff = op.effect(vals);
    } catch {
      return null;
    }
    const writes = eff?.writes;
    if (writes === undefined || writes.length === 0) return NO_LOCS;
    if (buffered !== null && op.ordering === 'store') return [machineLocs.storeBuffer(c as number)];
    const out = new Array<Loc>(writes.length);
    for (let i = 0; i < writes.length; i++) out[i] = (writes[i] as readonly [Loc, Value])[0];
    return out;
  }

  /**
   * The next step of a thread with what it would write now (writesIn()) instead of what it
   * declares: the footprint the step will have if it runs in this state.
   */
  footprintNow(tid: number): Pending {
    const p = this.pending(tid);
    const t = this.thread(tid);
    const writes = this.writesIn(t, t.phase, t.op, this.storeValue);
    return writes === null || sameLocs(writes, p.writes) ? p : { ...p, writes };
  }

  /**
   * The locations whether thread `t`, parked in `phase` at `op`, may step depends on: what
   * enabledIn() reads (its CPU's stopped flag and context slot, the interrupt flag for an
   * interrupt's entry, its store buffer under x86-TSO, a guard's reads). None: it can always step.
   */
  enablingLocs(t: ThreadState, phase: Phase, op: Op | null): Loc[] {
    const out: Loc[] = [];
    if (t.stoppedLoc !== null) out.push(t.stoppedLoc);
    if (t.ctxLoc !== null) out.push(t.ctxLoc);
    const cpu = t.spec.cpu;
    if (t.spec.kind === 'irq' && phase === 'entry') out.push(machineLocs.irqsOff(cpu as number));
    if (phase === 'body' && op?.kind === 'access') {
      if (this.tso && cpu !== null) out.push(machineLocs.storeBuffer(cpu));
      if (op.guard) for (const l of op.reads) out.push(l);
    }
    return out;
  }

  /**
   * The initial value of a location: the store when the execution was created (machine locations
   * included), else the program's implied initial value.
   */
  initialValue(loc: Loc): Value | undefined {
    let v = this.machineInit.get(loc);
    if (v === undefined) v = this.program.init.get(loc);
    return v !== undefined ? v : this.program.initial?.(loc);
  }

  /** The next step of a thread, with its full footprint. */
  pending(tid: number): Pending {
    const t = this.thread(tid);
    if (t.phase === 'body' && t.op) return this.bodyPending(t);
    if (t.phase !== 'entry' && t.phase !== 'exit') throw new ModelError(`thread ${tid} (${t.spec.name}) has finished`);
    const cpu = t.spec.cpu;
    const implicitReads: Loc[] = [...t.implicitReads];
    const implicitWrites: Loc[] = [];
    if (t.spec.kind === 'irq' && cpu !== null) {
      if (t.phase === 'entry') {
        implicitReads.push(machineLocs.ctx(cpu), machineLocs.irqsOff(cpu));
        implicitWrites.push(machineLocs.ctx(cpu));
      }
      if (t.phase === 'exit') implicitWrites.push(machineLocs.ctx(cpu));
    }
    if (t.phase === 'entry') {
      return { kind: 'irq-entry', fn: 'irq_entry', desc: `interrupt taken on CPU${cpu}: ${t.spec.name}`, reads: implicitReads, writes: implicitWrites, options: undefined, key: undefined, op: undefined };
    }
    return { kind: 'irq-exit', fn: 'irq_exit', desc: `return from interrupt on CPU${cpu}`, reads: implicitReads, writes: implicitWrites, options: undefined, key: undefined, op: undefined };
  }

  thread(tid: number): ThreadState {
    const t = this.threads[tid];
    if (!t) throw new ModelError(`no thread ${tid}`);
    return t;
  }

  /**
   * Perform the next step of thread `tid`. For a `choose` step, `choice` selects the option.
   * Throws if the thread is not enabled (an engine bug or a stale replay), unless the caller says
   * it has just checked (`enabledChecked`: the simulator, which tests isEnabled() to park a thread).
   */
  step(tid: number, choice?: number, enabledChecked = false): StepRecord {
    const t = this.thread(tid);
    if (!enabledChecked && !this.isEnabled(t)) {
      throw new ModelError(`thread ${tid} (${t.spec.name}) is not enabled at step ${this.steps}`);
    }
    if (this.steps >= this.maxSteps) throw new StepLimitError(this.maxSteps);
    this.pendingUndo = NO_UNDO;
    this.lastVals = null;
    const index = this.steps;
    let record = t.stale && t.ghost !== null ? this.ghostStep(t, index, choice) : null;
    if (record === null) {
      if (t.stale) this.revive(t);
      record = this.runStep(t, index, choice);
    }
    t.steps++;
    this.steps++;
    const g = t.ghost;
    if (g !== null && t.steps === g.from + g.steps.length) {
      // Back where the generator was suspended: it takes over again.
      t.gen = g.gen;
      t.ghost = null;
      t.stale = false;
    }
    if (!this.keepTrace && t.phase === 'done' && t.spec.kind !== 'task') this.freeIds.push(t.id);
    if (this.keepTrace) {
      this.trace.push(record);
      this.undo.push(this.pendingUndo);
      this.resumes.push(this.lastResume);
      this.readVals.push(this.lastVals);
      this.opAfter.push(t.op);
      this.phaseAfter.push(t.phase);
      this.stepsAfter.push(t.steps);
    }
    for (const ev of record.events) this.observe(ev, record);
    return record;
  }

  // -------------------------------------------------------------------------------------------

  /** Run thread `t`'s next step (its generator is live). */
  private runStep(t: ThreadState, index: number, choice: number | undefined): StepRecord {
    if (t.phase === 'entry') {
      const record = this.ctxStep(t, index);
      t.phase = 'body';
      this.advance(t, undefined);
      return record;
    }
    if (t.phase === 'exit') {
      const record = this.ctxStep(t, index);
      t.phase = 'done';
      return record;
    }
    const pend = this.bodyPending(t);
    const op = t.op as Op;
    switch (op.kind) {
      case 'access':
        return this.doAccess(t, index, pend, op);
      case 'choose':
        return this.doChoose(t, index, pend, op, choice);
      case 'spawn':
        return this.doSpawn(t, index, pend, op);
    }
  }

  /** An interrupt's entry or exit: its CPU's context slot takes the thread's id, or is cleared. */
  private ctxStep(t: ThreadState, index: number): StepRecord {
    const ctx = machineLocs.ctx(t.spec.cpu as number);
    const v = t.phase === 'entry' ? t.id : null;
    const pend = this.pending(t.id);
    this.setLoc(ctx, v);
    return this.record(t, index, pend, [[ctx, v]], NO_EVENTS);
  }

  /**
   * Replay thread `t`'s next step from its ghost (the steps a rollback undid) if the step is the
   * same as then: the same choice, the same child id, and for an access the same values read
   * (valueEquals(): store values are plain immutable data). The op is the same (it is fixed once
   * yielded), and the effect, a function of the values it reads and of the process's state,
   * which the same earlier results rebuilt, would write and return the same; so the recorded
   * writes, events and result are used and the generator is not resumed. Otherwise the ghost is
   * dropped and null returned, with nothing changed: the caller re-runs the generator (revive())
   * and runs the step.
   */
  private ghostStep(t: ThreadState, index: number, choice: number | undefined): StepRecord | null {
    const g = t.ghost as Ghost;
    const k = t.steps - g.from;
    const step = g.steps[k] as GhostStep;
    const old = step.rec;
    let record: StepRecord | null = null;
    if (t.phase === 'entry' || t.phase === 'exit') {
      record = this.ctxStep(t, index);
    } else {
      const op = t.op as Op;
      const pend = this.bodyPending(t);
      if (op.kind === 'access') {
        const vals = this.values(op.reads);
        const was = step.vals as readonly Value[];
        let same = true;
        for (let i = 0; i < vals.length && same; i++) same = valueEquals(vals[i] as Value, was[i] as Value);
        if (same) {
          const writes = old.writes;
          for (const [loc, v] of writes) this.setLoc(loc, v);
          this.lastVals = vals;
          record = this.record(t, index, pend, writes, old.events, old.note);
        }
      } else if (op.kind === 'choose') {
        if (choice === old.choice?.index) record = this.doChooseRecord(t, index, pend, op, choice);
      } else if (old.spawned === this.threads.length) {
        const child = this.addThread(op.thread, index);
        record = this.record(t, index, pend, NO_WRITES, NO_EVENTS, undefined, undefined, child.id);
      }
    }
    if (record === null) {
      t.ghost = null;
      return null;
    }
    this.counters.replayed++;
    this.lastResume = step.resume;
    t.op = step.opAfter;
    t.phase = step.phaseAfter;
    return record;
  }

  /** pending() for a body step, without copying when the thread has no implicit reads. */
  private bodyPending(t: ThreadState): Pending {
    const op = t.op as Op;
    if (t.pendOp === op && !this.tso) return t.pend as Pending;
    let reads = op.kind === 'access' ? (t.implicitReads.length ? concatLocs(t.implicitReads, op.reads) : op.reads) : t.implicitReads;
    let writes = op.kind === 'access' ? op.writes : [];
    if (this.tso && op.kind === 'access' && t.spec.cpu !== null) {
      // The footprint of a step under TSO: what it reads and writes through the store buffer.
      const c = t.spec.cpu;
      const sb = machineLocs.storeBuffer(c);
      const buffered = (this.store.get(sb) as readonly BufferedStore[]).map((e) => e.loc);
      if (op === DRAIN_OP) {
        // Its vCPU's stopped flag too (an implicit read): a stopped vCPU drains nothing.
        reads = t.implicitReads.length ? [...t.implicitReads, sb] : [sb];
        writes = buffered.length ? [sb, buffered[0] as Loc] : [sb];
      } else if (t.spec.kind !== 'agent') {
        const ordering = op.ordering ?? 'full';
        if (ordering === 'store') {
          reads = [...reads, sb];
          writes = [sb];
        } else if (ordering !== 'cpu') {
          // A load forwards from the buffer; a full op waits for it to be empty.
          reads = [...reads, sb];
        }
      }
    }
    const pend: Pending = { kind: op.kind, fn: op.fn, desc: op.desc, reads, writes, options: op.kind === 'choose' ? op.options : undefined, key: op.kind === 'choose' ? op.key : undefined, op };
    t.pendOp = op;
    t.pend = pend;
    return pend;
  }

  private doAccess(t: ThreadState, index: number, pend: Pending, op: AccessOp): StepRecord {
    if (this.tso && t.spec.cpu !== null && (t.spec.kind !== 'agent' || op === DRAIN_OP)) return this.doAccessTso(t, index, pend, op, t.spec.cpu);
    const vals = this.values(op.reads);
    this.lastVals = vals;
    const eff = this.runEffect(t, index, op, vals);
    const writes = eff.writes ?? NO_WRITES;
    for (const [loc, v] of writes) this.setLoc(loc, v);
    const record = this.record(t, index, pend, writes, eff.events ?? NO_EVENTS, eff.note);
    this.advance(t, eff.result);
    return record;
  }

  private doChoose(t: ThreadState, index: number, pend: Pending, op: ChooseOp, choice: number | undefined): StepRecord {
    const record = this.doChooseRecord(t, index, pend, op, choice);
    this.advance(t, choice);
    return record;
  }

  private doChooseRecord(t: ThreadState, index: number, pend: Pending, op: ChooseOp, choice: number | undefined): StepRecord {
    if (choice === undefined || !Number.isInteger(choice) || choice < 0 || choice >= op.options.length) {
      throw new ModelError(`${op.fn} (${t.spec.name}): choice '${op.key}' needs an option index in 0..${op.options.length - 1}, got ${choice}`);
    }
    return this.record(t, index, pend, NO_WRITES, NO_EVENTS, undefined, { index: choice, option: op.options[choice] as string, key: op.key });
  }

  private doSpawn(t: ThreadState, index: number, pend: Pending, op: SpawnOp): StepRecord {
    const child = this.addThread(op.thread, index);
    const record = this.record(t, index, pend, NO_WRITES, NO_EVENTS, undefined, undefined, child.id);
    this.advance(t, child.id);
    return record;
  }

  /**
   * A step's record. Every field is present (undefined when it does not apply), in one order, so
   * that every record has the same shape and the engines' property reads stay monomorphic.
   */
  private record(
    t: ThreadState,
    index: number,
    pend: Pending,
    writes: ReadonlyArray<readonly [Loc, Value]>,
    events: readonly DomainEvent[],
    note?: string,
    choice?: StepRecord['choice'],
    spawned?: number,
  ): StepRecord {
    const op = pend.op;
    return {
      index,
      thread: t.id,
      threadName: t.spec.name,
      threadKind: t.spec.kind,
      cpu: t.spec.cpu,
      kind: pend.kind,
      fn: pend.fn,
      desc: pend.desc,
      reads: pend.reads,
      writes,
      events,
      note,
      cost: op && (op.kind === 'access' || op.kind === 'spawn') ? op.cost : undefined,
      commutes: op?.kind === 'access' && op.commutes !== undefined ? { tag: op.commutes, locs: op.writes } : undefined,
      choice,
      spawned,
    };
  }

  private addThread(spec: ThreadSpec, createdAt: number): ThreadState {
    if (spec.kind !== 'agent') {
      if (spec.cpu === null || spec.cpu < 0 || spec.cpu >= this.program.machine.cpus) {
        throw new ModelError(`${spec.kind} thread '${spec.name}' needs a CPU in 0..${this.program.machine.cpus - 1}, got ${spec.cpu}`);
      }
    }
    const implicitReads: Loc[] = [];
    if (spec.cpu !== null && this.stoppable.has(spec.cpu)) implicitReads.push(machineLocs.stopped(spec.cpu));
    if (spec.kind === 'task' && spec.cpu !== null) implicitReads.push(machineLocs.ctx(spec.cpu));
    // Without a trace, a finished handler's or callback's slot is reused: a long simulation
    // spawns millions of them.
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.threads.length;
    const t: ThreadState = {
      id,
      spec,
      createdAt,
      phase: spec.kind === 'irq' ? 'entry' : 'body',
      steps: 0,
      gen: null,
      op: null,
      resume: undefined,
      implicitReads,
      stoppedLoc: spec.cpu !== null && this.stoppable.has(spec.cpu) ? machineLocs.stopped(spec.cpu) : null,
      ctxLoc: spec.kind !== 'agent' && spec.cpu !== null ? machineLocs.ctx(spec.cpu) : null,
      initialOp: null,
      stale: false,
      ghost: null,
      pendOp: null,
      pend: null,
    };
    this.threads[id] = t;
    if (t.phase === 'body') this.advance(t, undefined);
    t.initialOp = t.op;
    return t;
  }

  /** Resume a thread's generator with `value` and park it at its next op. */
  private advance(t: ThreadState, value: unknown): void {
    this.lastResume = value;
    if (!t.gen) t.gen = t.spec.body();
    let res: IteratorResult<Op, void>;
    try {
      res = t.gen.next(value);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new ModelError(`thread ${t.id} (${t.spec.name}) threw after step ${this.steps}: ${msg}`);
    }
    if (res.done) {
      t.op = null;
      t.gen = null;
      t.phase = t.spec.kind === 'irq' ? 'exit' : 'done';
      // A long run without a trace never rebuilds a thread: drop what its body captured, so
      // that memory stays flat however many IPI handlers and callbacks come and go.
      if (!this.keepTrace) t.spec = { name: t.spec.name, cpu: t.spec.cpu, kind: t.spec.kind, body: finishedBody };
    } else {
      t.op = res.value;
    }
  }

  /**
   * Run an op's effect on the values it read, and check its writes against what it declared (a
   * write outside the footprint would make the checker unsound).
   */
  private runEffect(t: ThreadState, index: number, op: AccessOp, vals: readonly Value[]): Effect {
    let eff: Effect;
    try {
      eff = op.effect ? op.effect(vals) ?? NO_EFFECT : NO_EFFECT;
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(`${op.fn} (${t.spec.name}) failed at step ${index}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [loc, v] of eff.writes ?? NO_WRITES) {
      if (!op.writes.includes(loc)) {
        throw new ModelError(`${op.fn} (${t.spec.name}) wrote '${loc}', which its op did not declare (declared: ${op.writes.join(', ') || 'none'})`);
      }
      if (v === undefined) throw new ModelError(`${op.fn} (${t.spec.name}) wrote undefined to '${loc}'`);
    }
    return eff;
  }

  /** An access under x86-TSO (see Program.memoryModel). */
  private doAccessTso(t: ThreadState, index: number, pend: Pending, op: AccessOp, c: number): StepRecord {
    const sbLoc = machineLocs.storeBuffer(c);
    const sb = this.store.get(sbLoc) as readonly BufferedStore[];
    const writes: Array<readonly [Loc, Value]> = [];
    if (op === DRAIN_OP) {
      const [head, ...rest] = sb;
      if (!head) throw new ModelError(`CPU${c}: drain of an empty store buffer`);
      this.setLoc(head.loc, head.value);
      this.setLoc(sbLoc, rest);
      writes.push([head.loc, head.value], [sbLoc, rest]);
      const record = this.record(t, index, pend, writes, [], `${head.loc} = ${JSON.stringify(head.value)} reaches memory`);
      this.advance(t, undefined);
      return record;
    }
    const ordering = op.ordering ?? 'full';
    if (ordering === 'full' && sb.length > 0) throw new ModelError(`${op.fn} (${t.spec.name}): a full barrier ran with CPU${c}'s store buffer not empty`);
    // Loads see the CPU's own latest buffered store to a location (store-to-load forwarding).
    const current = this.store.get(sbLoc) as readonly BufferedStore[];
    const vals = op.reads.map((loc) => {
      for (let i = current.length - 1; i >= 0; i--) if ((current[i] as BufferedStore).loc === loc) return (current[i] as BufferedStore).value;
      return this.get(loc);
    });
    const eff = this.runEffect(t, index, op, vals);
    const effWrites = eff.writes ?? [];
    if (ordering === 'load' && effWrites.length > 0) throw new ModelError(`${op.fn} (${t.spec.name}) is a plain load but writes ${effWrites.map(([l]) => l).join(', ')}`);
    if (ordering === 'store' && effWrites.length > 0) {
      const next = [...current, ...effWrites.map(([loc, value]): BufferedStore => ({ loc, value }))];
      this.setLoc(sbLoc, next);
      writes.push([sbLoc, next]);
    } else {
      for (const [loc, v] of effWrites) {
        this.setLoc(loc, v);
        writes.push([loc, v]);
      }
    }
    const record = this.record(t, index, pend, writes, eff.events ?? [], eff.note);
    this.advance(t, eff.result);
    return record;
  }

  private setLoc(loc: Loc, v: Value): void {
    if (this.keepTrace) {
      if (this.pendingUndo === NO_UNDO) this.pendingUndo = [];
      this.pendingUndo.push(loc, this.store.get(loc));
    }
    this.store.set(loc, v);
  }

  /**
   * Go back to the state after the first `depth` steps, as if the later ones never ran: undo
   * their writes, forget the threads they spawned, and put the threads they advanced back where
   * they were: phase, step count, and the op they were parked at. The restored op serves for
   * enabledness and footprints: an op's guard and footprint must not depend on process-local
   * state changed after it was yielded (AccessOp). Each moved thread keeps the undone steps and
   * its suspended generator as a ghost (keepGhost()): while it retakes those steps on equal
   * values they are replayed (ghostStep()), and the generator takes over where it was. At the
   * first step that differs, the generator is rebuilt (revive()) by re-running it with the
   * values its earlier steps received (the code between two yields only touches process-local
   * data, so this re-creates the same state), and it must reach the restored op.
   */
  rollback(depth: number): void {
    if (!this.keepTrace) throw new ModelError('rollback of an execution that keeps no trace');
    if (depth > this.trace.length || depth < 0) throw new ModelError(`rollback to step ${depth} of ${this.trace.length}`);
    const needs: boolean[] = [];
    let moved = 0;
    /** Per thread: its steps being undone, latest first. */
    const undone: number[][] = [];
    for (let i = this.trace.length - 1; i >= depth; i--) {
      const rec = this.trace[i] as StepRecord;
      const undo = this.undo[i] as UndoLog;
      for (let k = undo.length - 2; k >= 0; k -= 2) {
        const loc = undo[k] as Loc;
        const old = undo[k + 1];
        if (old === undefined) this.store.delete(loc);
        else this.store.set(loc, old);
      }
      if (rec.spawned !== undefined) {
        if (rec.spawned !== this.threads.length - 1) throw new ModelError(`rollback: thread ${rec.spawned} is not the last created`);
        this.threads.pop();
        if (needs[rec.spawned]) {
          needs[rec.spawned] = false;
          moved--;
        }
      }
      if (!needs[rec.thread] && rec.thread < this.threads.length) {
        needs[rec.thread] = true;
        moved++;
      }
      (undone[rec.thread] ??= []).push(i);
    }
    if (!this.tso) {
      for (let id = 0; id < this.threads.length; id++) {
        const steps = undone[id];
        if (needs[id] && steps !== undefined) this.keepGhost(this.threads[id] as ThreadState, steps);
      }
    }
    this.trace.length = depth;
    this.steps = depth;
    this.undo.length = depth;
    this.resumes.length = depth;
    this.opAfter.length = depth;
    this.phaseAfter.length = depth;
    this.stepsAfter.length = depth;
    this.readVals.length = depth;
    let v = this.violations.length;
    while (v > 0 && (this.violations[v - 1] as Violation).step >= depth) v--;
    this.violations.length = v;
    if (!this.statelessMonitors) {
      this.monitors = this.program.properties.map((property) => ({ property, monitor: property.monitor() }));
      this.violations.length = 0;
      for (const rec of this.trace) for (const ev of rec.events) this.observe(ev, rec);
    }
    // Each moved thread's state after its last step before `depth`, found in one backward pass.
    for (let i = depth - 1; i >= 0 && moved > 0; i--) {
      const tid = (this.trace[i] as StepRecord).thread;
      if (!needs[tid]) continue;
      needs[tid] = false;
      moved--;
      this.park(this.threads[tid] as ThreadState, this.phaseAfter[i] as Phase, this.stepsAfter[i] as number, this.opAfter[i] as Op | null);
    }
    // The others had not stepped before `depth`.
    for (let id = 0; id < this.threads.length && moved > 0; id++) {
      if (!needs[id]) continue;
      moved--;
      const t = this.threads[id] as ThreadState;
      this.park(t, t.spec.kind === 'irq' ? 'entry' : 'body', 0, t.initialOp);
    }
  }

  /**
   * Before a rollback undoes thread `t`'s steps at trace indices `undone` (latest first), keep
   * them as its ghost, with its generator suspended after them; if it is already replaying a
   * ghost, the undone steps go in front of what is left of that one. A thread with neither a live
   * generator nor a ghost (rolled back before and not stepped since) gets none.
   */
  private keepGhost(t: ThreadState, undone: readonly number[]): void {
    const prev = t.stale ? t.ghost : null;
    if (t.stale && prev === null) return;
    const n = undone.length;
    const steps: GhostStep[] = [];
    for (let j = n - 1; j >= 0; j--) {
      const i = undone[j] as number;
      steps.push({ rec: this.trace[i] as StepRecord, vals: this.readVals[i] as readonly Value[] | null, resume: this.resumes[i], opAfter: this.opAfter[i] as Op | null, phaseAfter: this.phaseAfter[i] as Phase });
    }
    // Replaying a ghost: what it has not replayed yet follows the steps just undone.
    if (prev !== null) for (let j = t.steps - prev.from; j < prev.steps.length; j++) steps.push(prev.steps[j] as GhostStep);
    t.ghost = { from: t.steps - n, steps, gen: prev === null ? t.gen : prev.gen };
  }

  private park(t: ThreadState, phase: Phase, steps: number, op: Op | null): void {
    t.phase = phase;
    t.steps = steps;
    t.op = op;
    t.gen = null;
    t.stale = true;
  }

  /**
   * Rebuild a stale thread's generator: re-run its body with the values its steps in the trace
   * received. A thread it spawned gets the new ThreadSpec its creator yields, and is rebuilt in
   * turn when it next steps, so that no closure keeps state from the undone steps. The rebuilt
   * thread must be parked at the op rollback() restored: same function, description and footprint.
   */
  private revive(t: ThreadState): void {
    const { phase, steps, op: restored } = t;
    t.ghost = null;
    t.gen = null;
    t.op = null;
    t.steps = 0;
    t.phase = t.spec.kind === 'irq' ? 'entry' : 'body';
    if (t.phase === 'body') this.advance(t, undefined);
    t.initialOp = t.op;
    for (let i = 0; i < this.trace.length; i++) {
      const rec = this.trace[i] as StepRecord;
      if (rec.thread !== t.id) continue;
      if (rec.kind === 'irq-entry') {
        t.phase = 'body';
        this.advance(t, undefined);
      } else if (rec.kind === 'irq-exit') {
        t.phase = 'done';
      } else {
        const op = t.op as Op | null;
        if (rec.kind === 'spawn' && rec.spawned !== undefined && op?.kind === 'spawn') {
          const child = this.threads[rec.spawned] as ThreadState;
          child.spec = op.thread;
          if (child.phase !== 'done') child.stale = true;
        }
        this.advance(t, this.resumes[i]);
      }
      t.steps++;
    }
    t.stale = false;
    this.counters.rerun += t.steps;
    if (t.phase !== phase || t.steps !== steps || !sameOp(t.op, restored)) {
      throw new ModelError(
        `thread ${t.id} (${t.spec.name}) re-ran differently after a rollback: parked at ${describeOp(restored)}, re-run reaches ${describeOp(t.op)} ` +
          '(an op\'s guard, footprint or description depends on process-local state changed after it was yielded?)',
      );
    }
  }

  private values(locs: readonly Loc[]): Value[] {
    const out = new Array<Value>(locs.length);
    for (let i = 0; i < locs.length; i++) out[i] = this.get(locs[i] as Loc);
    return out;
  }

  /**
   * The execution has reached its final state: let the end-of-execution properties look at it.
   * Engines call this once per complete execution (not for one they abandon).
   */
  end(): void {
    for (const { property, monitor } of this.monitors) {
      if (!monitor.onEnd) continue;
      const v = monitor.onEnd((loc) => this.get(loc));
      if (v) this.violations.push({ property: property.id, step: Math.max(0, this.steps - 1), message: v.message, details: v.details });
    }
  }

  private observe(ev: DomainEvent, step: StepRecord): void {
    for (const { property, monitor } of this.monitors) {
      const v = monitor.onEvent(ev, step);
      if (v) this.violations.push({ property: property.id, step: step.index, message: v.message, details: v.details });
    }
  }
}
