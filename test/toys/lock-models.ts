/**
 * Toy programs where locks decide, with trace counts published in the DPOR literature (or derived
 * from a published program, and checked by exploration without reduction), written against the
 * core op protocol only. Used to test that the checker reverses the order in which threads take a
 * lock.
 *
 * Our equivalence: Mazurkiewicz traces over the reads and writes of locations, where a read does
 * not conflict with a read. A lock acquire is one guarded read-modify-write of the lock's location
 * (enabled only while it is free, null), a release a write of null to it (as in
 * src/model/kernel/locking/spinlock.ts). So two critical sections of one lock always conflict,
 * whatever they do inside, and a trace fixes the order of every lock's critical sections.
 *
 * Where a count comes from and why it carries over (LOCK-COUNTS.md has the table):
 *  - GenMC's tests (github.com/MPI-SWS/genmc at v0.11.0, b03f01e), tests/correct/<dir>/: each
 *    expected.<model>.<coherence>.in line is the number of complete executions of the variant with
 *    the flags on the same line of args.<model>.<coherence>.in (scripts/runcorrect.sh). Under
 *    `sc` with `mo` (coherence order tracked), an execution graph (po, rf, mo) is one Mazurkiewicz
 *    trace of ours with reads commuting; under `rc11` too for the programs used here, whose shared
 *    accesses are inside critical sections or seq_cst atomics (RC11 then allows only SC). With
 *    `-lapor` (Kokologiannakis, Raad and Vafeiadis, "Effective lock handling in stateless model
 *    checking", OOPSLA 2019), critical sections that do not conflict are not ordered, so the count
 *    carries over only where every two critical sections of a lock conflict on data; elsewhere we
 *    derive ours. GenMC counts an execution that blocks (a failed __VERIFIER_assume, a deadlock)
 *    apart (blocked.*.in) or not at all: we compare its count with our *finished* executions
 *    (complete minus deadlocked), and count the deadlocked ones ourselves.
 *  - Nidhugg's smoke tests (github.com/nidhugg/nidhugg at 0aea4d23), tests/smoke/C-tests/<name>.c,
 *    counts in tests/smoke/reference.results.txt: the sum of complete, assume-blocked,
 *    await-blocked and sleep-set-blocked executions of `nidhuggc --sc --rf` (reads-from
 *    equivalence; tests/litmus/test-nidhugg.py). Nidhugg orders every two operations on a mutex
 *    (its trylock counts are ours with a failed trylock as a read-modify-write), and in the programs
 *    used here the lock order fixes every other reads-from and write order, so its counts are ours.
 *  - Threads are created by a main thread in the C programs; here they exist from the start. A
 *    creation orders nothing that matters (a created thread can still take its lock last), and a
 *    join followed by reads of what the threads left adds no trace: neither changes the count.
 *    Where a join matters it is a guarded wait on the thread's `done` flag.
 *  - `__VERIFIER_assume(c)` is a read of what c reads, and if c is false a step that is never
 *    enabled (stuck()): the thread stops there, and the execution ends deadlocked.
 * Every count, published or derived, is also checked against exploration without reduction on the
 * programs small enough for it (test/engines/check/locks.test.ts).
 */
import { access, type Program, type Proc, type Value } from '../../src/core/index.js';
import { agent, program, read, write } from './models.js';

/** pthread_mutex_lock(m) by thread `owner`: wait until m is free, then take it (one guarded read-modify-write). */
export function* lock(m: string, owner: number): Proc<void> {
  yield* access({ fn: 'lock', desc: `lock ${m}`, reads: [m], writes: [m], guard: ([v]) => v === null, effect: () => ({ writes: [[m, owner]] }) });
}

/** pthread_mutex_unlock(m): a write of m. */
export function* unlock(m: string): Proc<void> {
  yield* access({ fn: 'unlock', desc: `unlock ${m}`, writes: [m], effect: () => ({ writes: [[m, null]] }) });
}

/**
 * pthread_mutex_trylock(m) == 0 by thread `owner`: take m if it is free, true if taken. A failed
 * attempt is, with `failure: 'rmw'`, a read-modify-write of m that writes back what it read (how
 * Nidhugg treats every lock operation, and what a locked cmpxchg does on x86), so failed attempts
 * are ordered among themselves; with `'read'` only a read of m (so two failed attempts commute).
 */
export function* trylock(m: string, owner: number, failure: 'rmw' | 'read' = 'rmw'): Proc<boolean> {
  return yield* access<boolean>({
    fn: 'trylock',
    desc: `trylock ${m}`,
    reads: [m],
    writes: [m],
    effect: ([v]) => {
      if (v === null) return { writes: [[m, owner]], result: true };
      return failure === 'rmw' ? { writes: [[m, v as Value]], result: false } : { result: false };
    },
  });
}

/** atomic_fetch_add(loc, d): one read-modify-write; returns the old value. */
export function* fetchAdd(loc: string, d: number): Proc<number> {
  return yield* access<number>({ fn: 'fetch_add', desc: `${loc} += ${d}`, reads: [loc], writes: [loc], effect: ([v]) => ({ writes: [[loc, (v as number) + d]], result: v as number }) });
}

/** `__VERIFIER_assume(false)`: a step that is never enabled; the thread stops here for good. */
export function* stuck(): Proc<void> {
  yield* access({ fn: 'assume', desc: 'assume(false)', guard: () => false });
}

/** `++loc` on a plain int: a read, then a write. */
function* increment(loc: string, d = 1): Proc<void> {
  const v = (yield* read(loc)) as number;
  yield* write(loc, v + d);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * lockers(N): N threads, thread t: `lock(m); x = t; unlock(m)`. N! traces, one per order of the
 * critical sections; the final x is the last thread's id, any of them. The trace structure of
 * GenMC's tests/correct/lapor/N-writes-lock (`lock(l); x = 42; unlock(l)`): 2, 6, 24 executions for
 * N = 2, 3, 4 (args/expected.rc11.mo.in, with -lapor; the writes of x order every two critical
 * sections, so LAPOR's count is the plain one).
 */
export function lockers(n: number): Program {
  return program(`lockers(${n})`, { m: null, x: null }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    yield* write('x', t);
    yield* unlock('m');
  })));
}

/**
 * lockedIncrements(N): N threads each `lock(m); r = x; x = r + 1; unlock(m)`. N! traces.
 * GenMC tests/correct/synthetic/lockinc (expected.sc.mo.in): 2, 6, 24, 120, 720, 5040 for
 * N = 2..7. Nidhugg tests/smoke/C-tests/mutex_order_{2,3}.c (`++x` under the lock): 2, 6.
 * GenMC tests/correct/lapor/N-rw-lock (`r = x; x = i + 1`, same footprint): 720 for N = 6
 * (expected.rc11.mo.in, -lapor; every two critical sections conflict on x).
 */
export function lockedIncrements(n: number): Program {
  return program(`lockedIncrements(${n})`, { m: null, x: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    yield* increment('x');
    yield* unlock('m');
  })));
}

/**
 * lockedReaders(N): N threads each `lock(m); r = x; unlock(m)`. GenMC
 * tests/correct/lapor/N-reads-lock: 1 execution for N = 6, 7, 8 with -lapor, which does not order
 * critical sections that do not conflict. Adjusted: here the lock accesses are the only conflicts,
 * and they order the critical sections: N! traces, one final state.
 */
export function lockedReaders(n: number): Program {
  return program(`lockedReaders(${n})`, { m: null, x: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    yield* read('x');
    yield* unlock('m');
  })));
}

/**
 * twoLockIncrements(N) (GenMC tests/correct/lapor/binc-locks): N threads each
 * `lock(lx); x = x + 1; unlock(lx); lock(ly); y = y + 1; unlock(ly)`. (N!)^2 traces: any order
 * of the lx critical sections with any order of the ly ones. Published: 4, 36, 576 for N = 2, 3, 4
 * (expected.rc11.mo.in, -lapor; each lock's critical sections all write its variable).
 */
export function twoLockIncrements(n: number): Program {
  return program(`twoLockIncrements(${n})`, { lx: null, ly: null, x: 0, y: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('lx', t);
    yield* increment('x');
    yield* unlock('lx');
    yield* lock('ly', t);
    yield* increment('y');
    yield* unlock('ly');
  })));
}

/**
 * lazy01 (GenMC tests/correct/lapor/lazy01, from SV-COMP): three threads on one lock:
 * `lock; data++; unlock` | `lock; data += 2; unlock` | `lock; r = data; unlock`. 6 executions
 * (expected.rc11.mo.in, -lapor): the reader conflicts with both writers, so every order of the
 * three critical sections is its own trace (3!).
 */
export function lazy01(): Program {
  return program('lazy01', { m: null, data: 0 }, [
    agent('t1', function* () {
      yield* lock('m', 0);
      yield* increment('data');
      yield* unlock('m');
    }),
    agent('t2', function* () {
      yield* lock('m', 1);
      yield* increment('data', 2);
      yield* unlock('m');
    }),
    agent('t3', function* () {
      yield* lock('m', 2);
      yield* read('data');
      yield* unlock('m');
    }),
  ]);
}

/**
 * stateful01 (GenMC tests/correct/lapor/stateful01-2, from SV-COMP), two critical sections per
 * thread on one lock: `lock; data1++; unlock; lock; data2++; unlock` |
 * `lock; data1 += 5; unlock; lock; data2 -= 6; unlock`. GenMC: 4 executions with -lapor (the
 * order of the data1 sections with that of the data2 sections). Adjusted: the lock orders all four
 * sections, and the interleavings of two threads of two sections each are C(4, 2) = 6 traces.
 */
export function stateful01(): Program {
  return program('stateful01', { m: null, data1: 10, data2: 10 }, [
    agent('t1', function* () {
      yield* lock('m', 0);
      yield* increment('data1');
      yield* unlock('m');
      yield* lock('m', 0);
      yield* increment('data2');
      yield* unlock('m');
    }),
    agent('t2', function* () {
      yield* lock('m', 1);
      yield* increment('data1', 5);
      yield* unlock('m');
      yield* lock('m', 1);
      yield* increment('data2', -6);
      yield* unlock('m');
    }),
  ]);
}

/**
 * sbLocks (GenMC tests/correct/lapor/sb+locks): store buffering with an empty critical section
 * between each thread's store and load, and a main thread that joins both (guarded waits on their
 * done flags) and reads the results:
 *   t1: y = 1; lock(l); unlock(l); r_x = x     t2: x = 1; lock(l); unlock(l); r_y = y
 *   main: wait done1; wait done2; read r_x, r_y
 * GenMC: 3 executions with -lapor ((r_x, r_y) = (0, 1), (1, 0), (1, 1)). Adjusted: for each of the
 * 2 orders of the critical sections, the later thread's load reads 1, and the earlier thread's
 * load comes before or after the other's store: 4 traces, 3 final states.
 */
export function sbLocks(): Program {
  const side = (id: number, mine: string, other: string, result: string) => agent(`t${id}`, function* () {
    yield* write(mine, 1);
    yield* lock('l', id);
    yield* unlock('l');
    const v = yield* read(other);
    yield* write(result, v);
    yield* write(`done${id}`, true);
  });
  return program('sbLocks', { l: null, x: 0, y: 0, r_x: null, r_y: null, done1: false, done2: false }, [
    side(1, 'y', 'x', 'r_x'),
    side(2, 'x', 'y', 'r_y'),
    agent('main', function* () {
      for (const d of ['done1', 'done2']) yield* access({ fn: 'join', desc: `wait ${d}`, reads: [d], guard: ([v]) => v === true });
      yield* read('r_x');
      yield* read('r_y');
    }),
  ]);
}

/**
 * mutexDeadlock(N) (Nidhugg tests/smoke/C-tests/mutex_deadlock_{2,3}.c): N threads each
 * `lock(m); ++x` and never unlock. N traces (which thread takes m), for N >= 2 all deadlocked.
 * Published: 2, 3 for N = 2, 3.
 */
export function mutexDeadlock(n: number): Program {
  return program(`mutexDeadlock(${n})`, { m: null, x: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    yield* increment('x');
  })));
}

/**
 * deadlockOne(N, k) (Nidhugg tests/smoke/C-tests/mutex_deadlock_one.c, k = N - 1, and
 * mutex_deadlock_one_first.c, k = 0; both N = 3): N threads each
 * `lock(m); ++x; assume(tid != k); unlock(m)`. Thread k stops inside its critical section, so an
 * execution ends when k takes m, after any ordered choice of the others: sum over j < N of
 * (N-1)!/j! traces (1, 2, 5, 16, 65 for N = 1..5), all deadlocked. Published: 5 for N = 3.
 */
export function deadlockOne(n: number, k: number): Program {
  return program(`deadlockOne(${n}, ${k})`, { m: null, x: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    yield* increment('x');
    if (t === k) yield* stuck();
    yield* unlock('m');
  })));
}

/**
 * mutexHard(N) (Nidhugg tests/smoke/C-tests/mutex_hard.c, N = 3): N threads each
 * `lock(m); if (atomic_fetch_add(&x, 1) == tid) unlock(m)`. The k-th thread to take m unlocks it
 * only if it is thread k: either every thread takes m in id order (1 finished trace), or at the
 * first position k taken by another thread (N-1-k choices) the execution deadlocks. 1 + N(N-1)/2
 * traces (1, 2, 4, 7 for N = 1..4). Published: 4 for N = 3.
 */
export function mutexHard(n: number): Program {
  return program(`mutexHard(${n})`, { m: null, x: 0 }, range(n).map((t) => agent(`t${t}`, function* () {
    yield* lock('m', t);
    if ((yield* fetchAdd('x', 1)) === t) yield* unlock('m');
  })));
}

/**
 * filesystem(N) (the file-system example of Flanagan and Godefroid, "Dynamic partial-order
 * reduction for model checking software", POPL 2005; as in Nidhugg
 * benchmarks/from_TRACER/filesystem.c, and GenMC tests/correct/lapor/filesystem with `while (true)`
 * for the bounded loop, which never runs past its second round): 26 blocks and 32 inodes, each
 * with a lock; thread t (i = t % 32) allocates a block to inode i:
 *   lock(locki[i]); if (inode[i] == 0) { b = (i*2) % 26;
 *     for (j = 0; j < 10; j++) { lock(lockb[b]);
 *       if (!busy[b]) { busy[b] = 1; inode[i] = b+1; unlock(lockb[b]); break; }
 *       unlock(lockb[b]); b = (b+1) % 26; } }
 *   unlock(locki[i]);
 * Threads t and t + 13 start at the same even block 2t; the one that comes second takes the odd
 * block 2t+1, which no other thread reaches. So each such pair (t + 13 < N) has 2 traces (the order
 * of its two critical sections on lockb[2t], which both read busy[2t] and one writes it), and there
 * are 2^(N-13) traces for 13 <= N <= 26, 1 below. Published: 64 for N = 19 (GenMC
 * tests/correct/lapor/filesystem, expected.rc11.mo.in, -lapor; the two sections of a pair
 * conflict, so the count is the plain one). `threads` picks a subset of the thread ids (default
 * 0..N-1), e.g. one colliding pair [0, 13], small enough to explore without reduction.
 */
export function filesystem(n: number, threads: readonly number[] = range(n)): Program {
  const NUMBLOCKS = 26;
  const NUMINODE = 32;
  const init: Record<string, Value> = {};
  for (let i = 0; i < NUMINODE; i++) Object.assign(init, { [`locki${i}`]: null, [`inode${i}`]: 0 });
  for (let b = 0; b < NUMBLOCKS; b++) Object.assign(init, { [`lockb${b}`]: null, [`busy${b}`]: 0 });
  return program(`filesystem(${n})`, init, threads.map((tid) => agent(`t${tid}`, function* () {
    const i = tid % NUMINODE;
    yield* lock(`locki${i}`, tid);
    if ((yield* read(`inode${i}`)) === 0) {
      let b = (i * 2) % NUMBLOCKS;
      for (let j = 0; j < 10; j++) {
        yield* lock(`lockb${b}`, tid);
        if (!(yield* read(`busy${b}`))) {
          yield* write(`busy${b}`, 1);
          yield* write(`inode${i}`, b + 1);
          yield* unlock(`lockb${b}`);
          break;
        }
        yield* unlock(`lockb${b}`);
        b = (b + 1) % NUMBLOCKS;
      }
    }
    yield* unlock(`locki${i}`);
  })));
}

/**
 * lockInplace (GenMC tests/correct/infr/lock-inplace):
 *   t1: r = x; lock(l)      t2: lock(l); y = 42; unlock(l)      t3: assume(y == 42); x = 42
 * GenMC: 2 complete executions (expected.rc11.mo.in; x and y are seq_cst atomics; the first line
 * of expected.sc.mo.in is empty): t2 before t1 takes l, t3 after t2's store,
 * t1's load of x before or after t3's store. Ours also has 2 deadlocked traces, which GenMC does
 * not count: t3 reads y = 0, before t2's store or because t1 took l first and t2 never stores.
 */
export function lockInplace(): Program {
  return program('lockInplace', { l: null, x: 0, y: 0 }, [
    agent('t1', function* () {
      yield* read('x');
      yield* lock('l', 1);
    }),
    agent('t2', function* () {
      yield* lock('l', 2);
      yield* write('y', 42);
      yield* unlock('l');
    }),
    agent('t3', function* () {
      if ((yield* read('y')) !== 42) yield* stuck();
      yield* write('x', 42);
    }),
  ]);
}

/**
 * lockInplace2 (GenMC tests/correct/ipr/lock-inplace2):
 *   t1: atomic_fetch_add(&x, 1); lock(l); unlock(l)      t2: lock(l); atomic_fetch_add(&x, 1); unlock(l)
 * 3 executions (expected.sc.mo.in): t1's (empty) critical section first, which puts its add first;
 * or t2's first, with t1's add before or after t2's.
 */
export function lockInplace2(): Program {
  return program('lockInplace2', { l: null, x: 0 }, [
    agent('t1', function* () {
      yield* fetchAdd('x', 1);
      yield* lock('l', 1);
      yield* unlock('l');
    }),
    agent('t2', function* () {
      yield* lock('l', 2);
      yield* fetchAdd('x', 1);
      yield* unlock('l');
    }),
  ]);
}

/**
 * lockInplace3 (GenMC tests/correct/ipr/lock-inplace3): three threads that each take two of three
 * locks and then the second one again (a non-recursive mutex: they block on themselves):
 *   t1: lock(l3); lock(l1); lock(l1)   t2: lock(l2); lock(l3); lock(l3)   t3: lock(l2); lock(l1); lock(l1)
 * (and a fourth lock each, never reached). No execution finishes (expected.sc.mo.in: 0) and 4 are
 * blocked (blocked.sc.mo.in): t2 or t3 takes l2; if t2, t1 or t2 takes l3; if t3, t1 or t3 takes l1.
 */
export function lockInplace3(): Program {
  const t = (id: number, a: string, b: string) => agent(`t${id}`, function* () {
    yield* lock(a, id);
    yield* lock(b, id);
    yield* lock(b, id);
    yield* lock(a, id);
  });
  return program('lockInplace3', { l1: null, l2: null, l3: null }, [t(1, 'l3', 'l1'), t(2, 'l2', 'l3'), t(3, 'l2', 'l1')]);
}

/**
 * lockrevInPlace (GenMC tests/correct/ipr/lockrev-in-place):
 *   t1: x = 42      t2: lock(l); x = 1; unlock(l)      t3: lock(l); x = 2; r = x; unlock(l)
 * 8 executions (expected.sc.mo.in): 2 orders of the critical sections, times 4 places of t1's
 * store among the three accesses to x in them.
 */
export function lockrevInPlace(): Program {
  return program('lockrevInPlace', { l: null, x: 0 }, [
    agent('t1', function* () {
      yield* write('x', 42);
    }),
    agent('t2', function* () {
      yield* lock('l', 2);
      yield* write('x', 1);
      yield* unlock('l');
    }),
    agent('t3', function* () {
      yield* lock('l', 3);
      yield* write('x', 2);
      yield* read('x');
      yield* unlock('l');
    }),
  ]);
}

/**
 * readWriteLock (GenMC tests/correct/lapor/read_write_lock-1, from SV-COMP after Flanagan, Freund
 * and Qadeer's "Thread-modular verification for shared-memory programs"): a reader-writer lock
 * made of two counters w, r under a mutex l, with two writers and two readers:
 *   take_write:   lock(l); assume(w == 0 && r == 0); w = 1; unlock(l)
 *   release_write: lock(l); w = 0; unlock(l)
 *   take_read:    lock(l); assume(w == 0); r = r + 1; unlock(l)
 *   release_read: lock(l); r = r - 1; unlock(l)
 *   writer: take_write; x = 3; release_write
 *   reader: take_read; l = x; y = l; assert(y == x); release_read
 * (writer, reader, writer, reader by default; `writers` and `readers` change the mix, alternating.)
 * GenMC: 120 complete executions of the 2 + 2 program (expected.rc11.mo.in, without -lapor; x and
 * y are atomic_int read and written as plain expressions, i.e. seq_cst, w and r are under l). A
 * failed assume leaves its thread holding l: the execution deadlocks, and is not among the 120
 * finished ones; exploration without reduction finds those 120 and 178 deadlocked traces.
 */
export function readWriteLock(writers = 2, readers = 2): Program {
  const takeWrite = function* (id: number): Proc<void> {
    yield* lock('l', id);
    if ((yield* read('w')) !== 0 || (yield* read('r')) !== 0) yield* stuck();
    yield* write('w', 1);
    yield* unlock('l');
  };
  const releaseWrite = function* (id: number): Proc<void> {
    yield* lock('l', id);
    yield* write('w', 0);
    yield* unlock('l');
  };
  const takeRead = function* (id: number): Proc<void> {
    yield* lock('l', id);
    if ((yield* read('w')) !== 0) yield* stuck();
    yield* increment('r');
    yield* unlock('l');
  };
  const releaseRead = function* (id: number): Proc<void> {
    yield* lock('l', id);
    yield* increment('r', -1);
    yield* unlock('l');
  };
  const writer = (id: number) => agent(`writer${id}`, function* () {
    yield* takeWrite(id);
    yield* write('x', 3);
    yield* releaseWrite(id);
  });
  const reader = (id: number) => agent(`reader${id}`, function* () {
    yield* takeRead(id);
    const v = yield* read('x');
    yield* write('y', v);
    const y = yield* read('y');
    const x = yield* read('x');
    if (y !== x) throw new Error(`reader${id}: assert(y == x) fails: y = ${String(y)}, x = ${String(x)}`);
    yield* releaseRead(id);
  });
  const threads = [];
  for (let i = 0; i < Math.max(writers, readers); i++) {
    if (i < writers) threads.push(writer(threads.length + 1));
    if (i < readers) threads.push(reader(threads.length + 1));
  }
  return program(`readWriteLock(${writers}, ${readers})`, { l: null, w: 0, r: 0, x: 0, y: 0 }, threads);
}

/**
 * trylockers(N) (Nidhugg tests/smoke/C-tests/mutex_trylock_unlock.c, mutex_trylock_deadlock.c
 * with `unlock: false`, mutex_vs_trylock_{1,2}.c with `locker: true`): N threads each
 * `if (trylock(m)) { ++x; unlock(m) }` (without `unlock`, the lock is never released), and with
 * `locker` one more thread `lock(m); ++x; unlock(m)`.
 * With failed attempts as read-modify-writes (`failure: 'rmw'`, Nidhugg's treatment), Nidhugg's
 * counts carry over: 24 for N = 3, 6 for N = 3 without unlock, 3 and 16 for N = 1, 2 with the
 * locker. In general (no locker): k >= 1 threads take m in some order, and the N-k others fail
 * during one of those critical sections, in order: sum over k of N!/(N-k)! * k(k+1)...(N-1)
 * traces (1, 4, 24, 192 for N = 1..4); without unlock, N!.
 * With failed attempts as reads (`failure: 'read'`, what a failed trylock does): the failed ones
 * during one critical section commute, sum over k of N!/(N-k)! * k^(N-k) traces (1, 4, 21, 148
 * for N = 1..4); without unlock, N.
 */
export function trylockers(n: number, o: { unlock?: boolean; locker?: boolean; failure?: 'rmw' | 'read' } = {}): Program {
  const threads = range(n).map((t) => agent(`t${t}`, function* () {
    if (yield* trylock('m', t, o.failure)) {
      yield* increment('x');
      if (o.unlock ?? true) yield* unlock('m');
    }
  }));
  if (o.locker) threads.push(agent('locker', function* () {
    yield* lock('m', n);
    yield* increment('x');
    yield* unlock('m');
  }));
  const opts = [o.unlock === false ? 'no unlock' : '', o.locker ? 'locker' : '', o.failure ? `failure ${o.failure}` : ''].filter((x) => x !== '');
  return program(`trylockers(${[n, ...opts].join(', ')})`, { m: null, x: 0 }, threads);
}
