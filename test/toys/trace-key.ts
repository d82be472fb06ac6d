/**
 * Canonical keys of executions, for comparing explorations: the Mazurkiewicz trace of an
 * execution and its final state, independent of the order the threads were created in.
 *
 * Thread ids are assigned in creation order, so two equivalent executions in which two threads
 * spawn in a different order number the children differently. Here a thread is named by a stable
 * identity instead: an initial thread by its index (`#1`), a spawned one by its creator's identity
 * and the index of the spawn among its creator's spawns (`#1/0`).
 *
 * The dependence relation is the checker's (src/engines/check/footprint.ts), written out again
 * here so that the oracle does not share the engine's code: a step's footprint is its record's
 * reads (declared and the machine's implicit ones) and the locations it actually wrote; two steps
 * of different threads conflict if one writes a location the other reads or writes, unless both
 * carry the same commutativity tag and both cover that location. A thread's steps are ordered,
 * and a spawn comes before every step of the thread it creates. A choose step is identified with
 * the option it took.
 */
import { machineLocs, type Execution, type StepRecord } from '../../src/core/index.js';

/** Stable identity of every thread that appears in `trace` (or is an initial thread), by id. */
export function threadIdentities(trace: readonly StepRecord[]): Map<number, string> {
  const ids = new Map<number, string>();
  const spawns = new Map<number, number>();
  const identity = (tid: number): string => {
    let id = ids.get(tid);
    // A thread not spawned in the trace is an initial one: its id is its index.
    if (id === undefined) ids.set(tid, (id = `#${tid}`));
    return id;
  };
  for (const r of trace) {
    const parent = identity(r.thread);
    if (r.spawned === undefined) continue;
    const k = spawns.get(r.thread) ?? 0;
    spawns.set(r.thread, k + 1);
    ids.set(r.spawned, `${parent}/${k}`);
  }
  return ids;
}

interface Footprint {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly commutes: StepRecord['commutes'];
}

function footprint(r: StepRecord): Footprint {
  return { reads: r.reads, writes: r.writes.map(([l]) => l), commutes: r.commutes };
}

function commuteOn(a: Footprint, b: Footprint, loc: string): boolean {
  return a.commutes !== undefined && b.commutes !== undefined && a.commutes.tag === b.commutes.tag && a.commutes.locs.includes(loc) && b.commutes.locs.includes(loc);
}

/** Do two steps of different threads conflict? */
export function conflict(a: Footprint, b: Footprint): boolean {
  for (const w of a.writes) if ((b.writes.includes(w) || b.reads.includes(w)) && !commuteOn(a, b, w)) return true;
  for (const w of b.writes) if (a.reads.includes(w) && !commuteOn(a, b, w)) return true;
  return false;
}

/**
 * The trace's canonical linearisation: repeatedly, among the steps all of whose predecessors
 * (program order, the spawn of their thread, earlier conflicting steps) are emitted, emit the
 * least by (thread identity, position in the thread). Two executions get the same key exactly
 * when they are equivalent (the canonical schedule, with its choices, determines the execution).
 */
export function traceKey(trace: readonly StepRecord[]): string {
  const ids = threadIdentities(trace);
  const n = trace.length;
  const fps = trace.map(footprint);
  const seq: number[] = [];
  const count = new Map<number, number>();
  for (const r of trace) {
    const k = (count.get(r.thread) ?? 0) + 1;
    count.set(r.thread, k);
    seq.push(k);
  }
  const succs: number[][] = Array.from({ length: n }, () => []);
  const preds = new Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) {
    const b = trace[j] as StepRecord;
    for (let i = 0; i < j; i++) {
      const a = trace[i] as StepRecord;
      const ordered = a.thread === b.thread || a.spawned === b.thread || conflict(fps[i] as Footprint, fps[j] as Footprint);
      if (!ordered) continue;
      (succs[i] as number[]).push(j);
      preds[j] = (preds[j] as number) + 1;
    }
  }
  const who = (i: number): string => ids.get((trace[i] as StepRecord).thread) as string;
  const before = (i: number, j: number): boolean => who(i) < who(j) || (who(i) === who(j) && (seq[i] as number) < (seq[j] as number));
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (preds[i] === 0) ready.push(i);
  const out: string[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let k = 1; k < ready.length; k++) if (before(ready[k] as number, ready[best] as number)) best = k;
    const i = ready.splice(best, 1)[0] as number;
    const r = trace[i] as StepRecord;
    out.push(`${who(i)}.${seq[i] as number}${r.choice ? `=${r.choice.index}` : ''}`);
    for (const j of succs[i] as number[]) {
      preds[j] = (preds[j] as number) - 1;
      if (preds[j] === 0) ready.push(j);
    }
  }
  return out.join(' ');
}

/**
 * An execution's final state: the store (a handler in a CPU's context slot named by its identity),
 * and where each unfinished thread is stuck (its identity and how many steps it took), e.g.
 * `{"cpu0.ctx":"#0/0","m":"T0","x":1} blocked: #1@2`.
 */
export function finalStateKey(exec: Execution): string {
  const ids = threadIdentities(exec.trace);
  // A CPU's context slot holds the id of the handler running there: named by its identity too.
  const ctxLocs = new Set(Array.from({ length: exec.program.machine.cpus }, (_, c) => machineLocs.ctx(c)));
  const store: Record<string, unknown> = {};
  for (const [loc, v] of exec.snapshot()) store[loc] = ctxLocs.has(loc) && typeof v === 'number' ? (ids.get(v) ?? `#${v}`) : v;
  const blocked = exec
    .blocked()
    .map((tid) => `${ids.get(tid) ?? `#${tid}`}@${exec.thread(tid).steps}`)
    .sort();
  return `${JSON.stringify(store)}${blocked.length > 0 ? ` blocked: ${blocked.join(' ')}` : ''}`;
}
