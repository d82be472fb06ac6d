/**
 * fast-check arbitraries of small concurrent programs (ProgramSpec, program-spec.ts), for
 * differential testing of the checker: 2-3 threads of a few ops over a handful of locations,
 * biased towards conflicts and blocking. A thread is a list of fragments: a single op, a critical
 * section (one lock or two nested ones, in either order, so that two threads can deadlock), a
 * read-side or write-side rwsem section, an IRQs-off section (handlers on the CPU are initial or
 * spawned threads), a vCPU stopped and resumed, a branch on a read, a cas or a choice, a read then
 * a write of what was read. Everything stays plain data, so that a shrunk counterexample is a
 * literal to commit.
 *
 * toProgram() turns a spec into a Program (program-interpreter.ts).
 */
import fc from 'fast-check';
import { programOps, programThreads, type DataLoc, type Mutex, type OpKind, type OpSpec, type ProgramSpec, type PropertyData, type Tag, type ThreadData } from './program-spec.js';

export { toProgram } from './program-interpreter.js';
export type { OpKind, OpSpec, ProgramSpec, PropertyData, ThreadData } from './program-spec.js';

export interface GenOptions {
  /** The op kinds programs may contain. */
  readonly ops: readonly OpKind[];
  /** The kinds of the initial threads (spawned ones are agents, or handlers if 'irq' is here). */
  readonly threads: ReadonlyArray<ThreadData['kind']>;
  /** Some programs run under x86-TSO (with 'load' and 'store' ops on tasks and handlers). */
  readonly tso: boolean;
  /** Initial threads: 2 to this many. */
  readonly maxThreads: number;
  /** Fragments per thread: 1 to this many. */
  readonly maxFragments: number;
  /** Ops in the whole program (spawned threads' included) and threads (spawned included): at most these. */
  readonly maxOps: number;
  readonly maxAllThreads: number;
  /** Relative weights of the kinds of fragment (DEFAULT_WEIGHTS for those not given; 0: never). */
  readonly weights?: Partial<Record<Fragment, number>>;
}

/**
 * What a thread is made of: a single op; a read then a write of what it read; a read, a cas or
 * a choice and ops that run only on some outcomes; a critical section under one lock or two
 * nested ones (in either order: two threads can deadlock); a read-side or write-side rwsem
 * section; a section with the CPU's interrupts off; a vCPU stopped and resumed around some ops;
 * the spawn of an agent or a handler.
 */
export type Fragment = 'single' | 'dependent' | 'readBranch' | 'casBranch' | 'choice' | 'lock' | 'nestedLocks' | 'readLock' | 'writeLock' | 'irqsOff' | 'stop' | 'spawn';

export const DEFAULT_WEIGHTS: Readonly<Record<Fragment, number>> = {
  single: 4,
  dependent: 1,
  readBranch: 1,
  casBranch: 2,
  choice: 2,
  lock: 3,
  nestedLocks: 1,
  readLock: 1,
  writeLock: 1,
  irqsOff: 2,
  stop: 1,
  spawn: 2,
};

/** Every op and thread kind the model uses, SC and TSO. */
export const EVERY_OP: GenOptions = {
  ops: ['read', 'write', 'copy', 'cas', 'fetch_add', 'add', 'or', 'lock', 'unlock', 'down_read', 'up_read', 'down_write', 'up_write', 'wait', 'choose', 'spawn', 'irqs', 'stop', 'mb'],
  threads: ['agent', 'task', 'irq'],
  tso: true,
  maxThreads: 3,
  maxFragments: 2,
  maxOps: 8,
  maxAllThreads: 4,
};

/** `EVERY_OP` restricted to some op kinds, SC only unless `more` says otherwise. */
export function only(ops: readonly OpKind[], more: Partial<GenOptions> = {}): GenOptions {
  return { ...EVERY_OP, tso: false, ...more, ops };
}

const PLAIN: readonly OpKind[] = ['read', 'write', 'copy', 'fetch_add', 'add', 'or', 'choose', 'mb'];
const BLOCKING: readonly OpKind[] = ['lock', 'unlock', 'down_read', 'up_read', 'down_write', 'up_write', 'wait', 'irqs', 'stop'];

/**
 * Named generation profiles, each aimed at one part of the engine:
 *  - 'every-op': everything the model uses, SC and TSO;
 *  - 'never-block': no guard, no interrupt, no stopped CPU, no store buffer, no spawn, no
 *    conditional write: agents and tasks that read, write, update (commuting or not) and choose;
 *  - 'spawn': the same, and threads that spawn agents (often);
 *  - 'conditional-writes': the same, and cas (a step that writes or not, by the value it reads);
 *  - 'blocking': plain ops, every kind of blocking (locks, rwsems, waits, IRQs off and handlers,
 *    stopped vCPUs, x86-TSO's barriers), no spawn and no cas;
 *  - 'no-choice': every op but `choose` (optimal DPOR's redundant executions come from choices).
 */
export const PROFILES = {
  'every-op': EVERY_OP,
  'never-block': only(PLAIN, { threads: ['agent', 'task'] }),
  spawn: only([...PLAIN, 'spawn'], { threads: ['agent', 'task'], weights: { spawn: 8 } }),
  'conditional-writes': only([...PLAIN, 'cas'], { threads: ['agent', 'task'] }),
  blocking: only([...PLAIN, ...BLOCKING], { tso: true }),
  'no-choice': { ...EVERY_OP, ops: EVERY_OP.ops.filter((o) => o !== 'choose') },
} as const satisfies Record<string, GenOptions>;

export type ProfileName = keyof typeof PROFILES;

const CPUS = [0, 1] as const;

/** x most of the time: conflicts are what the reductions must get right. */
const dataLoc: fc.Arbitrary<DataLoc> = fc.oneof({ arbitrary: fc.constant<DataLoc>('x'), weight: 3 }, { arbitrary: fc.constantFrom<DataLoc>('y', 'z'), weight: 2 });
const mutex: fc.Arbitrary<Mutex> = fc.constantFrom<Mutex>('m', 'n');
const small = fc.integer({ min: 1, max: 2 });
const tag: fc.Arbitrary<Tag> = fc.constantFrom<Tag>('A', 'B');

/** `arb` with an optional `mark` (present about a third of the time). */
function markable<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arb, fc.option(tag, { freq: 2, nil: undefined })).map(([op, mark]) => (mark === undefined ? op : { ...op, mark }));
}

/** Where a thread runs: what its IRQ and stop fragments act on. */
interface Place {
  readonly kind: ThreadData['kind'];
  readonly cpu: number | null;
}

class ProgramArbitraries {
  private readonly o: GenOptions;
  private readonly allowed: ReadonlySet<OpKind>;

  constructor(o: GenOptions) {
    this.o = o;
    this.allowed = new Set(o.ops);
  }

  private has(...kinds: OpKind[]): boolean {
    return kinds.every((k) => this.allowed.has(k));
  }

  /** A single op with no branch, not a lock, rwsem or spawn (those come as fragments). */
  private simpleOp(place: Place, tso: boolean): fc.Arbitrary<OpSpec> {
    const arbs: Array<fc.Arbitrary<OpSpec>> = [];
    const load = tso ? fc.option(fc.constant('load' as const), { freq: 4, nil: undefined }) : fc.constant(undefined);
    const store = tso ? fc.option(fc.constant('store' as const), { freq: 4, nil: undefined }) : fc.constant(undefined);
    if (this.has('read')) arbs.push(markable(fc.record({ loc: dataLoc, ord: load }).map(({ loc, ord }): OpSpec => (ord ? { op: 'read', loc, ord } : { op: 'read', loc }))));
    if (this.has('write')) {
      const val = fc.oneof(small, fc.constant('r+1' as const));
      arbs.push(markable(fc.record({ loc: dataLoc, val, ord: store }).map(({ loc, val, ord }): OpSpec => (ord ? { op: 'write', loc, val, ord } : { op: 'write', loc, val }))));
    }
    if (this.has('copy')) arbs.push(markable(fc.record({ from: dataLoc, to: dataLoc, add: small }).map((r): OpSpec => ({ op: 'copy', ...r }))));
    if (this.has('fetch_add')) arbs.push(markable(fc.record({ loc: dataLoc, n: small }).map((r): OpSpec => ({ op: 'fetch_add', ...r }))));
    if (this.has('add')) arbs.push(fc.record({ loc: dataLoc, n: small }).map((r): OpSpec => ({ op: 'add', ...r })));
    if (this.has('or')) arbs.push(fc.record({ loc: dataLoc, bits: fc.constantFrom(1, 2) }).map((r): OpSpec => ({ op: 'or', ...r })));
    if (this.has('wait')) {
      const set = fc.option(fc.record({ loc: dataLoc, val: small }), { freq: 2, nil: undefined });
      const locs = fc.uniqueArray(dataLoc, { minLength: 1, maxLength: 2 });
      arbs.push(
        markable(
          fc.record({ locs, cmp: fc.constantFrom<'eq' | 'ge'>('ge', 'eq'), n: small, set }).map(({ set, ...w }): OpSpec => (set ? { op: 'wait', ...w, set } : { op: 'wait', ...w })),
        ),
      );
    }
    if (this.has('mb')) arbs.push(fc.constant<OpSpec>({ op: 'mb' }));
    if (this.has('irqs') && place.cpu !== null) arbs.push(fc.boolean().map((off): OpSpec => ({ op: 'irqs', cpu: place.cpu as number, off })));
    if (arbs.length === 0) arbs.push(fc.constant<OpSpec>({ op: 'mb' }));
    return fc.oneof(...arbs);
  }

  /** Fragments of a thread at `place`, by kind; children (`spawned`) spawn nothing. */
  private fragments(place: Place, tso: boolean, spawned: boolean): Partial<Record<Fragment, fc.Arbitrary<OpSpec[]>>> {
    const simple = this.simpleOp(place, tso);
    const inner = (max: number) => fc.array(simple, { minLength: 0, maxLength: max });
    /** 1-2 ops, each run only when the register holds its value (one of 0..n-1). */
    const branches = (n: number) => fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), simple), { minLength: 1, maxLength: 2 }).map((bs) => bs.map(([when, op]): OpSpec => ({ ...op, when })));
    const f: Partial<Record<Fragment, fc.Arbitrary<OpSpec[]>>> = { single: simple.map((op) => [op]) };
    if (this.has('read', 'write')) f.dependent = fc.tuple(dataLoc, dataLoc).map(([a, b]): OpSpec[] => [{ op: 'read', loc: a }, { op: 'write', loc: b, val: 'r+1' }]);
    if (this.has('read')) f.readBranch = fc.tuple(dataLoc, branches(3)).map(([loc, bs]): OpSpec[] => [{ op: 'read', loc }, ...bs]);
    if (this.has('cas')) {
      const cas = markable(fc.record({ loc: dataLoc, expect: fc.constantFrom(0, 1), set: small }).map((r): OpSpec => ({ op: 'cas', ...r })));
      f.casBranch = fc.tuple(cas, branches(2)).map(([c, bs]): OpSpec[] => [c, ...bs]);
    }
    if (this.has('choose')) {
      // As many options as the branches need, at least two.
      f.choice = branches(3).map((bs): OpSpec[] => [{ op: 'choose', n: bs.some((b) => b.when === 2) ? 3 : 2 }, ...bs]);
    }
    if (this.has('lock', 'unlock')) {
      const mark = fc.option(tag, { freq: 2, nil: undefined });
      f.lock = fc.tuple(mutex, mark, inner(1)).map(([m, t, body]): OpSpec[] => [t ? { op: 'lock', m, mark: t } : { op: 'lock', m }, ...body, { op: 'unlock', m }]);
      f.nestedLocks = fc.tuple(fc.boolean(), inner(1)).map(([mFirst, body]): OpSpec[] => {
        const [a, b]: [Mutex, Mutex] = mFirst ? ['m', 'n'] : ['n', 'm'];
        return [{ op: 'lock', m: a }, { op: 'lock', m: b }, ...body, { op: 'unlock', m: b }, { op: 'unlock', m: a }];
      });
    }
    if (this.has('down_read', 'up_read')) f.readLock = inner(1).map((body): OpSpec[] => [{ op: 'down_read' }, ...body, { op: 'up_read' }]);
    if (this.has('down_write', 'up_write')) f.writeLock = inner(1).map((body): OpSpec[] => [{ op: 'down_write' }, ...body, { op: 'up_write' }]);
    if (this.has('irqs') && place.cpu !== null && place.kind === 'task') {
      const cpu = place.cpu;
      f.irqsOff = inner(1).map((body): OpSpec[] => [{ op: 'irqs', cpu, off: true }, ...body, { op: 'irqs', cpu, off: false }]);
    }
    if (this.has('stop')) f.stop = fc.tuple(fc.constantFrom(...CPUS), inner(1)).map(([cpu, body]): OpSpec[] => [{ op: 'stop', cpu, stopped: true }, ...body, { op: 'stop', cpu, stopped: false }]);
    if (this.has('spawn') && !spawned) f.spawn = this.child(tso).map((thread): OpSpec[] => [{ op: 'spawn', thread }]);
    return f;
  }

  private fragment(place: Place, tso: boolean, spawned: boolean): fc.Arbitrary<OpSpec[]> {
    const weights = { ...DEFAULT_WEIGHTS, ...this.o.weights };
    const arbs: Array<fc.WeightedArbitrary<OpSpec[]>> = [];
    for (const [kind, arbitrary] of Object.entries(this.fragments(place, tso, spawned)) as Array<[Fragment, fc.Arbitrary<OpSpec[]>]>) {
      if (weights[kind] > 0) arbs.push({ arbitrary, weight: weights[kind] });
    }
    return fc.oneof(...arbs);
  }

  /** A spawned thread: an agent, or a handler on a CPU. */
  private child(tso: boolean): fc.Arbitrary<ThreadData> {
    const arbs = [this.threadAt({ kind: 'agent', cpu: null }, tso, true, 1)];
    if (this.o.threads.includes('irq')) for (const cpu of CPUS) arbs.push(this.threadAt({ kind: 'irq', cpu }, tso, true, 1));
    return fc.oneof(...arbs);
  }

  private threadAt(place: Place, tso: boolean, spawned: boolean, maxFragments: number): fc.Arbitrary<ThreadData> {
    return fc.array(this.fragment(place, tso, spawned), { minLength: 1, maxLength: maxFragments }).map((fs) => ({ ...place, ops: fs.flat() }) as ThreadData);
  }

  /** An initial thread: an agent (bound to a CPU only if CPUs can be stopped), a task or a handler on CPU 0 or 1. */
  private thread(tso: boolean): fc.Arbitrary<ThreadData> {
    const max = this.o.maxFragments;
    const arbs: Array<fc.WeightedArbitrary<ThreadData>> = [];
    for (const kind of this.o.threads) {
      if (kind === 'agent') arbs.push({ arbitrary: this.threadAt({ kind, cpu: null }, tso, false, max), weight: 2 });
      if (kind !== 'agent' || this.has('stop')) for (const cpu of CPUS) arbs.push({ arbitrary: this.threadAt({ kind, cpu }, tso, false, max), weight: 1 });
    }
    return fc.oneof(...arbs);
  }

  private property(): fc.Arbitrary<PropertyData> {
    return fc.oneof(
      fc.record({ locs: fc.uniqueArray(dataLoc, { minLength: 1, maxLength: 2 }), sum: fc.integer({ min: 0, max: 3 }) }).map((r): PropertyData => ({ kind: 'final', ...r })),
      fc.record({ tag, value: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }) }).map(({ tag, value }): PropertyData => (value === undefined ? { kind: 'event', tag } : { kind: 'event', tag, value })),
      fc.record({ first: tag, then: tag }).map((r): PropertyData => ({ kind: 'order', ...r })),
      fc.record({ tag, atLeast: fc.constantFrom(2, 3) }).map((r): PropertyData => ({ kind: 'count', ...r })),
    );
  }

  program(): fc.Arbitrary<ProgramSpec> {
    const body = (tso: boolean) =>
      fc.record({
        threads: fc.array(this.thread(tso), { minLength: 2, maxLength: this.o.maxThreads }),
        properties: fc.array(this.property(), { minLength: 0, maxLength: 3 }),
      });
    const small = (p: ProgramSpec): boolean => [...programOps(p)].length <= this.o.maxOps && [...programThreads(p)].length <= this.o.maxAllThreads;
    const sc = body(false).filter(small);
    if (!this.o.tso) return sc;
    const tso = body(true).map((p): ProgramSpec => ({ memoryModel: 'tso', ...p })).filter(small);
    return fc.oneof({ arbitrary: sc, weight: 4 }, { arbitrary: tso, weight: 1 });
  }
}

/** Programs as `opts` describes (EVERY_OP by default). */
export function arbProgram(opts: GenOptions = EVERY_OP): fc.Arbitrary<ProgramSpec> {
  return new ProgramArbitraries(opts).program();
}
