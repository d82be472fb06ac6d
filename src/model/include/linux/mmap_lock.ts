/**
 * include/linux/mmap_lock.h (and mm/mmap_lock.c), CONFIG_PER_VMA_LOCK: the per-VMA lock
 * (Suren Baghdasaryan's series, v6.4; read in the v7.0 form with vma->vm_refcnt, mm/mmap_lock.c
 * and include/linux/mmap_lock.h as quoted from v7.0, and in the v6.4 form of the series' patches
 * "mm: add per-VMA lock and helper functions to control it" and "mm: introduce
 * lock_vma_under_rcu to be used from arch-specific code").
 *
 *  - vma_start_read(mm, vma): fails (returns false, or -EAGAIN for a detached VMA) when the VMA is
 *    write-locked (vm_lock_seq == mm->mm_lock_seq, or VM_REFCNT_EXCLUDE_READERS_FLAG set) or
 *    detached; else one more reader. Never waits.
 *  - vma_end_read(vma): one reader fewer (vma_refcount_put(), waking a waiting writer).
 *  - vma_start_write(vma): with the mmap_lock held for write: if this writer already locked it,
 *    nothing; else mark it write-locked (vm_lock_seq = mm_lock_seq) and wait until every reader is
 *    gone (__vma_start_write() -> __vma_enter_locked(): rcuwait_wait_event()).
 *  - vma_end_write_all(mm): from mmap_write_unlock() and mmap_write_downgrade(): increment
 *    mm->mm_lock_seq, which unlocks every VMA the writer locked at once.
 *
 * The state is `vma.<mm>.<vma>.vm_lock` (VmaLockState, state.ts): the writer's comm stands for the
 * sequence number. With per_vma_lock off these functions are the !CONFIG_PER_VMA_LOCK stubs:
 * vma_start_read() fails, the others do nothing (no step).
 */
import { access, type Loc, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { mmSpec } from '../../kernel.js';
import { mmLoc, vmaLoc, VMA_UNLOCKED, type VmaLockState } from '../../state.js';

/**
 * vma_start_read(): the try-lock, as lock_vma_under_rcu() calls it right after mas_walk() found the
 * VMA: one step that reads the VMA tree (`mm.<mm>.vmas`: detached?) and the VMA's lock. Returns
 * 'locked' (one more reader), 'write_locked' (NULL: the caller falls back to the mmap_lock) or
 * 'detached' (the VMA is not in the tree: mas_walk() finds nothing, or vma_start_read() returns
 * -EAGAIN and the retried walk finds nothing).
 */
export function* vma_start_read(cur: Ctx, caller: string, mm: string, vma: string): Proc<'locked' | 'write_locked' | 'detached'> {
  if (!cur.k.config.per_vma_lock) return 'write_locked';
  const loc = vmaLoc.vm_lock(mm, vma);
  return yield* access<'locked' | 'write_locked' | 'detached'>({
    fn: caller,
    desc: `mas_walk() + vma_start_read(${vma})`,
    reads: [mmLoc.vmas(mm), loc],
    writes: [loc],
    effect: ([v, l]) => {
      const st = l as VmaLockState;
      if (!(v as readonly string[]).includes(vma)) return { result: 'detached', note: `${vma} is not in the VMA tree` };
      if (st.writer !== null) return { result: 'write_locked', note: `${vma} is write-locked by ${st.writer}: fall back to the mmap_lock` };
      return { writes: [[loc, { writer: null, readers: st.readers + 1 }]], result: 'locked', note: `${vma} read-locked` };
    },
  });
}

/** vma_end_read(vma) */
export function* vma_end_read(cur: Ctx, caller: string, mm: string, vma: string): Proc<void> {
  if (!cur.k.config.per_vma_lock) return;
  const loc = vmaLoc.vm_lock(mm, vma);
  yield* access({
    fn: caller,
    desc: `vma_end_read(${vma})`,
    reads: [loc],
    writes: [loc],
    effect: ([l]) => {
      const st = l as VmaLockState;
      if (st.readers <= 0) throw new Error(`${caller}: vma_end_read(${vma}) with no reader`);
      return { writes: [[loc, { writer: st.writer, readers: st.readers - 1 }]] };
    },
  });
}

/**
 * vma_start_write(vma), with the mmap_lock held for write: mark the VMA write-locked (new
 * vma_start_read() calls fail from here on) and wait for its readers to leave. The wait is the
 * step's guard. Its might_sleep() is the one mmap_write_lock() already made in the same context.
 */
export function* vma_start_write(cur: Ctx, caller: string, mm: string, vma: string): Proc<void> {
  if (!cur.k.config.per_vma_lock) return;
  const loc = vmaLoc.vm_lock(mm, vma);
  const me = cur.comm;
  yield* access({
    fn: caller,
    desc: `vma_start_write(${vma})`,
    reads: [loc, mmLoc.mmap_lock(mm)],
    writes: [loc],
    effect: ([l, m]) => {
      const st = l as VmaLockState;
      if ((m as { writer: string | null }).writer !== me) throw new Error(`${caller}: vma_start_write(${vma}) without the mmap_lock held for write by ${me}`);
      if (st.writer === me) return { note: 'already write-locked by this writer' };
      return { writes: [[loc, { writer: me, readers: st.readers }]], note: st.readers > 0 ? `wait for ${st.readers} reader(s)` : 'no reader' };
    },
  });
  // __vma_enter_locked(): rcuwait_wait_event() until the readers are gone.
  yield* access({
    fn: caller,
    desc: `vma_start_write(${vma}): wait for readers`,
    reads: [loc],
    guard: ([l]) => (l as VmaLockState).readers === 0,
    effect: () => ({}),
  });
}

/**
 * vma_end_write_all(mm), from mmap_write_unlock() / mmap_write_downgrade(): every VMA of `mm`
 * write-locked by this writer is unlocked at once. The model calls it in the paths that
 * write-lock a VMA (munmap, collapse); elsewhere it would change nothing.
 */
export function* vma_end_write_all(cur: Ctx, caller: string, mm: string): Proc<void> {
  if (!cur.k.config.per_vma_lock) return;
  const me = cur.comm;
  const spec = mmSpec(cur.k, mm);
  const names = [...spec.vmas.map((v) => v.name), ...(spec.hugetlb ? [spec.hugetlb.name] : [])];
  const locs: Loc[] = names.map((v) => vmaLoc.vm_lock(mm, v));
  yield* access({
    fn: caller,
    desc: `vma_end_write_all(${mm})`,
    reads: locs,
    writes: locs,
    effect: (vals) => ({
      writes: locs.flatMap((l, i): Array<[Loc, Value]> => {
        const st = (vals[i] ?? VMA_UNLOCKED) as VmaLockState;
        return st.writer === me ? [[l, { writer: null, readers: st.readers }]] : [];
      }),
    }),
  });
}
