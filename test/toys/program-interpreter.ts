/**
 * toProgram(): a ProgramSpec (program-spec.ts) as a Program over the core op protocol, so that
 * every engine can run a generated program. The machine is derived from the spec: as many CPUs
 * as the threads and ops name, the CPUs that some op stops are stoppable, and the initial store
 * holds the locations the spec uses.
 *
 * The bodies follow the op protocol: each op is built when it is yielded from the spec and the
 * register at that point, its description, footprint and guard from the spec alone; its effect's
 * writes, result and events follow from the values it reads and that register.
 */
import {
  access,
  choose,
  eventProperty,
  machineLocs,
  spawn,
  type DomainEvent,
  type Monitor,
  type Proc,
  type Program,
  type Property,
  type ThreadSpec,
  type Value,
} from '../../src/core/index.js';
import {
  RWSEM,
  programOps,
  programThreads,
  type DataLoc,
  type MarkEvent,
  type OpSpec,
  type ProgramSpec,
  type PropertyData,
  type Tag,
  type ThreadData,
} from './program-spec.js';

interface RwsemState {
  readonly [key: string]: Value;
  readonly writer: string | null;
  readonly readers: number;
}

const RWSEM_UNLOCKED: RwsemState = { writer: null, readers: 0 };

/** Name of the initial thread at index i; a spawned thread is named after its creator and the spawn op's index. */
export const initialThreadName = (i: number): string => `T${i}`;
const childName = (parent: string, opIndex: number): string => `${parent}.${opIndex}`;

export function toProgram(spec: ProgramSpec, name = 'random program'): Program {
  const tso = spec.memoryModel === 'tso';
  const threads = spec.threads.map((t, i) => threadSpec(t, initialThreadName(i), tso));
  return {
    name,
    machine: { cpus: cpuCount(spec), stoppable: stoppableCpus(spec) },
    init: initialStore(spec),
    threads,
    properties: spec.properties.map(toProperty),
    memoryModel: tso ? 'tso' : 'sc',
  };
}

function cpuCount(spec: ProgramSpec): number {
  let max = -1;
  for (const t of programThreads(spec)) if (t.cpu !== null) max = Math.max(max, t.cpu);
  for (const op of programOps(spec)) if (op.op === 'irqs' || op.op === 'stop') max = Math.max(max, op.cpu);
  return max + 1;
}

function stoppableCpus(spec: ProgramSpec): number[] {
  const cpus = new Set<number>();
  for (const op of programOps(spec)) if (op.op === 'stop') cpus.add(op.cpu);
  return [...cpus].sort((a, b) => a - b);
}

/** Locations an op reads or writes, apart from the machine's. */
function opLocs(op: OpSpec): string[] {
  switch (op.op) {
    case 'read':
    case 'write':
    case 'cas':
    case 'fetch_add':
    case 'add':
    case 'or':
      return [op.loc];
    case 'copy':
      return [op.from, op.to];
    case 'lock':
    case 'unlock':
      return [op.m];
    case 'down_read':
    case 'up_read':
    case 'down_write':
    case 'up_write':
      return [RWSEM];
    case 'wait':
      return op.set ? [...op.locs, op.set.loc] : [...op.locs];
    case 'choose':
    case 'spawn':
    case 'irqs':
    case 'stop':
    case 'mb':
      return [];
  }
}

function initialStore(spec: ProgramSpec): Map<string, Value> {
  const init = new Map<string, Value>();
  const used = new Set<string>();
  for (const op of programOps(spec)) for (const l of opLocs(op)) used.add(l);
  for (const p of spec.properties) if (p.kind === 'final') for (const l of p.locs) used.add(l);
  for (const l of [...used].sort()) {
    if (l === RWSEM) init.set(l, RWSEM_UNLOCKED);
    else if (l === 'm' || l === 'n') init.set(l, null);
    else init.set(l, 0);
  }
  return init;
}

function threadSpec(data: ThreadData, name: string, tso: boolean): ThreadSpec {
  return { name, cpu: data.cpu, kind: data.kind, body: () => runThread(data, name, tso) };
}

function* runThread(data: ThreadData, name: string, tso: boolean): Proc<void> {
  // Under TSO, 'store' ops of tasks and handlers go through their CPU's store buffer; agents are SC.
  const buffers = tso && data.kind !== 'agent';
  let r = 0;
  for (let i = 0; i < data.ops.length; i++) {
    const op = data.ops[i] as OpSpec;
    if (op.when !== undefined && op.when !== r) continue;
    const out = yield* runOp(op, { name, opIndex: i, register: r, buffers, tso });
    if (out !== undefined) r = out;
  }
}

interface OpContext {
  /** The thread's name: a lock's owner, and its children's names' prefix. */
  readonly name: string;
  readonly opIndex: number;
  readonly register: number;
  /** The thread's 'store' ops enter a store buffer. */
  readonly buffers: boolean;
  readonly tso: boolean;
}

function marks(tag: Tag | undefined, loc: string, value: MarkEvent['value'], write: boolean): DomainEvent[] | undefined {
  if (tag === undefined) return undefined;
  const ev: MarkEvent = { type: 'mark', tag, loc, value, write };
  return [ev];
}

const num = (v: Value): number => v as number;

/** Perform one op; returns the register's new value, or undefined when the op sets none. */
function* runOp(op: OpSpec, cx: OpContext): Proc<number | undefined> {
  const fn = op.op;
  switch (op.op) {
    case 'read':
      return yield* access<number>({
        fn,
        desc: `r = ${op.loc}`,
        reads: [op.loc],
        ordering: op.ord,
        effect: ([v]) => ({ result: num(v as Value), events: marks(op.mark, op.loc, num(v as Value), false) }),
      });
    case 'write': {
      const v = op.val === 'r+1' ? cx.register + 1 : op.val;
      yield* access({
        fn,
        desc: `${op.loc} = ${op.val}`,
        writes: [op.loc],
        ordering: op.ord,
        effect: () => ({ writes: [[op.loc, v]], events: marks(op.mark, op.loc, v, !(cx.buffers && op.ord === 'store')) }),
      });
      return undefined;
    }
    case 'copy':
      return yield* access<number>({
        fn,
        desc: `r = ${op.from}; ${op.to} = r + ${op.add}`,
        reads: [op.from],
        writes: [op.to],
        effect: ([v]) => ({ writes: [[op.to, num(v as Value) + op.add]], result: num(v as Value), events: marks(op.mark, op.to, num(v as Value) + op.add, true) }),
      });
    case 'cas':
      return yield* access<number>({
        fn,
        desc: `cas(${op.loc}, ${op.expect}, ${op.set})`,
        reads: [op.loc],
        writes: [op.loc],
        effect: ([v]) =>
          v === op.expect
            ? { writes: [[op.loc, op.set]], result: 1, events: marks(op.mark, op.loc, op.set, true) }
            : { result: 0, events: marks(op.mark, op.loc, num(v as Value), false) },
      });
    case 'fetch_add':
      return yield* access<number>({
        fn,
        desc: `r = ${op.loc}; ${op.loc} += ${op.n}`,
        reads: [op.loc],
        writes: [op.loc],
        effect: ([v]) => ({ writes: [[op.loc, num(v as Value) + op.n]], result: num(v as Value), events: marks(op.mark, op.loc, num(v as Value) + op.n, true) }),
      });
    case 'add':
      yield* access({
        fn,
        desc: `${op.loc} += ${op.n}`,
        reads: [op.loc],
        writes: [op.loc],
        commutes: 'add',
        effect: ([v]) => ({ writes: [[op.loc, num(v as Value) + op.n]] }),
      });
      return undefined;
    case 'or':
      yield* access({
        fn,
        desc: `${op.loc} |= ${op.bits}`,
        reads: [op.loc],
        writes: [op.loc],
        commutes: 'or',
        effect: ([v]) => ({ writes: [[op.loc, num(v as Value) | op.bits]] }),
      });
      return undefined;
    case 'lock':
      yield* access({
        fn,
        desc: `spin_lock(${op.m})`,
        reads: [op.m],
        writes: [op.m],
        guard: ([owner]) => owner === null,
        effect: () => ({ writes: [[op.m, cx.name]], events: marks(op.mark, op.m, cx.name, true) }),
      });
      return undefined;
    case 'unlock':
      yield* access({
        fn,
        desc: `spin_unlock(${op.m})`,
        reads: [op.m],
        writes: [op.m],
        effect: () => ({ writes: [[op.m, null]], events: marks(op.mark, op.m, null, true) }),
      });
      return undefined;
    case 'down_read':
      yield* rwsemOp(fn, 'down_read(rw)', (s) => s.writer === null, (s) => ({ writer: null, readers: s.readers + 1 }));
      return undefined;
    case 'up_read':
      yield* rwsemOp(fn, 'up_read(rw)', undefined, (s) => ({ writer: null, readers: s.readers - 1 }));
      return undefined;
    case 'down_write':
      yield* rwsemOp(fn, 'down_write(rw)', (s) => s.writer === null && s.readers === 0, () => ({ writer: cx.name, readers: 0 }));
      return undefined;
    case 'up_write':
      yield* rwsemOp(fn, 'up_write(rw)', undefined, () => RWSEM_UNLOCKED);
      return undefined;
    case 'wait': {
      const { locs, cmp, n, set } = op;
      const holds = (vals: readonly Value[]): boolean => {
        const sum = vals.reduce<number>((a, v) => a + num(v), 0);
        return cmp === 'eq' ? sum === n : sum >= n;
      };
      yield* access({
        fn,
        desc: `wait until ${locs.join(' + ')} ${cmp === 'eq' ? '==' : '>='} ${n}${set ? `, then ${set.loc} = ${set.val}` : ''}`,
        reads: locs,
        writes: set ? [set.loc] : [],
        guard: holds,
        effect: (vals) =>
          set
            ? { writes: [[set.loc, set.val]], events: marks(op.mark, set.loc, set.val, true) }
            : { events: marks(op.mark, locs[0] as DataLoc, num(vals[0] as Value), false) },
      });
      return undefined;
    }
    case 'choose':
      return yield* choose({ fn, desc: `one of ${op.n}` }, 'random', ['0', '1', '2'].slice(0, op.n));
    case 'spawn': {
      const name = childName(cx.name, cx.opIndex);
      yield* spawn({ fn, desc: `spawn ${name}` }, threadSpec(op.thread, name, cx.tso));
      return undefined;
    }
    case 'irqs': {
      const loc = machineLocs.irqsOff(op.cpu);
      yield* access({ fn, desc: `${loc} = ${op.off}`, writes: [loc], ordering: 'cpu', effect: () => ({ writes: [[loc, op.off]] }) });
      return undefined;
    }
    case 'stop': {
      const loc = machineLocs.stopped(op.cpu);
      yield* access({ fn, desc: `${loc} = ${op.stopped}`, writes: [loc], effect: () => ({ writes: [[loc, op.stopped]] }) });
      return undefined;
    }
    case 'mb':
      yield* access({ fn, desc: 'smp_mb()' });
      return undefined;
  }
}

function* rwsemOp(fn: string, desc: string, guard: ((s: RwsemState) => boolean) | undefined, next: (s: RwsemState) => RwsemState): Proc<void> {
  yield* access({
    fn,
    desc,
    reads: [RWSEM],
    writes: [RWSEM],
    guard: guard && (([s]) => guard(s as RwsemState)),
    effect: ([s]) => ({ writes: [[RWSEM, next(s as RwsemState)]] }),
  });
}

function toProperty(p: PropertyData, i: number): Property {
  const id = `p${i}-${p.kind}`;
  const isMark = (ev: DomainEvent): ev is DomainEvent & MarkEvent => ev.type === 'mark';
  switch (p.kind) {
    case 'final': {
      const monitor: Monitor = {
        onEvent: () => null,
        onEnd: (read) => {
          const sum = p.locs.reduce((a, l) => a + num(read(l)), 0);
          return sum === p.sum ? { message: `${p.locs.join(' + ')} == ${p.sum} at the end`, details: {} } : null;
        },
      };
      return { id, title: `never ${p.locs.join(' + ')} == ${p.sum} at the end`, description: 'a final-state property', monitor: () => monitor, stateless: true };
    }
    case 'event':
      return eventProperty(id, `no mark ${p.tag}${p.value === undefined ? '' : ` = ${p.value}`}`, 'a stateless event property', (ev) =>
        isMark(ev) && ev.tag === p.tag && (p.value === undefined || ev.value === p.value) ? { message: `mark ${p.tag} = ${String(ev.value)} on ${ev.loc}`, details: {} } : null,
      );
    case 'order':
      return {
        id,
        title: `no write marked ${p.then} after one marked ${p.first} on the same location`,
        description: 'a stateful monitor of the order of writes to each location',
        monitor: () => {
          const seen = new Set<string>();
          return {
            onEvent: (ev) => {
              if (!isMark(ev) || !ev.write) return null;
              if (ev.tag === p.then && seen.has(ev.loc)) return { message: `${p.then} after ${p.first} on ${ev.loc}`, details: {} };
              if (ev.tag === p.first) seen.add(ev.loc);
              return null;
            },
          };
        },
        stateless: false,
      };
    case 'count':
      return {
        id,
        title: `fewer than ${p.atLeast} marks ${p.tag}`,
        description: 'a stateful counting monitor',
        monitor: () => {
          let n = 0;
          return {
            onEvent: (ev) => (isMark(ev) && ev.tag === p.tag && ++n === p.atLeast ? { message: `mark ${p.tag} #${n}`, details: {} } : null),
          };
        },
        stateless: false,
      };
  }
}
