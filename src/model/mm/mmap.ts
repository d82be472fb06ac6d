/**
 * mm/mmap.c exit_mmap(): the mm's last user is gone. tlb_gather_mmu_fullmm(); unmap_vmas() over
 * every VMA under the mmap_lock held for read; then, with it held for write, free_pgtables() from
 * FIRST_USER_ADDRESS to USER_PGTABLES_CEILING, and tlb_finish_mmu(). No task runs on the mm
 * any more, so no GUP-fast walks it; lazy CPUs may still have it loaded and walk it in hardware.
 * A hugetlb mapping (mm/hugetlb.ts) is zapped after the other VMAs (unmap_hugetlb_vma(): shared PMD
 * tables are unshared there) and its remaining tables freed after theirs (hugetlb_free_pgd_range()).
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx, VmaSpec } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from '../kernel/locking/rwsem.js';
import { mmLoc } from '../state.js';
import { free_pgtables, unmap_vmas } from './memory.js';
import { hugetlb_free_pgd_range, unmap_hugetlb_vma } from './hugetlb.js';
import { tlb_finish_mmu, tlb_gather_mmu_fullmm } from './mmu_gather.js';

export function* exit_mmap(cur: Ctx, mm: string): Proc<void> {
  const spec = mmSpec(cur.k, mm);
  yield* mmap_read_lock(cur, 'exit_mmap', mm);
  const names = yield* access<string[]>({
    fn: 'exit_mmap',
    desc: 'vma_next(): every VMA',
    reads: [mmLoc.vmas(mm)],
    effect: ([v]) => ({ result: [...(v as readonly string[])] }),
  });
  const vmas = spec.vmas.filter((v: VmaSpec) => names.includes(v.name));
  // The hugetlb mapping (mm/hugetlb.ts) comes last in address order.
  const hugetlb = spec.hugetlb !== undefined && names.includes(spec.hugetlb.name);
  const tlb = yield* tlb_gather_mmu_fullmm(cur, mm);
  yield* unmap_vmas(cur, tlb, vmas);
  if (hugetlb) yield* unmap_hugetlb_vma(cur, tlb, mm);
  yield* mmap_read_unlock(cur, 'exit_mmap', mm);
  yield* mmap_write_lock(cur, 'exit_mmap', mm);
  yield* free_pgtables(cur, tlb, vmas, []);
  if (hugetlb) yield* hugetlb_free_pgd_range(cur, tlb, mm);
  yield* tlb_finish_mmu(cur, tlb);
  yield* access({
    fn: 'exit_mmap',
    desc: 'remove_vma() for every VMA',
    reads: [],
    writes: [mmLoc.vmas(mm)],
    effect: () => ({ writes: [[mmLoc.vmas(mm), []]] }),
  });
  yield* mmap_write_unlock(cur, 'exit_mmap', mm);
}
