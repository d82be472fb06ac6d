/**
 * kernel/locking/rwsem.c, reduced to the mmap_lock and a file's i_mmap_rwsem: down_write()/up_write(),
 * down_read()/up_read() and downgrade_write(). Acquiring may sleep (might_sleep()).
 *
 * Followed: mainline rwsem.c as it reads since v6.3 (rwsem_cond_wake_waiter(), preempt_disable()
 * in __down_read_common(), rwsem_del_waiter()); the functions below are unchanged through v6.12.
 *
 * The lock's state (`RwsemState`) is the count's writer bit and reader count, the FIFO wait list
 * (rwsem_add_waiter(): list_add_tail) and RWSEM_FLAG_HANDOFF. RWSEM_FLAG_WAITERS is "the list is
 * not empty". Each waiter carries `timedOut`, the kernel's time_after(jiffies, waiter->timeout).
 *
 *  - Fast paths (rwsem_write_trylock(), rwsem_read_trylock()) are one step and fail while any
 *    waiter is queued (the WAITERS bit is in RWSEM_READ_FAILED_MASK and in the cmpxchg's old value).
 *  - Lock stealing: a writer in rwsem_down_write_slowpath() first tries
 *    rwsem_try_write_lock_unqueued() (lock free, no HANDOFF: take it ahead of the queue); a reader
 *    in rwsem_down_read_slowpath() steals when no writer holds it and no HANDOFF is set, unless
 *    readers already own it (then it queues, "to prevent a constant stream of readers from
 *    starving a sleeping waiter"). Both in the same step as the failed fast path.
 *  - Otherwise the task queues (one step) and waits (one step): a writer until it is the first
 *    waiter and the lock is free (rwsem_mark_wake() wakes only the first writer, which takes the
 *    lock itself in rwsem_try_write_lock()); a reader until rwsem_mark_wake() has granted it.
 *  - rwsem_mark_wake() runs inside the releasing step (up_write(), the last up_read(),
 *    downgrade_write()) and in the queuing step (rwsem_cond_wake_waiter()): with a reader at the
 *    head it grants every queued reader, up to MAX_READERS_WAKEUP, past queued writers (the
 *    "phase-fair" batch), and clears HANDOFF.
 *  - Handoff: the model reads no clock, so each queued waiter gets a timer (an agent thread whose
 *    one step has minWait `rwsem_wait_timeout`, RWSEM_WAIT_TIMEOUT = DIV_ROUND_UP(HZ, 250)
 *    jiffies). When it fires the waiter is timed out; if it is first, HANDOFF is set (the kernel
 *    sets it at the waiter's next failed attempt: rwsem_try_write_lock(), or rwsem_mark_wake() for a
 *    reader). A timed-out waiter that becomes first later sets it when it becomes first. While
 *    HANDOFF is set nobody steals; it is cleared when the first waiter gets the lock. In the
 *    checker the timer step may run at any point: every schedule of the kernel's is still one of
 *    the model's.
 *
 * Not modelled: optimistic spinning as a wait (rwsem_optimistic_spin()'s loop on a running owner);
 * see docs/model.md §5.
 */
import { access, spawn, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { mappingLoc, mmLoc } from '../../state.js';
import { might_sleep } from '../sched.js';

/** struct rwsem_waiter, reduced. */
export interface RwsemWaiter {
  readonly [key: string]: Value;
  /** waiter->task: its comm and CPU (`waiterId()`; two tasks may share a comm). */
  readonly task: string;
  /** waiter->type == RWSEM_WAITING_FOR_WRITE */
  readonly write: boolean;
  /** time_after(jiffies, waiter->timeout): RWSEM_WAIT_TIMEOUT has passed since it queued. */
  readonly timedOut: boolean;
  /** Which queuing this is (the lock's `seq` when it queued): its timer matches on it. */
  readonly ticket: number;
}

/**
 * The lock. `waiters` and `handoff` are absent while the list is empty and the bit clear (the
 * uncontended lock keeps its small value).
 */
export interface RwsemState {
  readonly writer: string | null;
  readonly readers: number;
  /** sem->wait_list, first waiter first. */
  readonly waiters?: readonly RwsemWaiter[];
  /** RWSEM_FLAG_HANDOFF */
  readonly handoff?: boolean;
  /** Waiters queued so far (absent before the first): names each queuing for its timer. */
  readonly seq?: number;
}

export const RWSEM_UNLOCKED: Value = { writer: null, readers: 0 };

/** The lock as a stored value (its optional fields are absent, never undefined). */
const V = (s: RwsemState): Value => s as unknown as Value;

/** MAX_READERS_WAKEUP: readers granted by one rwsem_mark_wake(). */
export const MAX_READERS_WAKEUP = 0x100;

/** The lock `s` with these fields (its `seq` kept). */
function mk(s: RwsemState, writer: string | null, readers: number, waiters: readonly RwsemWaiter[], handoff: boolean): RwsemState {
  const seq = s.seq;
  if (waiters.length === 0) return seq === undefined ? { writer, readers } : { writer, readers, seq };
  const base: RwsemState = seq === undefined ? { writer, readers, waiters } : { writer, readers, waiters, seq };
  return handoff ? { ...base, handoff } : base;
}

/** A queued task's name in the wait list: comm@cpu (the model's tasks do not migrate). */
export const waiterId = (cur: Ctx): string => `${cur.comm}@${cur.cpu}`;

const waitersOf = (s: RwsemState): readonly RwsemWaiter[] => s.waiters ?? [];

/**
 * rwsem_mark_wake(sem, wake_type): with a reader first, grant every queued reader (up to
 * MAX_READERS_WAKEUP), skipping queued writers, and clear HANDOFF. With a writer first nothing
 * changes here: RWSEM_WAKE_ANY wakes it and it takes the lock itself (its wait step's guard).
 * `readOwned`: RWSEM_WAKE_READ_OWNED (the caller holds a read lock: no check for a writer that
 * stole the lock). The lock must not be write-held by someone else: for RWSEM_WAKE_ANY the kernel
 * backs out then, and the callers below only call it with the writer bit clear.
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
  // HANDOFF is cleared when a reader is woken (or the list empties). A timed-out writer now first
  // sets it again at its next attempt: here, at once.
  return mk(s, null, s.readers + woken, rest, rest[0]?.timedOut === true);
}

/** rwsem_cond_wake_waiter(sem, count): after queuing, wake whoever the count allows. */
function condWake(s: RwsemState): RwsemState {
  if (s.writer !== null) return s;
  return markWake(s);
}

function addWaiter(s: RwsemState, task: string, write: boolean, caller: string): RwsemState {
  const ws = waitersOf(s);
  if (ws.some((w) => w.task === task)) throw new Error(`${caller}: ${task} queued twice on one rwsem (two tasks with one comm?)`);
  const ticket = (s.seq ?? 0) + 1;
  return mk({ ...s, seq: ticket }, s.writer, s.readers, [...ws, { task, write, timedOut: false, ticket }], s.handoff === true);
}

/**
 * The handoff timer of a queued waiter: after RWSEM_WAIT_TIMEOUT the waiter is timed out, and if
 * it is first, HANDOFF is set. Nothing if it has the lock by then.
 */
function* handoffTimer(cur: Ctx, caller: string, loc: string, name: string, ticket: number): Proc<void> {
  const me = waiterId(cur);
  yield* spawn({ fn: caller, desc: `${name}: RWSEM_WAIT_TIMEOUT for ${me}` }, {
    name: `rwsem timeout ${me}`,
    cpu: null,
    kind: 'agent',
    body: function* () {
      yield* access({
        fn: 'rwsem_try_write_lock',
        desc: `${name}: ${me} waited RWSEM_WAIT_TIMEOUT`,
        reads: [loc],
        writes: [loc],
        minWait: { cls: 'rwsem_wait_timeout' },
        effect: ([v]) => {
          const s = v as unknown as RwsemState;
          const ws = waitersOf(s);
          const i = ws.findIndex((w) => w.task === me && w.ticket === ticket);
          if (i < 0) return { note: 'no longer waiting' };
          const next = ws.map((w, j) => (j === i ? { ...w, timedOut: true } : w));
          const handoff = s.handoff === true || i === 0;
          return { writes: [[loc, V(mk(s, s.writer, s.readers, next, handoff))]], note: i === 0 ? 'first waiter: RWSEM_FLAG_HANDOFF' : 'timed out, not first' };
        },
      });
    },
  });
}

/** down_write(): __down_write_common() -> rwsem_write_trylock() / rwsem_down_write_slowpath(). */
function* down_write(cur: Ctx, caller: string, loc: string, name: string): Proc<void> {
  yield* might_sleep(cur, caller);
  const me = cur.comm;
  const who = waiterId(cur);
  const ticket = yield* access<number>({
    fn: caller,
    desc: `down_write(${name})`,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      const ws = waitersOf(s);
      const free = s.writer === null && s.readers === 0;
      // rwsem_write_trylock(): cmpxchg(count, RWSEM_UNLOCKED_VALUE, RWSEM_WRITER_LOCKED).
      if (free && ws.length === 0) return { writes: [[loc, V(mk(s, me, 0, ws, false))]], result: 0 };
      // rwsem_optimistic_spin() -> rwsem_try_write_lock_unqueued(): steal a free lock past the queue.
      if (free && s.handoff !== true) return { writes: [[loc, V(mk(s, me, 0, ws, false))]], result: 0, note: 'stolen past the wait queue' };
      // rwsem_add_waiter(), then rwsem_cond_wake_waiter() if not first.
      const queued = addWaiter(s, who, true, caller);
      return { writes: [[loc, V(condWake(queued))]], result: queued.seq, note: 'queued' };
    },
  });
  if (ticket === 0) return;
  yield* handoffTimer(cur, caller, loc, name, ticket);
  // rwsem_down_write_slowpath()'s loop: woken first by rwsem_mark_wake(), rwsem_try_write_lock().
  yield* access({
    fn: caller,
    desc: `down_write(${name}): rwsem_try_write_lock()`,
    reads: [loc],
    writes: [loc],
    guard: ([v]) => {
      const s = v as unknown as RwsemState;
      return s.writer === null && s.readers === 0 && waitersOf(s)[0]?.task === who;
    },
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      const rest = waitersOf(s).slice(1);
      return { writes: [[loc, V(mk(s, me, 0, rest, rest[0]?.timedOut === true))]] };
    },
  });
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
      return { writes: [[loc, V(markWake(mk(s, null, 0, waitersOf(s), s.handoff === true)))]] };
    },
  });
}

/** down_read(): __down_read_common() -> rwsem_read_trylock() / rwsem_down_read_slowpath(). */
function* down_read(cur: Ctx, caller: string, loc: string, desc: string): Proc<void> {
  yield* might_sleep(cur, caller);
  const me = waiterId(cur);
  const ticket = yield* access<number>({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    effect: ([v]) => {
      const s = v as unknown as RwsemState;
      const ws = waitersOf(s);
      const handoff = s.handoff === true;
      // rwsem_read_trylock(): no writer, no waiters, no HANDOFF.
      if (s.writer === null && ws.length === 0 && !handoff) return { writes: [[loc, V(mk(s, null, s.readers + 1, ws, false))]], result: 0 };
      // rwsem_down_read_slowpath(): readers own it (rcnt > 1): queue, do not steal.
      if (!(s.writer === null && s.readers > 0)) {
        // Reader optimistic lock stealing: no writer, no HANDOFF.
        if (s.writer === null && !handoff) {
          const mine = mk(s, null, s.readers + 1, ws, false);
          // The first reader (rcnt == 1) with waiters: rwsem_mark_wake(RWSEM_WAKE_READ_OWNED).
          return { writes: [[loc, V(markWake(mine))]], result: 0, note: 'stolen past the wait queue' };
        }
      }
      // queue: an empty list and no writer: return with the reader bias kept.
      if (ws.length === 0 && s.writer === null) return { writes: [[loc, V(mk(s, null, s.readers + 1, ws, handoff))]], result: 0 };
      const queued = addWaiter(s, me, false, caller);
      const after = condWake(queued);
      const granted = !waitersOf(after).some((w) => w.task === me);
      return { writes: [[loc, V(after)]], result: granted ? 0 : queued.seq, note: granted ? 'queued and granted at once' : 'queued' };
    },
  });
  if (ticket === 0) return;
  yield* handoffTimer(cur, caller, loc, desc, ticket);
  // Wait to be given the lock: rwsem_mark_wake() has taken us off the list (waiter.task = NULL).
  yield* access({
    fn: caller,
    desc: `${desc}: wait to be given the lock`,
    reads: [loc],
    guard: ([v]) => !waitersOf(v as unknown as RwsemState).some((w) => w.task === me),
    effect: () => ({}),
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
      return { writes: [[loc, V(markWake(mk(s, s.writer, s.readers - 1, waitersOf(s), s.handoff === true)))]] };
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
      return { writes: [[loc, V(markWake(mk(s, null, 1, waitersOf(s), s.handoff === true)))]] };
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
