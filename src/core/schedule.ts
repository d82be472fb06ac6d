/**
 * Explicit schedules: which thread steps next, and how each choice resolves.
 *
 * A schedule is the replay recipe of an execution. Its one-line form is a space-separated list of
 * thread ids, with `:k` after a step that resolves a choice to option k, and `*n` to repeat a
 * step n times: `0*3 1 1 0:1 2`. Thread ids are assigned in creation order (initial threads
 * first, then each spawn), so the same schedule always names the same threads.
 *
 * `Driver` steps an execution under test or replay control and records the schedule it followed.
 */
import { Execution, ModelError, type Pending, type Program } from './execution.js';
import type { StepRecord } from './trace.js';

export interface ScheduleStep {
  readonly thread: number;
  readonly choice?: number;
}

export type Schedule = readonly ScheduleStep[];

export function encodeSchedule(schedule: Schedule): string {
  const parts: string[] = [];
  let i = 0;
  while (i < schedule.length) {
    const s = schedule[i] as ScheduleStep;
    const tok = s.choice === undefined ? `${s.thread}` : `${s.thread}:${s.choice}`;
    let n = 1;
    while (i + n < schedule.length) {
      const o = schedule[i + n] as ScheduleStep;
      if (o.thread !== s.thread || o.choice !== s.choice) break;
      n++;
    }
    parts.push(n > 1 ? `${tok}*${n}` : tok);
    i += n;
  }
  return parts.join(' ');
}

export class ScheduleSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleSyntaxError';
  }
}

/** Steps a schedule may decode to: more than any execution may take (Program.maxSteps' default is 100,000). */
export const MAX_SCHEDULE_STEPS = 1_000_000;

export function decodeSchedule(text: string): ScheduleStep[] {
  const out: ScheduleStep[] = [];
  const tokens = text.trim().split(/[\s,]+/).filter((s) => s.length > 0);
  for (const [pos, tok] of tokens.entries()) {
    const m = /^(\d+)(?::(\d+))?(?:\*(\d+))?$/.exec(tok);
    if (!m) {
      throw new ScheduleSyntaxError(`schedule token ${pos + 1} '${tok}': expected THREAD, THREAD:CHOICE, optionally followed by *COUNT`);
    }
    const thread = Number(m[1]);
    const choice = m[2] === undefined ? undefined : Number(m[2]);
    const count = m[3] === undefined ? 1 : Number(m[3]);
    if (count < 1) throw new ScheduleSyntaxError(`schedule token ${pos + 1} '${tok}': repeat count must be at least 1`);
    if (out.length + count > MAX_SCHEDULE_STEPS) throw new ScheduleSyntaxError(`schedule token ${pos + 1} '${tok}': the schedule would exceed ${MAX_SCHEDULE_STEPS.toLocaleString('en-US')} steps`);
    for (let k = 0; k < count; k++) out.push(choice === undefined ? { thread } : { thread, choice });
  }
  return out;
}

export class Driver {
  readonly exec: Execution;
  readonly schedule: ScheduleStep[] = [];

  constructor(programOrExec: Program | Execution) {
    this.exec = programOrExec instanceof Execution ? programOrExec : new Execution(programOrExec);
  }

  /** Thread id by name (first match, or the n-th match with `nth`). */
  tid(name: string, nth = 0): number {
    const matches = this.exec.threads.filter((t) => t.spec.name === name);
    const t = matches[nth];
    if (!t) {
      const names = this.exec.threads.map((x) => `${x.id}:${x.spec.name}`).join(', ');
      throw new ModelError(`no thread named '${name}' (#${nth}); threads: ${names}`);
    }
    return t.id;
  }

  enabled(tid: number): boolean {
    return this.exec.isEnabled(this.exec.thread(tid));
  }

  done(tid: number): boolean {
    return this.exec.thread(tid).phase === 'done';
  }

  pending(tid: number): Pending {
    return this.exec.pending(tid);
  }

  /** One step of `tid`. */
  step(tid: number, choice?: number): StepRecord {
    const rec = this.exec.step(tid, choice);
    this.schedule.push(choice === undefined ? { thread: tid } : { thread: tid, choice });
    return rec;
  }

  /**
   * Step `tid` while it is enabled and `until` (checked before each step) is false. Choices are
   * resolved by `choices` in order (then option 0). While `tid` is blocked, background threads
   * (ThreadSpec.background) that can step do so. Returns the records of `tid`'s steps.
   */
  run(tid: number, until: (p: Pending) => boolean = () => false, choices: readonly number[] = []): StepRecord[] {
    const out: StepRecord[] = [];
    let ci = 0;
    while (!this.done(tid)) {
      const p = this.pending(tid);
      if (until(p)) break;
      if (!this.enabled(tid)) {
        if (this.stepBackground()) continue;
        break;
      }
      const choice = p.kind === 'choose' ? choices[ci++] ?? 0 : undefined;
      out.push(this.step(tid, choice));
    }
    return out;
  }

  /** Step the first enabled background thread (ThreadSpec.background); false if none can step. */
  private stepBackground(): boolean {
    const t = this.exec.threads.find((x) => x.spec.background === true && x.phase !== 'done' && this.enabled(x.id));
    if (t === undefined) return false;
    this.step(t.id, this.pending(t.id).kind === 'choose' ? 0 : undefined);
    return true;
  }

  /** Step `tid` until its next step is performed by kernel function `fn` (not performing it). */
  runUntilFn(tid: number, fn: string, choices: readonly number[] = []): StepRecord[] {
    const out = this.run(tid, (p) => p.fn === fn, choices);
    if (this.done(tid) || this.pending(tid).fn !== fn) {
      const why = this.done(tid) ? 'it finished' : `it blocked at ${this.pending(tid).fn}`;
      throw new ModelError(`thread ${tid} (${this.exec.thread(tid).spec.name}) never reached ${fn}: ${why}`);
    }
    return out;
  }

  /** Step `tid` through the first step performed by `fn` (inclusive). */
  runThroughFn(tid: number, fn: string, choices: readonly number[] = []): StepRecord[] {
    const out = this.runUntilFn(tid, fn, choices);
    out.push(this.step(tid));
    return out;
  }

  /** Round-robin over all enabled threads until none can step; choices resolved to `choice`. */
  runAll(choice = 0, maxSteps = 100_000): void {
    let n = 0;
    for (;;) {
      const en = this.exec.enabled();
      if (en.length === 0) return;
      for (const tid of en) {
        if (!this.enabled(tid)) continue;
        const p = this.pending(tid);
        this.step(tid, p.kind === 'choose' ? Math.min(choice, (p.options?.length ?? 1) - 1) : undefined);
        if (++n > maxSteps) throw new ModelError(`runAll exceeded ${maxSteps} steps`);
      }
    }
  }
}

/** Re-execute `schedule` from the start. Fails with the step, the expected thread and what could run. */
export function replay(program: Program, schedule: Schedule): Execution {
  const d = new Driver(program);
  for (const [i, s] of schedule.entries()) {
    const exec = d.exec;
    if (s.thread >= exec.threads.length || !d.enabled(s.thread)) {
      const en = exec.enabled().map((t) => `${t} (${exec.thread(t).spec.name}: ${exec.pending(t).fn})`);
      const what = s.thread >= exec.threads.length ? 'does not exist yet' : 'is not enabled';
      throw new ModelError(`replay step ${i}: thread ${s.thread} ${what}; enabled: ${en.join(', ') || 'none'}`);
    }
    d.step(s.thread, s.choice);
  }
  return d.exec;
}
