/**
 * An execution as a Chrome trace-event JSON file (opens in ui.perfetto.dev and chrome://tracing).
 *
 * One process for the scenario; one track per CPU with a slice per step (named after the kernel
 * function), interrupt handlers as slices that enclose their steps; a track per CPU for its
 * IRQ-disabled regions; agents (MMU walkers, RCU callbacks, the KVM host) on tracks of their own;
 * grace periods as async slices; IPIs as flow arrows from the sending step to the handler; the
 * step where an invariant broke as an instant event.
 *
 * The checker's executions have no time: step i is drawn at i microseconds, one microsecond long.
 * A simulator trace passes real timestamps instead (`timeOf`).
 */
import type { StepRecord } from '../core/trace.js';
import type { Value } from '../core/value.js';

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
  /** Start time (µs) and duration of each step; defaults to index and 1. */
  readonly timeOf?: (r: StepRecord) => { ts: number; dur: number };
}

const PID = 1;
/** Track ids: CPU n's steps on n, its IRQ-off regions on IRQ_BASE + n, agents after. */
const IRQ_BASE = 1000;
const AGENT_BASE = 2000;

export function perfettoTrace(input: PerfettoInput): { traceEvents: TraceEvent[]; displayTimeUnit: string } {
  const time = input.timeOf ?? ((r: StepRecord) => ({ ts: r.index, dur: 1 }));
  const events: TraceEvent[] = [];
  const meta = (tid: number, name: string, sort: number): void => {
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: sort } });
  };
  events.push({ name: 'process_name', ph: 'M', pid: PID, args: { name: `ptlab: ${input.title}` } });
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
  const openGp = new Set<string>();
  let lastTs = 0;

  for (const r of input.trace) {
    const { ts, dur } = time(r);
    lastTs = Math.max(lastTs, ts + dur);
    const tid = tidOf(r);
    if (r.kind === 'irq-entry') handlerStart.set(r.thread, ts);
    if (r.kind === 'irq-exit') {
      const start = handlerStart.get(r.thread) ?? ts;
      events.push({ name: input.threadNames[r.thread] ?? 'interrupt', cat: 'irq', ph: 'X', ts: start, dur: ts + dur - start, pid: PID, tid });
    }
    const args: Record<string, Value> = { desc: r.desc, thread: input.threadNames[r.thread] ?? String(r.thread), step: r.index };
    if (r.note) args.note = r.note;
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
        openGp.add(id);
        events.push({ name: `grace period ${id} (${ev.fn})`, cat: 'rcu', ph: 'b', id, ts, pid: PID, args: { waits_for: ev.readers as Value } });
      }
      if (ev.type === 'gp_end' && openGp.delete(String(ev.gp))) {
        events.push({ name: `grace period ${String(ev.gp)} (${ev.fn})`, cat: 'rcu', ph: 'e', id: String(ev.gp), ts: ts + dur, pid: PID });
      }
    }
    if (input.violation && input.violation.step === r.index) {
      events.push({ name: input.violation.property, cat: 'violation', ph: 'i', s: 'g', ts, pid: PID, tid, args: { message: input.violation.message } });
    }
  }
  // Close what the execution left open (a walker stopped at the violation, a pending grace period).
  for (const [cpu, start] of irqOffSince) {
    events.push({ name: 'IRQs off', cat: 'irqs', ph: 'X', ts: start, dur: lastTs - start, pid: PID, tid: IRQ_BASE + cpu });
  }
  for (const id of openGp) events.push({ name: `grace period ${id}`, cat: 'rcu', ph: 'e', id, ts: lastTs, pid: PID });
  return { traceEvents: events, displayTimeUnit: 'ns' };
}
