/**
 * The timed simulator: a discrete-event simulation in integer nanoseconds over the same
 * Execution the checker drives, so the kernel code it times is the code the checker proves
 * things about.
 *
 * The story. Every thread has a time at which its next step may start. The engine keeps the
 * threads that may run in a heap ordered by (time, insertion order) and repeatedly takes the
 * earliest: if the machine says it cannot step now (a guard is false, its CPU runs an interrupt
 * handler, its interrupts are off for an incoming IPI, its vCPU is descheduled) it is parked on
 * the locations its next step reads, and woken when a step writes one of them; if its CPU is busy
 * until later it goes back into the heap at that time; otherwise the step runs, and takes the
 * duration the timing model gives it. Task and interrupt threads occupy their CPU for the
 * duration of each step; agents (hardware walkers, deferred callbacks, the hypervisor) do not.
 *
 * Time and chance come from outside: a TimingModel (durations, delivery delays, minimum waits,
 * choice distributions) and a seeded PRNG. Same program, timing model and seed: same run, byte
 * for byte. Steps are atomic: an interrupt that arrives while a step runs is taken when it ends.
 */
import { Execution, ModelError, type Program, type ThreadState } from '../../core/execution.js';
import { EventHeap } from '../../core/heap.js';
import type { Cost } from '../../core/op.js';
import { Prng } from '../../core/prng.js';
import type { Violation } from '../../core/property.js';
import type { StepRecord } from '../../core/trace.js';

/** How long things take, and how chance falls. Implemented by machine profiles. */
export interface TimingModel {
  /** Duration of a step, in ns (at least 0). */
  duration(rec: StepRecord, exec: Execution, rng: Prng): number;
  /** Delay before a newly spawned thread may first run (an IPI's delivery, a C-state exit). */
  startDelay(child: ThreadState, spawner: StepRecord, exec: Execution): number;
  /** Lower bound of a `minWait` (a grace period, a timer interval), in ns. */
  minWait(cost: Cost, rng: Prng): number;
  /**
   * Time between a minimum wait's end and the earliest its step can run, counted as lateness
   * (a timer interrupt waking an idle CPU: C-state exit, interrupt entry, context switch).
   */
  wakeLatency?(cost: Cost, thread: ThreadState, exec: Execution): number;
  /** Draw a choice (e.g. whether a GFP_NOWAIT allocation fails). */
  choose(key: string, options: readonly string[], rng: Prng, now: number): number;
}

/** Sees every step with its timing. */
export interface SimObserver {
  /**
   * `late`: for a step with a minimum wait, how much later than its earliest time it started
   * (a timer wakeup's latency); otherwise 0.
   */
  onStep(rec: StepRecord, start: number, end: number, late: number, exec: Execution): void;
}

export interface SimOptions {
  /** Stop at this simulated time (ns). */
  readonly until: number;
  readonly seed: number;
  readonly timing: TimingModel;
  readonly observers?: readonly SimObserver[];
  /** Stop after this many steps (a runaway workload); the result says so. */
  readonly maxSteps?: number;
  /**
   * Stop as soon as every one of these threads has finished (a fixed amount of work), even if
   * other threads (endless background loops) could still run. `until` stays the time limit.
   */
  readonly untilDone?: readonly number[];
  /** Called every `progressEvery` steps. */
  readonly onProgress?: (time: number, steps: number) => void;
  readonly progressEvery?: number;
}

export interface SimResult {
  /** Simulated time reached (ns): `until`, or when nothing was left to run. */
  readonly time: number;
  readonly steps: number;
  /** Heap events processed (steps, re-queues for a busy CPU, wakeups). */
  readonly events: number;
  readonly violations: readonly Violation[];
  /** Why the run stopped: the time limit, nothing left to run, the step limit, or every `untilDone` thread finished. */
  readonly stop: 'until' | 'idle' | 'max-steps' | 'done';
  /** Threads not finished, and blocked, when the run stopped. */
  readonly blocked: readonly number[];
  readonly threadNames: readonly string[];
}

/** Up to this many parked threads, wake() scans them instead of probing parkedOn. */
const FEW_PARKED = 4;

export function simulate(program: Program, opts: SimOptions): SimResult {
  const exec = new Execution(program, { keepTrace: false, maxSteps: Number.MAX_SAFE_INTEGER });
  const rng = new Prng(opts.seed);
  const heap = new EventHeap();
  const timing = opts.timing;
  const until = opts.until;
  const cpuFree: number[] = new Array<number>(program.machine.cpus).fill(0);
  /** Earliest start of each thread's next step; its minimum-wait deadline when it has one (else NaN). */
  const readyAt: number[] = [];
  const deadline: number[] = [];
  /** Threads parked on a location (a short list, in no order), and the locations each parked thread waits on. */
  const parkedOn = new Map<string, number[]>();
  const parkedLocs: Array<readonly string[] | undefined> = [];
  let parkedCount = 0;
  /** The parked threads, in no order (see wake()). */
  const parkedTids: number[] = [];
  const woken: number[] = [];
  const observers = opts.observers ?? [];
  const nObs = observers.length;
  const maxSteps = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
  let now = 0;
  let lastEnd = 0;
  let events = 0;
  let stop: SimResult['stop'] = 'idle';
  /** Threads of `untilDone` not finished yet (empty: no such condition). */
  const mustFinish = new Set(opts.untilDone ?? []);

  /**
   * The event the loop takes next without going through the heap, or -1: an event that would be
   * pushed and then popped straight away (earlier than everything queued; see enqueueSelf()).
   */
  let directTid = -1;
  let directTime = 0;
  /**
   * heap.push(at, tid), unless the entry would be the very next one popped: then the loop takes
   * it directly. Same order (the heap has nothing earlier, and an equal time would pop after the
   * entries already there, so that case goes through the heap), same time, same event count.
   * Only for the loop's own thread, after everything else its step queued.
   */
  const enqueueSelf = (at: number, tid: number): void => {
    if (heap.wouldPopFirst(at)) {
      directTid = tid;
      directTime = at;
    } else heap.push(at, tid);
  };
  const schedule = (tid: number, at: number, self = false): void => {
    const t = exec.thread(tid);
    if (t.phase === 'done') return;
    const op = t.op;
    if (t.phase === 'body' && op !== null && op.kind === 'access' && op.minWait) {
      const d = at + timing.minWait(op.minWait, rng);
      deadline[tid] = d;
      at = d + Math.max(0, Math.round(timing.wakeLatency?.(op.minWait, t, exec) ?? 0));
    } else {
      deadline[tid] = NaN;
    }
    readyAt[tid] = at;
    if (self) enqueueSelf(at, tid);
    else heap.push(at, tid);
  };
  const park = (tid: number): void => {
    if (parkedLocs[tid] !== undefined) return;
    const locs = exec.pending(tid).reads;
    parkedLocs[tid] = locs;
    parkedCount++;
    parkedTids.push(tid);
    for (let i = 0; i < locs.length; i++) {
      const l = locs[i] as string;
      const s = parkedOn.get(l);
      if (s) s.push(tid);
      else parkedOn.set(l, [tid]);
    }
  };
  const unpark = (tid: number, at: number): void => {
    const locs = parkedLocs[tid] as readonly string[];
    for (let i = 0; i < locs.length; i++) {
      // Order within a location's list does not matter: wake() sorts.
      const s = parkedOn.get(locs[i] as string) as number[];
      const k = s.indexOf(tid);
      if (k >= 0) {
        s[k] = s[s.length - 1] as number;
        s.pop();
      }
    }
    parkedLocs[tid] = undefined;
    parkedCount--;
    const j = parkedTids.indexOf(tid);
    parkedTids[j] = parkedTids[parkedTids.length - 1] as number;
    parkedTids.pop();
    const r = readyAt[tid] ?? 0;
    heap.push(at > r ? at : r, tid);
  };
  const wake = (loc: string, at: number): void => {
    if (parkedCount <= FEW_PARKED) {
      // Few threads wait (typically one: the sender of a broadcast in csd_lock_wait()): look
      // through their locations rather than looking the written one up in parkedOn, which costs
      // a hash-table probe per write. The same threads (parkedOn's keys match by content, as
      // includes() does), woken in the same order.
      for (let i = 0; i < parkedTids.length; i++) {
        const tid = parkedTids[i] as number;
        if ((parkedLocs[tid] as readonly string[]).includes(loc)) woken.push(tid);
      }
      if (woken.length === 0) return;
      if (woken.length > 1) woken.sort((a, b) => a - b);
      for (let i = 0; i < woken.length; i++) unpark(woken[i] as number, at);
      woken.length = 0;
      return;
    }
    const s = parkedOn.get(loc);
    if (!s || s.length === 0) return;
    if (s.length === 1) {
      unpark(s[0] as number, at);
      return;
    }
    // In thread-id order, so that equal wake times pop in a deterministic order.
    const tids = s.slice().sort((a, b) => a - b);
    for (let i = 0; i < tids.length; i++) {
      const tid = tids[i] as number;
      // A thread whose footprint names the location twice is listed twice; wake it once.
      if (parkedLocs[tid] !== undefined) unpark(tid, at);
    }
  };

  for (const t of exec.threads) schedule(t.id, 0);
  const every = opts.progressEvery ?? 100_000;
  const onProgress = opts.onProgress;

  for (;;) {
    let tid: number;
    let time: number;
    if (directTid >= 0) {
      tid = directTid;
      time = directTime;
      directTid = -1;
    } else {
      tid = heap.pop();
      if (tid < 0) break;
      time = heap.lastTime;
    }
    events++;
    if (time > until) {
      now = until;
      stop = 'until';
      break;
    }
    if (time > now) now = time;
    const t = exec.thread(tid);
    if (t.phase === 'done' || parkedLocs[tid] !== undefined) continue;
    if (!exec.isEnabled(t)) {
      park(tid);
      continue;
    }
    const cpu = t.spec.cpu;
    const occupies = t.spec.kind !== 'agent' && cpu !== null;
    if (occupies && (cpuFree[cpu] as number) > time) {
      enqueueSelf(cpuFree[cpu] as number, tid);
      continue;
    }
    if (exec.stepCount >= maxSteps) {
      stop = 'max-steps';
      break;
    }
    const op = t.phase === 'body' ? t.op : null;
    const choice = op !== null && op.kind === 'choose' ? timing.choose(op.key, op.options, rng, time) : undefined;
    const dl = deadline[tid] as number;
    const late = dl === dl ? time - dl : 0;
    let rec: StepRecord;
    try {
      rec = exec.step(tid, choice, true);
    } catch (e) {
      if (e instanceof ModelError) throw new ModelError(`at ${time} ns: ${e.message}`);
      throw e;
    }
    const d = timing.duration(rec, exec, rng);
    const end = d > 0 ? time + Math.round(d) : time;
    if (end > lastEnd) lastEnd = end;
    if (occupies) cpuFree[cpu] = end;
    for (let i = 0; i < nObs; i++) (observers[i] as SimObserver).onStep(rec, time, end, late, exec);
    // Woken threads first: an interrupt pending on a CPU is taken as soon as the CPU enables
    // interrupts, before the next step of the task that enabled them.
    if (parkedCount > 0) {
      const w = rec.writes;
      for (let i = 0; i < w.length; i++) wake((w[i] as readonly [string, unknown])[0], end);
    }
    // Only spawn steps carry `spawned` (test the kind first: a missing property is a slow load).
    if (rec.kind === 'spawn' && rec.spawned !== undefined) {
      const child = exec.thread(rec.spawned);
      schedule(child.id, end + Math.max(0, Math.round(timing.startDelay(child, rec, exec))));
    }
    if (mustFinish.size > 0 && exec.thread(tid).phase === 'done' && mustFinish.delete(tid) && mustFinish.size === 0) {
      if (end > now) now = end;
      stop = 'done';
      break;
    }
    schedule(tid, end, true);
    if (onProgress && exec.stepCount % every === 0) onProgress(time, exec.stepCount);
  }
  return {
    time: stop === 'until' ? until : stop === 'done' ? now : Math.max(now, lastEnd),
    steps: exec.stepCount,
    events,
    violations: exec.violations,
    stop,
    blocked: exec.blocked(),
    threadNames: exec.threads.map((x) => x.spec.name),
  };
}
