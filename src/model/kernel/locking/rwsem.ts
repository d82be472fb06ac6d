/**
 * kernel/locking/rwsem.c, reduced to the mmap_lock and a file's i_mmap_rwsem: down_write()/up_write() and
 * down_read()/up_read(). Acquiring may sleep (might_sleep()), and waits while the lock is held.
 */
import { access, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { mappingLoc, mmLoc } from '../../state.js';
import { might_sleep } from '../sched.js';

interface RwsemState {
  readonly [key: string]: Value;
  readonly writer: string | null;
  readonly readers: number;
}

export const RWSEM_UNLOCKED: RwsemState = { writer: null, readers: 0 };

function* down_write(cur: Ctx, caller: string, loc: string, name: string): Proc<void> {
  yield* might_sleep(cur, caller);
  yield* access({
    fn: caller,
    desc: `down_write(${name})`,
    reads: [loc],
    writes: [loc],
    guard: ([s]) => (s as RwsemState).writer === null && (s as RwsemState).readers === 0,
    effect: () => ({ writes: [[loc, { writer: cur.comm, readers: 0 }]] }),
  });
}

function* up_write(cur: Ctx, caller: string, loc: string, name: string): Proc<void> {
  yield* access({
    fn: caller,
    desc: `up_write(${name})`,
    reads: [loc],
    writes: [loc],
    effect: ([s]) => {
      if ((s as RwsemState).writer !== cur.comm) throw new Error(`${caller}: up_write(${name}) by ${cur.comm}, not the owner`);
      return { writes: [[loc, RWSEM_UNLOCKED]] };
    },
  });
}

/** down_read(): wait while a writer holds the lock, then one more reader. `desc` names the call. */
function* down_read(cur: Ctx, caller: string, loc: string, desc: string): Proc<void> {
  yield* might_sleep(cur, caller);
  yield* access({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    guard: ([s]) => (s as RwsemState).writer === null,
    effect: ([s]) => ({ writes: [[loc, { writer: null, readers: (s as RwsemState).readers + 1 }]] }),
  });
}

/** up_read(): one reader fewer. `desc` names the call. */
function* up_read(caller: string, loc: string, desc: string): Proc<void> {
  yield* access({
    fn: caller,
    desc,
    reads: [loc],
    writes: [loc],
    effect: ([s]) => ({ writes: [[loc, { writer: null, readers: (s as RwsemState).readers - 1 }]] }),
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

/** mmap_write_downgrade(mm): keep the lock for read (downgrade_write()). */
export function* mmap_write_downgrade(cur: Ctx, caller: string, mm: string): Proc<void> {
  const loc = mmLoc.mmap_lock(mm);
  yield* access({
    fn: caller,
    desc: `mmap_write_downgrade(${mm})`,
    reads: [loc],
    writes: [loc],
    effect: ([s]) => {
      if ((s as RwsemState).writer !== cur.comm) throw new Error(`${caller}: downgrade of ${mm}->mmap_lock by ${cur.comm}, not the writer`);
      return { writes: [[loc, { writer: null, readers: 1 }]] };
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

