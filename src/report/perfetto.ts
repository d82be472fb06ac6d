/**
 * An execution as a Chrome trace-event JSON file (opens in ui.perfetto.dev and chrome://tracing).
 *
 * One process for the scenario; one track per CPU with a slice per step (named after the kernel
 * function), interrupt handlers as slices that enclose their steps; a track per CPU for its
 * IRQ-disabled regions; agents (MMU walkers, RCU callbacks, the KVM host) on tracks of their own;
 * grace periods as async slices; IPIs as flow arrows from the sending step to the handler; the
 * step where an invariant broke as an instant event on its CPU's track, named for the invariant.
 * Page tables (model/table-ledger.ts, names as in the text traces): a process of their own with
 * an async slice per table's life, from its allocation (or the trace's start) to its free, a flow
 * arrow from a table's free to each stale read of it, and a counter of the tables unhooked and
 * not yet freed.
 *
 * The checker's executions have no time: step i is drawn at i microseconds, one microsecond long,
 * and the trace says so (process name, `otherData.time_axis`). A simulator trace passes real
 * timestamps instead (`timeOf`). What is still open at the trace's end (a grace period, a table's
 * life, an IRQ-off region) is closed there, with `open_at_trace_end: true`.
 */
import type { StepRecord } from '../core/trace.js';
import type { Value } from '../core/value.js';
import { TableLedger } from '../model/table-ledger.js';

export interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly pid: number;
  readonly tid?: number;
  readonly id?: number | string;
  readonly cat?: string;
  readonly s?: string;
  readonly bp?: string;
  readonly args?: { readonly [key: string]: Value };
}

export interface PerfettoInput {
  readonly title: string;
  readonly trace: readonly StepRecord[];
  readonly threadNames: readonly string[];
  readonly threadKinds: readonly string[];
  readonly threadCpus: ReadonlyArray<number | null>;
  readonly cpus: number;
  readonly violation?: { readonly step: number; readonly property: string; readonly message: string };
  /** Start time (µs) and duration of each step; defaults to index and 1 (a checker's steps). */
  readonly timeOf?: (r: StepRecord) => { ts: number; dur: number };
  /** The run's page tables; default: a ledger of `trace` (right for a trace that starts at boot). */
  readonly tables?: TableLedger;
  /** Extra facts for `otherData` (e.g. the simulator's window). */
  readonly otherData?: { readonly [key: string]: Value };
}

export interface PerfettoTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: string;
  /** Trace-wide metadata (the Trace Event Format's `otherData`): what the time axis means. */
  otherData: { [key: string]: Value };
}

/** What the time axis of a checker's trace means, in its metadata and its process name. */
export const STEP_AXIS = 'steps: step i is drawn at i µs, 1 µs long (1 step = 1 µs); the checker has no time';
export const SIM_AXIS = 'simulated time (µs)';

const PID = 1;
/** Track ids: CPU n's steps on n, its IRQ-off regions on IRQ_BASE + n, agents after. */
const IRQ_BASE = 1000;
const AGENT_BASE = 2000;
/** The page tables' process: one async slice per table life. */
const TABLES_PID = 2;

export function perfettoTrace(input: PerfettoInput): PerfettoTrace {
  const time = input.timeOf ?? ((r: StepRecord) => ({ ts: r.index, dur: 1 }));
  const axis = input.timeOf ? SIM_AXIS : STEP_AXIS;
  const tables = input.tables ?? TableLedger.of(input.trace);
  const events: TraceEvent[] = [];
  const meta = (tid: number, name: string, sort: number): void => {
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: sort } });
  };
  events.push({ name: 'process_name', ph: 'M', pid: PID, args: { name: `ptlab: ${input.title}${input.timeOf ? '' : ' [time axis: steps, 1 step = 1 µs]'}` } });
  events.push({ name: 'process_labels', ph: 'M', pid: PID, args: { labels: `time axis: ${axis}` } });
  events.push({ name: 'process_sort_index', ph: 'M', pid: PID, args: { sort_index: 0 } });
  for (let c = 0; c < input.cpus; c++) {
    const task = input.threadNames.find((_, i) => input.threadCpus[i] === c && input.threadKinds[i] === 'task');
    meta(c, `CPU${c}${task ? ` ${task}` : ''}`, c * 2);
    meta(IRQ_BASE + c, `CPU${c} IRQs off`, c * 2 + 1);
  }
  // One track per agent name (an MMU, the host, a kind of RCU callback).
  const agentTid = new Map<string, number>();
  const tidOf = (r: StepRecord): number => {
    if (r.threadKind !== 'agent') return r.cpu ?? 0;
    let tid = agentTid.get(r.threadName);
    if (tid === undefined) {
      tid = AGENT_BASE + agentTid.size;
      agentTid.set(r.threadName, tid);
      meta(tid, r.threadName, 10_000 + agentTid.size);
    }
    return tid;
  };

  const irqOffSince = new Map<number, number>();
  const handlerStart = new Map<number, number>();
  const spawnFlow = new Map<number, { ts: number; tid: number }>();
  let flowId = 0;
  const openGp = new Map<string, string>();
  let lastTs = 0;
  let firstTs: number | null = null;
  /** Where each step was drawn, for the flows and slices that refer to it. */
  const drawn = new Map<number, { ts: number; dur: number; tid: number }>();

  let prevIndex: number | null = null;
  /** Close what is open at `at` (the trace's end, or the end of a part before a gap in it). */
  const closeOpen = (at: number, args: { [key: string]: Value }): void => {
    for (const [cpu, start] of irqOffSince) events.push({ name: 'IRQs off', cat: 'irqs', ph: 'X', ts: start, dur: at - start, pid: PID, tid: IRQ_BASE + cpu, args });
    irqOffSince.clear();
    for (const [id, name] of openGp) events.push({ name, cat: 'rcu', ph: 'e', id, ts: at, pid: PID, args });
    openGp.clear();
  };

  for (const r of input.trace) {
    const { ts, dur } = time(r);
    // A simulator's trace can skip steps (its window, then the steps before a violation).
    if (prevIndex !== null && r.index !== prevIndex + 1) closeOpen(lastTs, { open_at_trace_gap: true, note: `still open where the trace skips from step ${prevIndex} to ${r.index}: cut here` });
    prevIndex = r.index;
    lastTs = Math.max(lastTs, ts + dur);
    firstTs ??= ts;
    const tid = tidOf(r);
    drawn.set(r.index, { ts, dur, tid });
    if (r.kind === 'irq-entry') handlerStart.set(r.thread, ts);
    if (r.kind === 'irq-exit') {
      const start = handlerStart.get(r.thread) ?? ts;
      events.push({ name: input.threadNames[r.thread] ?? 'interrupt', cat: 'irq', ph: 'X', ts: start, dur: ts + dur - start, pid: PID, tid });
    }
    const args: Record<string, Value> = { desc: tables.rename(r.desc, r.index), thread: input.threadNames[r.thread] ?? String(r.thread), step: r.index };
    if (r.note) args.note = tables.rename(r.note, r.index);
    if (r.choice) args.choice = r.choice.option;
    events.push({ name: r.fn, cat: r.kind, ph: 'X', ts, dur, pid: PID, tid, args });

    // IPIs: a flow from the step that queued the IPI to the handler's entry (drawn when the
    // handler is entered, so a recycled thread id still pairs with its latest spawn).
    if (r.spawned !== undefined) spawnFlow.set(r.spawned, { ts, tid });
    const from = r.kind === 'irq-entry' ? spawnFlow.get(r.thread) : undefined;
    if (from) {
      const id = ++flowId;
      events.push({ name: 'IPI', cat: 'ipi', ph: 's', id, ts: from.ts, pid: PID, tid: from.tid });
      events.push({ name: 'IPI', cat: 'ipi', ph: 'f', bp: 'e', id, ts, pid: PID, tid });
      spawnFlow.delete(r.thread);
    }

    // IRQ-disabled regions of the CPU's task (handlers run with IRQs off by definition).
    for (const [loc, v] of r.writes) {
      const m = /^cpu(\d+)\.irqs_off$/.exec(loc);
      if (!m || r.threadKind !== 'task') continue;
      const cpu = Number(m[1]);
      if (v === true && !irqOffSince.has(cpu)) irqOffSince.set(cpu, ts);
      if (v === false && irqOffSince.has(cpu)) {
        const start = irqOffSince.get(cpu) as number;
        irqOffSince.delete(cpu);
        events.push({ name: 'IRQs off', cat: 'irqs', ph: 'X', ts: start, dur: ts + dur - start, pid: PID, tid: IRQ_BASE + cpu });
      }
    }

    for (const ev of r.events) {
      if (ev.type === 'gp_start') {
        const id = String(ev.gp);
        const name = `grace period ${id} (${ev.fn})`;
        openGp.set(id, name);
        events.push({ name, cat: 'rcu', ph: 'b', id, ts, pid: PID, args: { waits_for: ev.readers as Value } });
      }
      const open = ev.type === 'gp_end' ? openGp.get(String(ev.gp)) : undefined;
      if (open !== undefined) {
        openGp.delete(String(ev.gp));
        events.push({ name: open, cat: 'rcu', ph: 'e', id: String(ev.gp), ts: ts + dur, pid: PID });
      }
    }
    if (input.violation && input.violation.step === r.index) {
      const v = input.violation;
      events.push({ name: v.property, cat: 'violation', ph: 'i', s: 't', ts, pid: PID, tid, args: { invariant: v.property, message: tables.rename(v.message, r.index), step: r.index, fn: r.fn, desc: tables.rename(r.desc, r.index) } });
    }
  }
  const end = lastTs;
  // Close what the execution left open (a walker stopped at the violation, a pending grace period).
  closeOpen(end, { open_at_trace_end: true, note: 'still open when the trace ends: cut here' });
  tableEvents(events, tables, drawn, firstTs ?? 0, end, () => ++flowId);
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { time_axis: axis, ...(input.otherData ?? {}) } };
}

/**
 * The page tables' process: a slice per table life from allocation to free, cut at the trace's
 * edges; a flow from a table's free to each stale read of it (on the reader's CPU); the count of
 * tables waiting to be freed as a counter on the main process. Only facts at drawn steps count.
 */
function tableEvents(events: TraceEvent[], tables: TableLedger, drawn: ReadonlyMap<number, { ts: number; dur: number; tid: number }>, start: number, end: number, nextFlow: () => number): void {
  const at = (step: number | null): { ts: number; dur: number; tid: number } | undefined => (step === null ? undefined : drawn.get(step));
  const indices = [...drawn.keys()].sort((x, y) => x - y);
  /** The end of the last drawn step before `step` (where a life freed in a gap of the trace is cut). */
  const endBefore = (step: number): number => {
    let lo = 0;
    let hi = indices.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((indices[mid] as number) < step) lo = mid + 1;
      else hi = mid;
    }
    const d = lo > 0 ? drawn.get(indices[lo - 1] as number) : undefined;
    return d ? d.ts + d.dur : start;
  };
  const lives = tables.seen.filter((l) => at(l.allocStep) || at(l.freeStep));
  if (lives.length > 0) {
    events.push({ name: 'process_name', ph: 'M', pid: TABLES_PID, args: { name: 'page tables (allocation to free)' } });
    events.push({ name: 'process_sort_index', ph: 'M', pid: TABLES_PID, args: { sort_index: 1 } });
  }
  for (const life of lives) {
    const name = TableLedger.nameOf(life);
    const id = `pt:${life.page}:${life.gen}`;
    const a = at(life.allocStep);
    const f = at(life.freeStep);
    const args: Record<string, Value> = { page: life.page, gen: life.gen, owner: life.owner, level: life.level };
    if (a) args.allocated_by = life.allocFn;
    else args.allocated = life.allocStep === null ? 'before the trace (at boot, or before the window)' : 'before the trace';
    events.push({ name, cat: 'page-table', ph: 'b', id, ts: a ? a.ts : start, pid: TABLES_PID, args });
    if (f) events.push({ name, cat: 'page-table', ph: 'e', id, ts: f.ts + f.dur, pid: TABLES_PID, args: { freed_by: life.freeFn } });
    else if (life.freeStep !== null) events.push({ name, cat: 'page-table', ph: 'e', id, ts: endBefore(life.freeStep), pid: TABLES_PID, args: { open_at_trace_gap: true, note: `freed at step ${life.freeStep}, where the trace skips: cut here`, freed_by: life.freeFn } });
    else events.push({ name, cat: 'page-table', ph: 'e', id, ts: end, pid: TABLES_PID, args: { open_at_trace_end: true, note: 'not freed when the trace ends' } });
  }
  for (const read of tables.staleReads) {
    const r = at(read.step);
    const f = at(read.freeStep);
    if (!r || !f) continue;
    const id = nextFlow();
    const life = tables.lifeOf(read.page, read.expectGen);
    const name = `stale read of ${life ? TableLedger.nameOf(life) : read.page}`;
    events.push({ name, cat: 'stale-read', ph: 's', id, ts: f.ts, pid: PID, tid: f.tid, args: { freed_at_step: read.freeStep } });
    events.push({ name, cat: 'stale-read', ph: 'f', bp: 'e', id, ts: r.ts, pid: PID, tid: r.tid, args: { read_at_step: read.step, page_state: read.state } });
  }
  // The counter: its value at the first drawn step, then at each drawn change.
  const changes = tables.pendingAt;
  let k = 0;
  let value = 0;
  let shown: number | null = null;
  for (const [step, d] of [...drawn].sort((x, y) => x[0] - y[0])) {
    while (k < changes.length && (changes[k] as readonly [number, number])[0] <= step) value = (changes[k++] as readonly [number, number])[1];
    if (value !== shown) {
      events.push({ name: 'page tables waiting to be freed', cat: 'page-table', ph: 'C', ts: d.ts, pid: PID, args: { tables: value } });
      shown = value;
    }
  }
}
