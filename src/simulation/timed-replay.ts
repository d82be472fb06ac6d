/**
 * A checker's schedule, replayed in time: the same steps in the same order, each given the time
 * it takes on a machine profile (engines/sim/ordered.ts says how the order maps to time). What
 * it answers: how long the race window of the counterexample was, in ns, which IPIs each CPU
 * took, and how long each CPU was held up.
 */
import type { Schedule } from '../core/schedule.js';
import type { Execution } from '../core/execution.js';
import { simulateOrdered, type StepTime } from '../engines/sim/ordered.js';
import type { LoadedScenario } from '../scenarios/resolve.js';
import { raceWindowOf } from '../model/race-window.js';
import { SimMetrics, type SimMetricsData } from './metrics.js';
import { resolveSim, simConfigOf, type ResolvedSim, type SimConfig } from './run.js';
import { ProfileTiming } from './timing.js';

export interface TimedWindow {
  readonly property: string;
  readonly message: string;
  readonly table: string | null;
  /** Step indexes (into the trace) that unhooked and freed/reused the table, and the violating one. */
  readonly steps: { readonly unhook: number | null; readonly free: number | null; readonly read: number };
  /** Start times, in ns, of those steps. */
  readonly at: { readonly unhook: number | null; readonly free: number | null; readonly read: number };
  /**
   * The window: from the unhook to the free (or reuse), in ns: how long a walker that loaded the
   * pointer before the unhook must hold it to read a freed table; null when either is not in the trace.
   */
  readonly unhookToFree: number | null;
  /** From the free (or reuse) to the violation, in ns; null when no free of the table is in the trace. */
  readonly freeToRead: number | null;
  /** From the unhook to the stale read, in ns; null when no unhook of the table is in the trace. */
  readonly unhookToRead: number | null;
}

export interface TimedCpu {
  readonly cpu: number;
  /** IPIs received, as /proc/interrupts counts them. */
  readonly CAL: number;
  readonly TLB: number;
  /** IPIs sent. */
  readonly sent: number;
  /** ns in interrupt handlers. */
  readonly irqTime: number;
  /** ns the CPU's task threads were blocked (waiting for IPI acks, a grace period, a lock, ...). */
  readonly blocked: number;
  /** ns the CPU was busy running steps of its tasks and interrupt handlers. */
  readonly busy: number;
}

export interface TimedReplay {
  readonly sim: ResolvedSim;
  readonly exec: Execution;
  /** Start and end of each step, ns, indexed like exec.trace. */
  readonly times: readonly StepTime[];
  /** When the last step ended, ns. */
  readonly time: number;
  readonly metrics: SimMetricsData;
  readonly cpus: readonly TimedCpu[];
  /** The first violation's race window, or null when the schedule violates nothing. */
  readonly window: TimedWindow | null;
}

/** Replay `schedule` of a scenario loaded for checking, timed on the profile `cfg` (or the scenario's sim section) names. */
export function replayTimedScenario(scenario: LoadedScenario, schedule: Schedule, cli: Partial<SimConfig> = {}): TimedReplay {
  const cfg = simConfigOf(scenario, cli);
  const { profile, resolved } = resolveSim(scenario, cfg);
  const timing = new ProfileTiming({ profile, params: resolved.params, cstates: resolved.cstates, isolated: scenario.resolved.cpu.map((c) => c.isolated), chance: resolved.chance, jitter: resolved.jitter, stalls: resolved.stalls });
  const ncpus = scenario.resolved.cpus;
  const metrics = new SimMetrics(ncpus, 1_000);
  const run = simulateOrdered(scenario.program, { schedule, seed: resolved.seed, timing, observers: [timing, metrics] });
  const data = metrics.data(run.time);
  const busy = new Array<number>(ncpus).fill(0);
  const blocked = new Array<number>(ncpus).fill(0);
  for (const [i, rec] of run.exec.trace.entries()) {
    const t = run.times[i] as StepTime;
    if (rec.cpu !== null && rec.threadKind !== 'agent') busy[rec.cpu] = (busy[rec.cpu] as number) + (t.end - t.start);
  }
  for (const t of run.exec.threads) {
    if (t.spec.kind === 'task' && t.spec.cpu !== null) blocked[t.spec.cpu] = (blocked[t.spec.cpu] as number) + (run.blocked[t.id] as number);
  }
  const cpus = Array.from({ length: ncpus }, (_, c): TimedCpu => {
    const irq = data.interrupts[c] as { CAL: number; TLB: number };
    return { cpu: c, CAL: irq.CAL, TLB: irq.TLB, sent: data.ipisSent[c] as number, irqTime: data.irqTime[c] as number, blocked: blocked[c] as number, busy: busy[c] as number };
  });
  const v = run.violations[0];
  let window: TimedWindow | null = null;
  if (v) {
    const w = raceWindowOf(run.exec.trace, v);
    const at = (i: number | null): number | null => (i === null ? null : (run.times[i] as StepTime).start);
    const read = at(w.read) as number;
    const free = at(w.free);
    const unhook = at(w.unhook);
    window = {
      property: v.property,
      message: v.message,
      table: w.table,
      steps: { unhook: w.unhook, free: w.free, read: w.read },
      at: { unhook, free, read },
      unhookToFree: free === null || unhook === null ? null : free - unhook,
      freeToRead: free === null ? null : read - free,
      unhookToRead: unhook === null ? null : read - unhook,
    };
  }
  return { sim: resolved, exec: run.exec, times: run.times, time: run.time, metrics: data, cpus, window };
}
