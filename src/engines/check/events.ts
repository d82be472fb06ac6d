/**
 * The events of the current path for the checker's partial-order reduction (dpor.ts): each step
 * with its footprint and vector clock, the per-location access logs that find its conflicting
 * predecessors, and its races. A race is where the step could have run instead: one earlier step
 * it could have preceded, or, for a step that blocked, the set of steps a retrying thread would
 * have had to precede (EventLog.leaps()). Also the sequence that reverses a race, and the stable
 * ids that name threads across executions.
 */
import { ModelError, type Execution, type Pending, type Phase, type ThreadState } from '../../core/execution.js';
import type { Op } from '../../core/op.js';
import { sameLocs, type Loc, type Value } from '../../core/value.js';
import type { StepRecord } from '../../core/trace.js';
import { commuteOn, conflicts, footprintOf, recordFootprint, type Footprint } from './footprint.js';
import { hb } from './wakeup.js';

export interface Event {
  readonly thread: number;
  /** The thread's stable id (SeqEvent.sid). */
  readonly sid: number;
  /** The thread's phase and op when it took this step (to ask whether it could have run elsewhere). */
  readonly phase: Phase;
  readonly op: Op | null;
  /** What the step wrote, with the values. */
  readonly writes: StepRecord['writes'];
  /** For a `choose` step, the option taken. */
  readonly choice: number | undefined;
  readonly fp: Footprint;
  /** Vector clock: for each thread, the number of its events that happen before or are this one. */
  readonly vc: number[];
  /** This event's position in its thread (1-based). */
  readonly seq: number;
  /** The thread's clock before this event (restored when the event is dropped). */
  readonly prevClock: number[] | undefined;
  /** The logs of the locations this event went into (those it wrote, then those it only read). */
  readonly logged: readonly LocLog[];
  /** How many of `logged` it wrote (it is in their write logs too). */
  readonly nwritten: number;
  /**
   * Its races, each as the earlier events it could have preceded (Reversal), or null (optimal DPOR
   * reverses them when the execution ends; source-set DPOR adds backtrack points at once).
   */
  readonly races: readonly Reversal[] | null;
  /**
   * Some earlier step it conflicts with is no race: it could not have run without it (a lock's
   * release). Its clock then also orders it after steps that a reversal of its races leaves out,
   * so a reversal computes its clock afresh (EventLog.reversal()).
   */
  readonly enablers: boolean;
}

/**
 * Where a step could have run instead, as the events it would then precede: `roots` (ascending,
 * event indices) and every later event that depends on one of them. The reversal runs the events
 * before roots[0], then the others that are kept, then the step. A race with one event has one
 * root; a step that two independent steps disabled (a stopped vCPU and a write to what it waits
 * for) needs them both moved (EventLog.leaps()).
 */
export type Reversal = readonly number[];

/** The most removal sets leaps() may try for one step before it gives up with an error. */
const MAX_LEAPS = 100_000;

const NO_WRITES: StepRecord['writes'] = [];
const NO_LOGS: readonly LocLog[] = [];

/**
 * The accesses of one location on the path: every event that accessed it, as 2*index + (1 if it
 * wrote), and those that wrote it (all odd). A read scans only the writes: a location such as a
 * CPU's context slot is read at every step of its task and written rarely. One map entry holds
 * both, so that an event costs one lookup per location.
 */
interface LocLog {
  readonly all: number[];
  readonly writes: number[];
}

/** The value a step's writes left in `loc` (its last write there), or undefined. */
function writtenValue(writes: StepRecord['writes'], loc: Loc): Value | undefined {
  for (let x = writes.length - 1; x >= 0; x--) {
    const w = writes[x] as readonly [Loc, Value];
    if (w[0] === loc) return w[1];
  }
  return undefined;
}

function join(a: number[], b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) if ((b[i] as number) > (a[i] ?? 0)) a[i] = b[i] as number;
}

/**
 * The events of the current path, kept across backtracking (a prefix of the path does not change
 * when we replay it), with per-location access logs so that race detection looks only at the
 * last write of each location and the reads since: any earlier access is ordered before those,
 * unless the later step could not have run without one of them (see races()).
 */
export class EventLog {
  readonly events: Event[] = [];
  private readonly exec: Execution;
  /** Whether to detect races (not when every interleaving is explored anyway). */
  private readonly detecting: boolean;
  /** Per location: its accesses on the path (LocLog). */
  private readonly byLoc = new Map<string, LocLog>();
  /** Per thread: the clock of its last event on the path (or of the spawn that created it). */
  private readonly clock: Array<number[] | undefined> = [];
  /** Spawns on the path, in order: the event index and the child thread. */
  private readonly spawns: Array<{ readonly at: number; readonly child: number }> = [];
  /** Candidates of the event being pushed (reused). */
  private readonly cand: number[] = [];
  /** Stable ids (SeqEvent.sid): by key (creator's stable id / creator's step), for the whole exploration. */
  private readonly sidByKey = new Map<string, number>();
  /** Stable id of each thread of the current path, and the thread of each stable id (-1: none). */
  private readonly sidOfThread: number[] = [];
  private readonly threadOfSid: number[] = [];

  constructor(exec: Execution, detecting: boolean) {
    this.exec = exec;
    this.detecting = detecting;
    for (let t = 0; t < exec.threads.length; t++) {
      this.sidByKey.set(String(t), t);
      this.sidOfThread[t] = t;
      this.threadOfSid[t] = t;
    }
  }

  get length(): number {
    return this.events.length;
  }

  /** The stable id of thread `tid` of the current path. */
  sidOf(tid: number): number {
    return this.sidOfThread[tid] as number;
  }

  /** The thread of the current path with stable id `sid`, or undefined if it does not exist there. */
  threadOf(sid: number): number | undefined {
    const t = this.threadOfSid[sid];
    return t === undefined || t < 0 ? undefined : t;
  }

  private logOf(loc: string): LocLog {
    let l = this.byLoc.get(loc);
    if (!l) this.byLoc.set(loc, (l = { all: [], writes: [] }));
    return l;
  }

  /** The events that wrote `loc` on the path (as 2*index + 1), or undefined if none ever did. */
  private writesOf(loc: string): number[] | undefined {
    return this.byLoc.get(loc)?.writes;
  }

  /**
   * Collect the race candidates of an access to `loc` (`writing`: the new event writes it) from
   * the location's log (for a read, its writes only): the last write, and the reads since if the
   * access writes. Commuting writes (a run of same-tag updates) are
   * not ordered among themselves, so the scan goes past them: a plain access collects the whole
   * run and the write before it; an update skips the updates it commutes with and collects what
   * it does not.
   */
  private scan(log: readonly number[], fp: Footprint, loc: string, writing: boolean): void {
    const cand = this.cand;
    let run: string | undefined;
    for (let k = log.length - 1; k >= 0; k--) {
      const a = log[k] as number;
      const wrote = (a & 1) === 1;
      const other = (this.events[a >> 1] as Event).fp;
      const tag = wrote && other.commutes !== undefined && other.commutes.locs.includes(loc) ? other.commutes.tag : undefined;
      if (tag !== undefined && commuteOn(fp, other, loc)) continue;
      // A read conflicts only with writes; a write with the reads since the last write too.
      if ((wrote || writing) && !cand.includes(a >> 1)) cand.push(a >> 1);
      if (!wrote) continue;
      if (tag === undefined || (run !== undefined && run !== tag)) break;
      run = tag;
    }
  }

  /** Sort the candidates latest first (an insertion sort: the list is short, and Array.prototype.sort with a comparator costs more than the whole scan here). */
  private sortCandidates(): void {
    const cand = this.cand;
    for (let i = 1; i < cand.length; i++) {
      const x = cand[i] as number;
      let j = i - 1;
      while (j >= 0 && (cand[j] as number) < x) {
        cand[j + 1] = cand[j] as number;
        j--;
      }
      cand[j + 1] = x;
    }
  }

  /**
   * The races of a step of thread `t` (footprint `fp`, taken in `phase` at `op`) that would come
   * after every event of the path, and its vector clock; `above` is the thread's clock before it.
   * `runs`: the step can run there (it was taken; a blocked thread's cannot).
   *
   * The candidates are the accesses that conflict with it (scan()). Latest first, each one that
   * is not already ordered before the step (through the thread's own past or a race found so far)
   * is a race if the step could have run without it: in the state after the events before it and
   * those after it that do not depend on it (notdep), which is what reversing the race executes.
   * If the step could not (the candidate, or something after it, is what enabled the step: a lock's
   * release, an IPI's acknowledgement, a grace period's end), the candidate orders the step but is
   * no race; the step's races are then found further back by leaps().
   */
  private races(t: number, fp: Footprint, above: readonly number[] | undefined, phase: Phase, op: Op | null, runs: boolean): { races: Reversal[] | null; vc: number[]; enablers: boolean } {
    const vc = above ? above.slice() : [];
    const seq = (vc[t] ?? 0) + 1;
    if (!this.detecting) {
      vc[t] = seq;
      return { races: null, vc, enablers: false };
    }
    const cand = this.cand;
    cand.length = 0;
    for (const l of fp.writes) {
      const log = this.byLoc.get(l);
      if (log) this.scan(log.all, fp, l, true);
    }
    for (const l of fp.reads) {
      if (fp.writes.includes(l)) continue;
      const log = this.byLoc.get(l);
      if (log) this.scan(log.writes, fp, l, false);
    }
    this.sortCandidates();
    const thread = this.exec.thread(t);
    /** What the step's enabledness depends on, looked up at the first candidate that needs it. */
    let enabling: readonly Loc[] | null = null;
    let races: Reversal[] | null = null;
    let enablers: number[] | null = null;
    /** What orders candidates before the step for race detection: `vc` until a candidate turns out not to be a race. */
    let rvc = vc;
    for (let k = 0; k < cand.length; k++) {
      const i = cand[k] as number;
      const e = this.events[i] as Event;
      if (e.thread === t || hb(e, rvc)) continue;
      if (this.canRunWithout(i, (enabling ??= this.exec.enablingLocs(thread, phase, op)), runs, thread, phase, op)) {
        (races ??= []).push([i]);
        join(vc, e.vc);
        if (rvc !== vc) join(rvc, e.vc);
        continue;
      }
      if (rvc === vc) rvc = vc.slice();
      join(vc, e.vc);
      (enablers ??= []).push(i);
    }
    if (enablers !== null) for (const r of this.leaps(thread, fp, above, phase, op, enablers)) (races ??= []).push(r);
    vc[t] = seq;
    return { races, vc, enablers: enablers !== null };
  }

  /**
   * Could the step (thread `thread` in `phase` at `op`) have run without events[i] and the events
   * after it that depend on it (in the state where reversing their race puts it)? If nothing from
   * events[i] on wrote a location its enabledness depends on (`enabling`), the answer is the one
   * for the whole path (`runs`), and the state need not be looked up.
   */
  private canRunWithout(i: number, enabling: readonly Loc[], runs: boolean, thread: ThreadState, phase: Phase, op: Op | null): boolean {
    let touched = false;
    for (let a = 0; a < enabling.length && !touched; a++) {
      const log = this.writesOf(enabling[a] as Loc);
      touched = log !== undefined && log.length > 0 && (log[log.length - 1] as number) >> 1 >= i;
    }
    if (!touched) return runs;
    return this.exec.enabledIn(thread, phase, op, this.stateWithout([i]));
  }

  /**
   * Where else a step that could not run without some of its conflicting predecessors (`from`)
   * could have run. This is what DPOR would find if a blocked thread retried its step at every
   * point, as a spinning thread does (Jonsson, Lång and Sagonas, "Awaiting for Godot", FMSD 67,
   * 2025, do the same for await statements; Nidhugg's lock races, Abdulla et al., JACM 2017, are
   * the one-lock case): each retry that fails reads what the latest writes left in the locations
   * the step reads, and reversing those reads moves it before them. So, from the removal of each
   * of `from`, the search moves the step before the latest remaining write of each location it
   * reads, again and again, until it can run: the acquire before a lock's release, or both a
   * vCPU stop and a write to the value awaited. Each removal set where it can run is a race.
   */
  private leaps(thread: ThreadState, fp: Footprint, above: readonly number[] | undefined, phase: Phase, op: Op | null, from: readonly number[]): Reversal[] {
    const found: Reversal[] = [];
    const seen = new Set<string>();
    const todo: Reversal[] = from.map((i) => [i]);
    for (const r of todo) seen.add(r.join());
    while (todo.length > 0) {
      const roots = todo.pop() as Reversal;
      const removed = this.removedBy(roots);
      for (const l of fp.reads) {
        const log = this.writesOf(l);
        if (!log) continue;
        // The latest remaining write the step could move before. One that stays before it (its
        // own thread's, or one it depends on) hides the writes before it, unless it is a
        // commuting update: an update of its run can still move past it (stateWithout() then
        // counts the run without it).
        let w = -1;
        for (let k = log.length - 1; k >= 0; k--) {
          const idx = (log[k] as number) >> 1;
          if (removed(idx)) continue;
          const x = this.events[idx] as Event;
          if (x.thread !== thread.id && (above === undefined || !hb(x, above))) {
            w = idx;
            break;
          }
          if (x.fp.commutes === undefined || !x.fp.commutes.locs.includes(l)) break;
        }
        if (w < 0) continue;
        const next = this.withRoot(roots, w);
        const key = next.join();
        if (seen.has(key)) continue;
        seen.add(key);
        if (seen.size > MAX_LEAPS) {
          throw new ModelError(`checker: more than ${MAX_LEAPS} ways to move ${thread.spec.name}'s blocked step earlier; the scenario is too large for exhaustive exploration`);
        }
        if (this.exec.enabledIn(thread, phase, op, this.stateWithout(next))) found.push(next);
        else todo.push(next);
      }
    }
    return found;
  }

  /** `roots` with event `w` moved too: w joins them, and the roots that depend on it are now covered by it. */
  private withRoot(roots: Reversal, w: number): Reversal {
    const e = this.events[w] as Event;
    const out: number[] = [];
    for (const r of roots) if (!(r > w && hb(e, (this.events[r] as Event).vc))) out.push(r);
    out.push(w);
    out.sort((a, b) => a - b);
    return out;
  }

  /** Is events[idx] among those reversal `roots` moves: a root, or after one and depending on it? */
  private moves(roots: Reversal, idx: number): boolean {
    for (const r of roots) if (idx === r || (idx > r && hb(this.events[r] as Event, (this.events[idx] as Event).vc))) return true;
    return false;
  }

  /** moves() as a predicate, for the lookups that take one. */
  private removedBy(roots: Reversal): (idx: number) => boolean {
    return (idx) => this.moves(roots, idx);
  }

  /**
   * The state where a reversal puts the later step: after the events of the path that it keeps,
   * as the value of each location. It is not built: a location's value is the one the latest kept
   * write left there. A kept update that commutes with a moved one (AccessOp.commutes: atomic
   * adds) wrote a value that counted the moved one: its effect is run again on the kept updates
   * alone.
   */
  private stateWithout(roots: Reversal): (loc: Loc) => Value | undefined {
    const removed = this.removedBy(roots);
    const valueBefore = (loc: Loc, n: number): Value | undefined => {
      const log = this.writesOf(loc);
      if (log) {
        for (let k = log.length - 1; k >= 0; k--) {
          const idx = (log[k] as number) >> 1;
          if (idx >= n || removed(idx)) continue;
          const x = this.events[idx] as Event;
          const v = writtenValue(x.writes, loc);
          if (v === undefined) continue;
          return this.commutesPastRemoved(log, k, loc, removed) ? this.recount(log, k, loc, removed, valueBefore) : v;
        }
      }
      return this.exec.initialValue(loc);
    };
    return (loc) => valueBefore(loc, Infinity);
  }

  /**
   * Is log[k], a kept write of `loc`, a commuting update after a moved write of `loc`? Only a
   * same-tag update can be moved while a later update of the location is kept: any other write
   * orders it.
   */
  private commutesPastRemoved(log: readonly number[], k: number, loc: Loc, removed: (idx: number) => boolean): boolean {
    const c = (this.events[(log[k] as number) >> 1] as Event).fp.commutes;
    if (c === undefined || !c.locs.includes(loc)) return false;
    for (let b = k - 1; b >= 0; b--) {
      const idx = (log[b] as number) >> 1;
      if (removed(idx)) return true;
      const o = (this.events[idx] as Event).fp.commutes;
      if (o === undefined || o.tag !== c.tag || !o.locs.includes(loc)) return false;
    }
    return false;
  }

  /**
   * The value of `loc` after the kept writes up to log[k] (a run of commuting updates): from the
   * write before the run, each kept update's effect run again on the values it reads there.
   */
  private recount(log: readonly number[], k: number, loc: Loc, removed: (idx: number) => boolean, valueBefore: (loc: Loc, n: number) => Value | undefined): Value | undefined {
    const tag = (this.events[(log[k] as number) >> 1] as Event).fp.commutes?.tag;
    let b = k;
    while (b > 0) {
      const o = (this.events[(log[b - 1] as number) >> 1] as Event).fp.commutes;
      if (o === undefined || o.tag !== tag || !o.locs.includes(loc)) break;
      b--;
    }
    let value = b > 0 ? valueBefore(loc, ((log[b - 1] as number) >> 1) + 1) : this.exec.initialValue(loc);
    for (let a = b; a <= k; a++) {
      const idx = (log[a] as number) >> 1;
      if (removed(idx)) continue;
      const op = (this.events[idx] as Event).op;
      if (op?.kind !== 'access' || op.effect === undefined) throw new ModelError(`checker: a commuting update of ${loc} without an effect`);
      const vals = op.reads.map((r) => {
        const v = r === loc ? value : valueBefore(r, idx);
        if (v === undefined) throw new ModelError(`read of unknown location '${r}'`);
        return v;
      });
      const w = writtenValue((op.effect(vals) ?? {}).writes ?? NO_WRITES, loc);
      if (w !== undefined) value = w;
    }
    return value;
  }

  /** Does reversal `r` keep any of the events from index `from` on? */
  keepsAnyFrom(r: Reversal, from: number): boolean {
    for (let k = from; k < this.events.length; k++) if (!this.moves(r, k)) return true;
    return false;
  }

  /**
   * The sequence that reverses a race of `later` (at index `j`, or after the path): the events
   * after roots[0] that the reversal keeps, then the later step (for a race with one event e, the
   * events after e that do not depend on it: notdep(e, E).e'). Those keep their footprints and
   * clocks (what they read is unchanged). The later step runs in another state than on the path: it
   * is given the writes it would do there (a compare-and-swap that failed on the path may succeed),
   * and, if that changes its footprint or it needed a step the reversal moves (Event.enablers), a
   * clock that orders it after its thread's past and the kept events it conflicts with only.
   */
  reversal(roots: Reversal, later: Event, j: number): Event[] {
    const events = this.events;
    const removed = this.removedBy(roots);
    const v: Event[] = [];
    for (let k = (roots[0] as number) + 1; k < events.length; k++) if (k !== j && !removed(k)) v.push(events[k] as Event);
    let fp = later.fp;
    const writes = this.exec.writesIn(this.exec.thread(later.thread), later.phase, later.op, this.stateWithout(roots));
    if (writes !== null && !sameLocs(writes, fp.writes)) fp = { reads: fp.reads, writes, commutes: fp.commutes };
    if (!later.enablers && fp === later.fp) {
      v.push(later);
      return v;
    }
    const vc = later.prevClock ? later.prevClock.slice() : [];
    for (const x of v) if (x.thread !== later.thread && conflicts(x.fp, fp)) join(vc, x.vc);
    vc[later.thread] = later.seq;
    v.push({ ...later, fp, vc });
    return v;
  }

  /** Append the event of step `rec`, with the indices of the earlier events it races with. */
  push(rec: StepRecord, phase: Phase, op: Op | null): Event {
    const t = rec.thread;
    const fp = recordFootprint(rec);
    const prevClock = this.clock[t];
    const { races, vc, enablers } = this.races(t, fp, prevClock, phase, op, true);
    const seq = vc[t] as number;
    // The logs this event goes into: the full log and the write log of each location it writes,
    // then the full log of each location it only reads.
    const logged: LocLog[] = [];
    for (const l of fp.writes) logged.push(this.logOf(l));
    const nwritten = logged.length;
    for (const l of fp.reads) if (!fp.writes.includes(l)) logged.push(this.logOf(l));
    const idx = this.events.length;
    const sid = this.sidOf(t);
    const ev: Event = { thread: t, sid, phase, op, writes: rec.writes, choice: rec.choice?.index, fp, vc, seq, prevClock, logged, nwritten, races, enablers };
    this.events.push(ev);
    this.clock[t] = vc;
    if (rec.spawned !== undefined) {
      this.spawns.push({ at: idx, child: rec.spawned });
      this.clock[rec.spawned] = vc.slice();
      const key = `${sid}/${seq}`;
      let child = this.sidByKey.get(key);
      if (child === undefined) this.sidByKey.set(key, (child = this.sidByKey.size));
      this.sidOfThread[rec.spawned] = child;
      this.threadOfSid[child] = rec.spawned;
    }
    for (let k = 0; k < nwritten; k++) {
      const log = logged[k] as LocLog;
      log.all.push(idx * 2 + 1);
      log.writes.push(idx * 2 + 1);
    }
    for (let k = nwritten; k < logged.length; k++) (logged[k] as LocLog).all.push(idx * 2);
    return ev;
  }

  /**
   * The step of thread `t` that could not run at the end of the path (the thread is blocked), as
   * an event after all the others with its races: reversing them lets it run before whatever
   * disabled it (a lock acquire whose holder never released it here).
   */
  blocked(t: number, pending: Pending, phase: Phase, op: Op | null): Event {
    const fp = footprintOf(pending);
    const prevClock = this.clock[t];
    const { races, vc, enablers } = this.races(t, fp, prevClock, phase, op, false);
    const choice = pending.kind === 'choose' ? 0 : undefined;
    return { thread: t, sid: this.sidOf(t), phase, op, writes: NO_WRITES, choice, fp, vc, seq: vc[t] as number, prevClock, logged: NO_LOGS, nwritten: 0, races, enablers };
  }

  /** Drop the events from index `n` on (backtracking to depth n). */
  truncate(n: number): void {
    while (this.events.length > n) {
      const e = this.events.pop() as Event;
      for (let k = 0; k < e.logged.length; k++) {
        const log = e.logged[k] as LocLog;
        log.all.pop();
        if (k < e.nwritten) log.writes.pop();
      }
      this.clock[e.thread] = e.prevClock;
    }
    while (this.spawns.length > 0 && (this.spawns[this.spawns.length - 1] as { at: number }).at >= n) {
      const child = (this.spawns.pop() as { child: number }).child;
      this.clock[child] = undefined;
      this.threadOfSid[this.sidOfThread[child] as number] = -1;
      this.sidOfThread[child] = -1;
    }
  }
}
