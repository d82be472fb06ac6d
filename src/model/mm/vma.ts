/**
 * mm/vma.c: munmap. do_vmi_align_munmap() detaches the VMAs under the mmap_lock held for write,
 * downgrades it to read (vms_complete_munmap_vmas()), then unmap_region(): tlb_gather_mmu(),
 * unmap_vmas(), free_pgtables(), tlb_finish_mmu(). So page tables are freed with the mmap_lock
 * held for read, in sleepable context.
 */
import { access, type Proc } from '../../core/index.js';
import type { Ctx, VmaSpec } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import { mmap_read_unlock, mmap_write_downgrade, mmap_write_lock } from '../kernel/locking/rwsem.js';
import { mmLoc } from '../state.js';
import { free_pgtables, unmap_vmas } from './memory.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';

/** unmap_region(): tear down the page tables of detached VMAs, with `keep` still mapped. */
export function* unmap_region(cur: Ctx, mm: string, vmas: readonly VmaSpec[], keep: readonly VmaSpec[]): Proc<void> {
  const tlb = yield* tlb_gather_mmu(cur, mm);
  yield* unmap_vmas(cur, tlb, vmas);
  yield* free_pgtables(cur, tlb, vmas, keep);
  yield* tlb_finish_mmu(cur, tlb);
}

/** do_vmi_munmap() of the VMA named `vmaName` in `mm`. */
export function* do_munmap(cur: Ctx, mm: string, vmaName: string): Proc<void> {
  const spec = mmSpec(cur.k, mm);
  yield* mmap_write_lock(cur, 'do_vmi_munmap', mm);
  // vms_gather_munmap_vmas(): detach the VMA from the mm's tree
  const remaining = yield* access<string[]>({
    fn: 'vms_gather_munmap_vmas',
    desc: `detach VMA ${vmaName}`,
    reads: [mmLoc.vmas(mm)],
    writes: [mmLoc.vmas(mm)],
    effect: ([v]) => {
      const names = v as readonly string[];
      if (!names.includes(vmaName)) throw new Error(`munmap: ${mm} has no VMA '${vmaName}' (left: ${names.join(', ')})`);
      const rest = names.filter((n) => n !== vmaName);
      return { writes: [[mmLoc.vmas(mm), rest]], result: rest };
    },
  });
  yield* mmap_write_downgrade(cur, 'vms_complete_munmap_vmas', mm);
  const vma = spec.vmas.find((v) => v.name === vmaName) as VmaSpec;
  const keep = spec.vmas.filter((v) => remaining.includes(v.name));
  yield* unmap_region(cur, mm, [vma], keep);
  yield* mmap_read_unlock(cur, 'vms_complete_munmap_vmas', mm);
}
