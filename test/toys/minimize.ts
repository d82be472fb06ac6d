/**
 * Greedy minimisation of a failing ProgramSpec, after fast-check's own shrinking: fast-check
 * shrinks along the generator's structure (whole fragments, whole threads), this goes further on
 * the flat data: drop any thread, op or property, drop an op's branch condition or mark, turn a
 * task or handler into an agent, TSO into SC, a value into a smaller one. It keeps the first
 * simplification that still fails and starts over, until none does.
 */
import type { DataLoc, OpSpec, ProgramSpec, ThreadData } from './program-spec.js';

export function minimize(spec: ProgramSpec, fails: (s: ProgramSpec) => boolean, maxChecks = 5000): ProgramSpec {
  let best = spec;
  let checks = 0;
  for (let progress = true; progress && checks < maxChecks; ) {
    progress = false;
    for (const candidate of simplifications(best)) {
      if (++checks > maxChecks) break;
      if (fails(candidate)) {
        best = candidate;
        progress = true;
        break;
      }
    }
  }
  return best;
}

/** Path of a thread: the initial thread's index, then the index of each spawn op down to it. */
type ThreadPath = readonly number[];

function* threadPaths(spec: ProgramSpec): Generator<{ path: ThreadPath; thread: ThreadData }> {
  function* walk(path: ThreadPath, thread: ThreadData): Generator<{ path: ThreadPath; thread: ThreadData }> {
    yield { path, thread };
    for (let i = 0; i < thread.ops.length; i++) {
      const op = thread.ops[i] as OpSpec;
      if (op.op === 'spawn') yield* walk([...path, i], op.thread);
    }
  }
  for (let i = 0; i < spec.threads.length; i++) yield* walk([i], spec.threads[i] as ThreadData);
}

/** `spec` with the thread at `path` replaced by `f` of it. */
function withThread(spec: ProgramSpec, path: ThreadPath, f: (t: ThreadData) => ThreadData): ProgramSpec {
  const edit = (t: ThreadData, rest: readonly number[]): ThreadData => {
    if (rest.length === 0) return f(t);
    const [i, ...more] = rest as [number, ...number[]];
    const ops = t.ops.map((op, k) => (k === i && op.op === 'spawn' ? { ...op, thread: edit(op.thread, more) } : op));
    return { ...t, ops } as ThreadData;
  };
  const [first, ...rest] = path as [number, ...number[]];
  return { ...spec, threads: spec.threads.map((t, k) => (k === first ? edit(t, rest) : t)) };
}

function withOps(t: ThreadData, ops: readonly OpSpec[]): ThreadData {
  return { ...t, ops } as ThreadData;
}

function* simplifications(spec: ProgramSpec): Generator<ProgramSpec> {
  for (let i = 0; i < spec.threads.length; i++) yield { ...spec, threads: spec.threads.filter((_, k) => k !== i) };
  const paths = [...threadPaths(spec)];
  for (const { path, thread } of paths) {
    for (let i = 0; i < thread.ops.length; i++) {
      const op = thread.ops[i] as OpSpec;
      yield withThread(spec, path, (t) => withOps(t, t.ops.filter((_, k) => k !== i)));
      // A spawned thread's ops run by its creator instead.
      if (op.op === 'spawn') yield withThread(spec, path, (t) => withOps(t, [...t.ops.slice(0, i), ...op.thread.ops, ...t.ops.slice(i + 1)]));
    }
  }
  for (let i = 0; i < spec.properties.length; i++) yield { ...spec, properties: spec.properties.filter((_, k) => k !== i) };
  if (spec.memoryModel === 'tso') yield { threads: spec.threads, properties: spec.properties };
  for (const { path, thread } of paths) {
    if (thread.kind !== 'agent' || thread.cpu !== null) yield withThread(spec, path, (t) => ({ kind: 'agent', cpu: null, ops: t.ops }));
    if (thread.kind !== 'agent' && thread.cpu > 0) yield withThread(spec, path, (t) => ({ ...t, cpu: 0 }) as ThreadData);
    for (let i = 0; i < thread.ops.length; i++) {
      for (const simpler of simplerOps(thread.ops[i] as OpSpec)) {
        yield withThread(spec, path, (t) => withOps(t, t.ops.map((o, k) => (k === i ? simpler : o))));
      }
    }
  }
}

/** The location named before `l`, if any (z to y, y to x). */
function lowerLoc(l: DataLoc): DataLoc | null {
  return l === 'z' ? 'y' : l === 'y' ? 'x' : null;
}

/** Simpler forms of one op: without its condition, mark or ordering, with smaller values and locations. */
function* simplerOps(op: OpSpec): Generator<OpSpec> {
  const drop = <K extends string>(key: K): OpSpec => {
    const copy: Record<string, unknown> = { ...op };
    delete copy[key];
    return copy as OpSpec;
  };
  if (op.when !== undefined) yield drop('when');
  if ('mark' in op && op.mark !== undefined) yield drop('mark');
  if ('ord' in op && op.ord !== undefined) yield drop('ord');
  if (op.op === 'wait' && op.set !== undefined) yield drop('set');
  if (op.op === 'wait' && op.locs.length > 1) yield { ...op, locs: op.locs.slice(0, 1) };
  if (op.op === 'write' && op.val === 'r+1') yield { ...op, val: 1 };
  for (const key of ['val', 'n', 'add', 'set', 'expect', 'bits'] as const) {
    const v = (op as Record<string, unknown>)[key];
    if (typeof v === 'number' && v > 0 && op.op !== 'choose') yield { ...op, [key]: v - 1 } as OpSpec;
  }
  for (const key of ['loc', 'from', 'to'] as const) {
    const v = (op as Record<string, unknown>)[key];
    const lower = typeof v === 'string' ? lowerLoc(v as DataLoc) : null;
    if (lower !== null) yield { ...op, [key]: lower } as OpSpec;
  }
  if (op.op === 'choose' && op.n === 3) yield { ...op, n: 2 };
  if (op.op === 'copy') yield { op: 'read', loc: op.from, ...(op.when === undefined ? {} : { when: op.when }) };
  if (op.op === 'cas' || op.op === 'fetch_add') yield { op: 'write', loc: op.loc, val: 1, ...(op.when === undefined ? {} : { when: op.when }) };
}
