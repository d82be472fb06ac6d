/**
 * The timed simulator driven by a fixed order of steps (a schedule the checker found), instead
 * of by its own event heap: the same Execution, TimingModel and observers as simulate(), but
 * which thread steps next, and how each choice resolves, come from the schedule.
 *
 * How the order maps to time. Each step starts at the earliest time that
 *  - is not before the start of any earlier step of the schedule it depends on: one that wrote a
 *    location it reads or writes, or read a location it writes (its footprint, StepRecord.reads
 *    and .writes, the machine's implicit locations included). A step's effect happens at its
 *    start, as in simulate(). Independent steps may overlap or run in another order than the
 *    schedule's: the timed run is the same execution up to the order of commuting steps (the same
 *    Mazurkiewicz trace the checker explored), the same values read, the same violations;
 *  - its thread may run: the end of its previous step, or, for a step with a minimum wait, that
 *    wait's end plus the wake latency (as simulate() schedules it); for a thread spawned by a
 *    step, that step's end plus the start delay (an IPI's delivery);
 *  - for a thread that was blocked (a guard was false), the end of the step that unblocked it
 *    (simulate() wakes a parked thread at the end of the step that wrote what it waits on);
 *  - for a task or interrupt thread, its CPU is free (the end of the last step that occupied it).
 * So the times are the earliest the schedule could have happened on the machine the timing model
 * describes. The schedule must be valid (each step's thread enabled), as for replay().
 */
import { Execution, ModelError, type Program, type ThreadState } from '../../core/execution.js';
import { Prng } from '../../core/prng.js';
import type { Schedule } from '../../core/schedule.js';
import type { Violation } from '../../core/property.js';
import type { SimObserver, TimingModel } from './engine.js';

export interface OrderedSimOptions {
  readonly schedule: Schedule;
  /** Seeds the PRNG the timing model draws from (jitter, stalls); choices come from the schedule. */
  readonly seed: number;
  readonly timing: TimingModel;
  readonly observers?: readonly SimObserver[];
}

export interface StepTime {
  readonly start: number;
  readonly end: number;
}

export interface OrderedSimResult {
  /** The execution, with its trace (one StepRecord per schedule step). */
  readonly exec: Execution;
  /** Start and end of each step, in ns, indexed like the trace. */
  readonly times: readonly StepTime[];
  /** When the last step ended. */
  readonly time: number;
  readonly violations: readonly Violation[];
  /**
   * Per thread id: the time it was blocked, in ns: from the end of the step after which its next
   * step could not run (a guard false) to the end of the step that let it run again.
   */
  readonly blocked: readonly number[];
}

export function simulateOrdered(program: Program, opts: OrderedSimOptions): OrderedSimResult {
  const exec = new Execution(program, { keepTrace: true });
  const rng = new Prng(opts.seed);
  const timing = opts.timing;
  const observers = opts.observers ?? [];
  const cpuFree: number[] = new Array<number>(program.machine.cpus).fill(0);
  const readyAt: number[] = [];
  const deadline: number[] = [];
  const wasEnabled: boolean[] = [];
  const blockedSince: number[] = [];
  const blocked: number[] = [];
  const times: StepTime[] = [];

  /** As simulate()'s schedule(): a step with a minimum wait may start once the wait is over. */
  const ready = (t: ThreadState, at: number): void => {
    const op = t.op;
    if (t.phase === 'body' && op !== null && op.kind === 'access' && op.minWait) {
      const d = at + timing.minWait(op.minWait, rng);
      deadline[t.id] = d;
      readyAt[t.id] = d + Math.max(0, Math.round(timing.wakeLatency?.(op.minWait, t, exec) ?? 0));
    } else {
      deadline[t.id] = NaN;
      readyAt[t.id] = at;
    }
  };
  const track = (t: ThreadState, at: number): void => {
    const en = t.phase !== 'done' && exec.isEnabled(t);
    blocked[t.id] ??= 0;
    if (wasEnabled[t.id] !== false && !en && t.phase !== 'done') blockedSince[t.id] = at;
    else if (wasEnabled[t.id] === false && en) {
      blocked[t.id] = (blocked[t.id] as number) + (at - (blockedSince[t.id] ?? at));
      // Unblocked by the step that just ended: it may run from then on.
      if ((readyAt[t.id] as number) < at) readyAt[t.id] = at;
    }
    wasEnabled[t.id] = en;
  };

  for (const t of exec.threads) {
    ready(t, 0);
    track(t, 0);
  }
  /** Start of the last step that wrote / read each location. */
  const lastWrite = new Map<string, number>();
  const lastRead = new Map<string, number>();
  let last = 0;
  for (const [i, s] of opts.schedule.entries()) {
    if (s.thread >= exec.threads.length || !exec.isEnabled(exec.thread(s.thread))) {
      const en = exec.enabled().map((tid) => `${tid} (${exec.thread(tid).spec.name}: ${exec.pending(tid).fn})`);
      const what = s.thread >= exec.threads.length ? 'does not exist yet' : 'is not enabled';
      throw new ModelError(`timed replay step ${i}: thread ${s.thread} ${what}; enabled: ${en.join(', ') || 'none'}`);
    }
    const t = exec.thread(s.thread);
    const cpu = t.spec.cpu;
    const occupies = t.spec.kind !== 'agent' && cpu !== null;
    // The step runs first (its footprint is known then); its start is computed from it.
    const rec = exec.step(t.id, s.choice, true);
    let start = readyAt[t.id] as number;
    if (occupies) start = Math.max(start, cpuFree[cpu] as number);
    for (const l of rec.reads) start = Math.max(start, lastWrite.get(l) ?? 0);
    for (const [l] of rec.writes) start = Math.max(start, lastWrite.get(l) ?? 0, lastRead.get(l) ?? 0);
    for (const l of rec.reads) lastRead.set(l, Math.max(lastRead.get(l) ?? 0, start));
    for (const [l] of rec.writes) lastWrite.set(l, start);
    const dl = deadline[t.id] as number;
    const late = dl === dl ? Math.max(0, start - dl) : 0;
    const d = timing.duration(rec, exec, rng);
    const end = d > 0 ? start + Math.round(d) : start;
    if (occupies) cpuFree[cpu] = end;
    times.push({ start, end });
    if (end > last) last = end;
    for (const o of observers) o.onStep(rec, start, end, late, exec);
    if (rec.kind === 'spawn' && rec.spawned !== undefined) {
      const child = exec.thread(rec.spawned);
      ready(child, end + Math.max(0, Math.round(timing.startDelay(child, rec, exec))));
      wasEnabled[child.id] = true;
    }
    ready(t, end);
    for (const u of exec.threads) track(u, end);
  }
  return { exec, times, time: last, violations: exec.violations, blocked: exec.threads.map((t) => blocked[t.id] ?? 0) };
}
