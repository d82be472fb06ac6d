/**
 * kernel/locking/rwsem.c, reduced to the mmap_lock and a file's i_mmap_rwsem: down_write()/up_write(),
 * down_read()/up_read() and downgrade_write(). Acquiring may sleep (might_sleep()).
 *
 * Followed: mainline rwsem.c as it reads since v6.3 (rwsem_cond_wake_waiter(), preempt_disable()
 * in __down_read_common(), rwsem_del_waiter()).
 *
 * The lock's state (`RwsemState`) is the count's writer bit and reader count and the FIFO wait list
 * (rwsem_add_waiter(): list_add_tail); RWSEM_FLAG_WAITERS is "the list is not empty".
 * RWSEM_FLAG_HANDOFF is derived: the first waiter has waited RWSEM_WAIT_TIMEOUT (its ticket is at
 * most `rwsemTimedOutLoc`'s value).
 *
 *  - Fast paths (rwsem_write_trylock(), rwsem_read_trylock()) are one step and fail while any
 *    waiter is queued (the WAITERS bit is in RWSEM_READ_FAILED_MASK and in the cmpxchg's old value).
 *    The same step queues the task when the lock is held (no steal is possible then).
 *  - Lock stealing, when the lock is free but waiters are queued (the first is woken and has not
 *    run yet): a writer in rwsem_down_write_slowpath() tries rwsem_try_write_lock_unqueued() (no
 *    HANDOFF: take it ahead of the queue); a reader in rwsem_down_read_slowpath() steals when no
 *    HANDOFF is set and the first reader wakes the queued readers (RWSEM_WAKE_READ_OWNED). This
 *    decision reads the timeouts, so it is a step of its own (only in that window).
 *  - A queued task waits (one step): a writer until it is the first waiter and the lock is free
 *    (rwsem_mark_wake() wakes only the first writer, which takes the lock itself in
 *    rwsem_try_write_lock()); a reader until rwsem_mark_wake() has granted it.
 *  - rwsem_mark_wake() runs inside the releasing step (up_write(), the last up_read(),
 *    downgrade_write()) and in the queuing step (rwsem_cond_wake_waiter()): with a reader first it
 *    grants every queued reader, up to MAX_READERS_WAKEUP, past queued writers (the "phase-fair"
 *    batch).
 *  - Handoff: the model reads no clock, so each queuing starts a timer (an agent thread whose one
 *    step has minWait `rwsem_wait_timeout`, RWSEM_WAIT_TIMEOUT = DIV_ROUND_UP(HZ, 250) jiffies)
 *    that raises `rwsemTimedOutLoc` to its ticket. While the first waiter is timed out nobody
 *    steals; the kernel sets the bit at that waiter's next failed attempt (rwsem_try_write_lock(),
 *    or rwsem_mark_wake() for a reader) and clears it when the waiter gets the lock. In the checker
 *    the timers run at any point and in any order: every schedule of the kernel's is still one of
 *    the model's (docs/model.md §5.23).
 *
 * Not modelled: optimistic spinning as a wait (rwsem_optimistic_spin()'s loop on a running
 * owner), RT waiters, signals; see docs/model.md §5.23.
 */
import { access, spawn, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { mappingLoc, mmLoc, rwsemTimedOutLoc } from '../../state.js';
import { might_sleep } from '../sched.js';

/** struct rwsem_waiter, reduced. */
export interface RwsemWaiter {
  /** waiter->task: its comm and CPU (`waiterId()`; two tasks may share a comm). */
  readonly task: string;
  /** waiter->type == RWSEM_WAITING_FOR_WRITE */
  readonly write: boolean;
  /** Which queuing this is (the lock's `seq` when it queued); waiter->timeout is its timer's. */
  readonly ticket: number;
}

/** The lock. `waiters` is absent while the list is empty, `seq` until the first queuing. */
export interface RwsemState {
  readonly writer: string | null;
  readonly readers: number;
  /** sem->wait_list, first waiter first. */
  readonly waiters?: readonly RwsemWaiter[];
  /** Tickets issued so far. */
  readonly seq?: number;
}

export const RWSEM_UNLOCKED: Value = { writer: null, readers: 0 };

/** MAX_READERS_WAKEUP: readers granted by one rwsem_mark_wake(). */
export const MAX_READERS_WAKEUP = 0x100;

/** The lock as a stored value (its optional fields are absent, never undefined). */
const V = (s: RwsemState): Value => s as unknown as Value;

/** A queued task's name in the wait list: comm@cpu (the model's tasks do not migrate). */
export const waiterId = (cur: Ctx): string => `${cur.comm}@${cur.cpu}`;

const waitersOf = (s: RwsemState): readonly RwsemWaiter[] => s.waiters ?? [];

/** RWSEM_FLAG_HANDOFF: the first waiter has waited RWSEM_WAIT_TIMEOUT (`timedOut`: rwsemTimedOutLoc's value). */
export function rwsem_handoff(s: RwsemState, timedOut: Value | undefined): boolean {
  const first = waitersOf(s)[0];
  return first !== undefined && first.ticket <= (timedOut as number);
}

/** The lock `s` with these fields (its `seq` kept). */
function mk(s: RwsemState, writer: string | null, readers: number, waiters: readonly RwsemWaiter[]): RwsemState {
  const seq = s.seq;
  if (waiters.length === 0) return seq === undefined ? { writer, readers } : { writer, readers, seq };
  return seq === undefined ? { writer, readers, waiters } : { writer, readers, waiters, seq };
}

/**
 * rwsem_mark_wake(sem, wake_type): with a reader first, grant every queued reader (up to
 * MAX_READERS_WAKEUP), skipping queued writers (HANDOFF goes with the waiter that had it). With a
 * writer first nothing changes here: RWSEM_WAKE_ANY wakes it and it takes the lock itself (its
 * wait step's guard). Called with the writer bit clear (for RWSEM_WAKE_ANY the kernel backs out
 * if a writer stole the lock; the callers here release it in the same step).
 */
function markWake(s: RwsemState): RwsemState {
  const ws = waitersOf(s);
  const first = ws[0];
  if (first === undefined || first.write || s.writer !== null) return s;
  const rest: RwsemWaiter[] = [];
  let woken = 0;
  for (const w of ws) {
    if (!w.write && woken < MAX_READERS_WAKEUP) woken++;
    else rest.push(w);
  }
  return mk(s, null, s.readers + woken, rest);
}

/** rwsem_add_waiter() then rwsem_cond_wake_waiter(): the new state and the waiter's ticket. */
function enqueue(s: RwsemState, task: string, write: boolean, caller: string): { s: RwsemState; ticket: number } {
  const ws = waitersOf(s);
  if (ws.some((w) => w.task === task)) throw new Error(`${caller}: ${task} queued twice on one rwsem`);
  const ticket = (s.seq ?? 0) + 1;
  const queued = mk({ ...s, seq: ticket }, s.writer, s.readers, [...ws, { task, write, ticket }]);
  return { s: queued.writer !== null ? queued : markWake(queued), ticket };
}

/** Still queued with this ticket? */
const queuedWith = (s: RwsemState, ticket: number): boolean => waitersOf(s).some((w) => w.ticket === ticket);

/** What the down_*() step decided: 0 = the lock is taken, > 0 = queued with this ticket, -1 = a steal to decide. */
type Outcome = { readonly writes: ReadonlyArray<readonly [string, Value]>; readonly result: number; readonly note?: string };

/**
 * The decision of down_write()/down_read() on lock value `s`. `timedOut` is rwsemTimedOutLoc's
 * value, or undefined in the first step (which does not read it): a decision that needs it (a
 * steal of a free lock with waiters) is then left to a second step (result -1).
 */
function decide(loc: string, s: RwsemState, write: boolean, me: string, who: string, caller: string, timedOut: Value | undefined): Outcome {
  const ws = waitersOf(s);
  const queue = (): Outcome => {
    const q = enqueue(s, who, write, caller);
    const granted = !queuedWith(q.s, q.ticket);
    return { writes: [[loc, V(q.s)]], result: granted ? 0 : q.ticket, note: granted ? 'queued and granted at once' : 'queued' };
  };
  if (write) {
    const free = s.writer === null && s.readers === 0;
    // rwsem_write_trylock(): cmpxchg(count, RWSEM_UNLOCKED_VALUE, RWSEM_WRITER_LOCKED).
    if (free && ws.length === 0) return { writes: [[loc, V(mk(s, me, 0, ws))]], result: 0 };
    if (!free) return queue();
    if (timedOut === undefined) return { writes: [], result: -1 };
    // rwsem_optimistic_spin() -> rwsem_try_write_lock_unqueued(): steal a free lock past the queue.
    if (!rwsem_handoff(s, timedOut)) return { writes: [[loc, V(mk(s, me, 0, ws))]], result: 0, note: 'stolen past the wait queue' };
    return queue();
  }
  // rwsem_read_trylock(): no writer, no waiters (HANDOFF implies waiters).
  if (s.writer === null && ws.length === 0) return { writes: [[loc, V(mk(s, null, s.readers + 1, ws))]], result: 0 };
  // rwsem_down_read_slowpath(): held by a writer, or owned by readers (rcnt > 1: no steal past a sleeping waiter).
  if (s.writer !== null || s.readers > 0) return queue();
  if (timedOut === undefined) return { writes: [], result: -1 };
  // Reader optimistic lock stealing (no writer, no HANDOFF); the first reader wakes the queued
  // readers: rwsem_mark_wake(RWSEM_WAKE_READ_OWNED).
  if (!rwsem_handoff(s, timedOut)) return { writes: [[loc, V(markWake(mk(s, null, 1, ws)))]], result: 0, note: 'stolen past the wait queue' };
  return queue();
}

/** The handoff timer of queuing `ticket`: after RWSEM_WAIT_TIMEOUT, raise the lock's timed-out ticket. */
function* handoffTimer(cur: Ctx, caller: string, loc: string, name: string, ticket: number): Proc<void> {
  const me = waiterId(cur);
  const t = rwsemTimedOutLoc(loc);
  yield* spawn({ fn: caller, desc: `${name}: RWSEM_WAIT_TIMEOUT for ${me}` }, {
    name: `rwsem timeout ${me}`,
    cpu: null,
    kind: 'agent',
    body: function* () {
      yield* access({
        fn: 'rwsem_down_slowpath',
        desc: `${name}: ${me} (ticket ${ticket}) waited RWSEM_WAIT_TIMEOUT`,
        reads: [t],
        writes: [t],
        // Raising a maximum: two timers commute.
        commutes: 'rwsem_timed_out_max',
        minWait: { cls: 'rwsem_wait_timeout' },
        // Always a write (a read-modify-write, as the tag requires), so either order writes the same.
        effect: ([v]) => ({ writes: [[t, Math.max(v as number, ticket)]] }),
      });
    },
  });
}

/** down_*(): the first step, the steal decision if needed, the timer and the wait of a queued task. */
function* down(cur: Ctx, caller: string, loc: string, name: string, desc: string, write: boolean): Proc<void> {
  yield* might_sleep(cur, caller);
  if (!cur.k.fifo_locks) return yield* downAnyOrder(cur, caller, loc, desc, write);
  const me = cur.comm;
  const who = waiterId(cur);
  let ticket = yield* access<number>({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => decide(loc, v as unknown as RwsemState, write, me, who, caller, undefined),
  });
  if (ticket < 0) {
    // The lock is free with waiters queued: steal unless the first waiter has timed out.
    ticket = yield* access<number>({
      fn: caller,
      desc: `${desc}: steal or queue (RWSEM_FLAG_HANDOFF?)`,
      reads: [loc, rwsemTimedOutLoc(loc)],
      writes: [loc],
      effect: ([v, t]) => decide(loc, v as unknown as RwsemState, write, me, who, caller, t as number),
    });
  }
  if (ticket === 0) return;
  yield* handoffTimer(cur, caller, loc, name, ticket);
  if (write) {
    // rwsem_down_write_slowpath()'s loop: woken first by rwsem_mark_wake(), rwsem_try_write_lock().
    yield* access({
      fn: caller,
      desc: `${desc}: rwsem_try_write_lock()`,
      reads: [loc],
      writes: [loc],
      guard: ([v]) => {
        const s = v as unknown as RwsemState;
        return s.writer === null && s.readers === 0 && waitersOf(s)[0]?.ticket === ticket;
      },
      effect: ([v]) => {
        const s = v as unknown as RwsemState;
        return { writes: [[loc, V(mk(s, me, 0, waitersOf(s).slice(1)))]] };
      },
    });
  } else {
    // Wait to be given the lock: rwsem_mark_wake() has taken us off the list (waiter.task = NULL).
    yield* access({
      fn: caller,
      desc: `${desc}: wait to be given the lock`,
      reads: [loc],
      guard: ([v]) => !queuedWith(v as unknown as RwsemState, ticket),
      effect: () => ({}),
    });
  }
}

/**
 * The checker's rwsem (Kernel.fifo_locks unset): wait until the lock is free for this mode, then
 * take it, in one step; no wait list, so whichever waiter the schedule picks gets it. Every order
 * the kernel's queue, stealing and handoff allow is one of these (docs/model.md §5.23).
 */
function* downAnyOrder(cur: Ctx, caller: string, loc: string, desc: string, write: boolean): Proc<void> {
  const me = cur.comm;
  yield* access({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    guard: ([v]) => {
      const s = v as unknown as RwsemState;
      return s.writer === null && (!write || s.readers === 0);
    },
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      return { writes: [[loc, V(write ? mk(s, me, 0, waitersOf(s)) : mk(s, null, s.readers + 1, waitersOf(s)))]] };
    },
  });
}

/** down_write(): __down_write_common() -> rwsem_write_trylock() / rwsem_down_write_slowpath(). */
function* down_write(cur: Ctx, caller: string, loc: string, name: string): Proc<void> {
  yield* down(cur, caller, loc, name, `down_write(${name})`, true);
}

/** down_read(): __down_read_common() -> rwsem_read_trylock() / rwsem_down_read_slowpath(). `desc` names the call. */
function* down_read(cur: Ctx, caller: string, loc: string, desc: string): Proc<void> {
  yield* down(cur, caller, loc, desc, desc, false);
}

/** up_write(): __up_write(), rwsem_wake() if waiters are queued. */
function* up_write(cur: Ctx, caller: string, loc: string, name: string): Proc<void> {
  yield* access({
    fn: caller,
    desc: `up_write(${name})`,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      if (s.writer !== cur.comm) throw new Error(`${caller}: up_write(${name}) by ${cur.comm}, not the owner`);
      return { writes: [[loc, V(markWake(mk(s, null, 0, waitersOf(s))))]] };
    },
  });
}

/** up_read(): __up_read(), rwsem_wake() when the last reader leaves with waiters queued. */
function* up_read(caller: string, loc: string, desc: string): Proc<void> {
  yield* access({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      if (s.readers <= 0) throw new Error(`${caller}: ${desc} with no reader`);
      const after = mk(s, s.writer, s.readers - 1, waitersOf(s));
      return { writes: [[loc, V(after.readers === 0 ? markWake(after) : after)]] };
    },
  });
}

/** mmap_write_lock(mm) */
export function* mmap_write_lock(cur: Ctx, caller: string, mm: string): Proc<void> {
  yield* down_write(cur, caller, mmLoc.mmap_lock(mm), `${mm}->mmap_lock`);
}

/** mmap_write_unlock(mm) */
export function* mmap_write_unlock(cur: Ctx, caller: string, mm: string): Proc<void> {
  yield* up_write(cur, caller, mmLoc.mmap_lock(mm), `${mm}->mmap_lock`);
}

/** mmap_write_downgrade(mm): keep the lock for read (__downgrade_write(), rwsem_downgrade_wake()). */
export function* mmap_write_downgrade(cur: Ctx, caller: string, mm: string): Proc<void> {
  const loc = mmLoc.mmap_lock(mm);
  yield* access({
    fn: caller,
    desc: `mmap_write_downgrade(${mm})`,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      if (s.writer !== cur.comm) throw new Error(`${caller}: downgrade of ${mm}->mmap_lock by ${cur.comm}, not the writer`);
      return { writes: [[loc, V(markWake(mk(s, null, 1, waitersOf(s))))]] };
    },
  });
}

/** mmap_read_lock(mm) */
export function* mmap_read_lock(cur: Ctx, caller: string, mm: string): Proc<void> {
  yield* down_read(cur, caller, mmLoc.mmap_lock(mm), `mmap_read_lock(${mm})`);
}

/** mmap_read_unlock(mm) */
export function* mmap_read_unlock(cur: Ctx, caller: string, mm: string): Proc<void> {
  void cur;
  yield* up_read(caller, mmLoc.mmap_lock(mm), `mmap_read_unlock(${mm})`);
}

// ---------------------------------------------------------------------------------------------
// include/linux/fs.h: mapping->i_mmap_rwsem, the rmap lock of a file (used by mm/hugetlb.ts).

/** i_mmap_lock_write(mapping) */
export function* i_mmap_lock_write(cur: Ctx, caller: string, file: string): Proc<void> {
  yield* down_write(cur, caller, mappingLoc.i_mmap_rwsem(file), `${file}->i_mmap_rwsem`);
}

/** i_mmap_unlock_write(mapping) */
export function* i_mmap_unlock_write(cur: Ctx, caller: string, file: string): Proc<void> {
  yield* up_write(cur, caller, mappingLoc.i_mmap_rwsem(file), `${file}->i_mmap_rwsem`);
}

/** i_mmap_lock_read(mapping) */
export function* i_mmap_lock_read(cur: Ctx, caller: string, file: string): Proc<void> {
  yield* down_read(cur, caller, mappingLoc.i_mmap_rwsem(file), `i_mmap_lock_read(${file})`);
}

/** i_mmap_unlock_read(mapping) */
export function* i_mmap_unlock_read(cur: Ctx, caller: string, file: string): Proc<void> {
  void cur;
  yield* up_read(caller, mappingLoc.i_mmap_rwsem(file), `i_mmap_unlock_read(${file})`);
}
