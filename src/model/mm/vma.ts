/**
 * mm/vma.c: munmap. do_vmi_align_munmap() detaches the VMAs under the mmap_lock held for write,
 * downgrades it to read (vms_complete_munmap_vmas()), then unmap_region(): tlb_gather_mmu(),
 * unmap_vmas(), free_pgtables(), tlb_finish_mmu(). So page tables are freed with the mmap_lock
 * held for read, in sleepable context.
 *
 * And mmap (mm/mmap.c do_mmap() -> mm/vma.c mmap_region() -> __mmap_region()): link a VMA under
 * the mmap_lock held for write. No page table is touched: faults populate them lazily
 * (mm/memory.ts handle_mm_fault()).
 */
import { access, ModelError, type Proc } from '../../core/index.js';
import type { Ctx, VmaSpec } from '../kernel.js';
import { mmSpec } from '../kernel.js';
import { mmap_read_unlock, mmap_write_downgrade, mmap_write_lock, mmap_write_unlock } from '../kernel/locking/rwsem.js';
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

/**
 * mmap() of the VMA named `vmaName` of `mm` (its place in the mm's static layout, Kernel.mms):
 * vm_mmap_pgoff() takes mmap_write_lock(), do_mmap() -> mmap_region() -> __mmap_region() links
 * the VMA (vma_link_file()/vma_iter_store(), one step on `mm.<mm>.vmas`, kept in address order),
 * mmap_write_unlock(). Anonymous, private, no MAP_FIXED replacement, no merge with neighbours, no
 * MAP_POPULATE: page tables are allocated by later faults. Mapping a VMA that is already mapped is
 * a model error (the model's VMAs have fixed places and must not overlap).
 */
export function* do_mmap(cur: Ctx, mm: string, vmaName: string): Proc<void> {
  const spec = mmSpec(cur.k, mm);
  if (!spec.vmas.some((v) => v.name === vmaName)) {
    throw new ModelError(`mmap: ${mm} has no VMA '${vmaName}' in its layout (has: ${spec.vmas.map((v) => v.name).join(', ')})`);
  }
  yield* mmap_write_lock(cur, 'vm_mmap_pgoff', mm);
  yield* access({
    fn: '__mmap_region',
    desc: `link VMA ${vmaName}`,
    reads: [mmLoc.vmas(mm)],
    writes: [mmLoc.vmas(mm)],
    effect: ([v]) => {
      const names = v as readonly string[];
      if (names.includes(vmaName)) {
        throw new ModelError(`mmap: VMA '${vmaName}' of ${mm} is already mapped (mapped: ${names.join(', ')}); munmap it first`);
      }
      const next = spec.vmas.filter((x) => x.name === vmaName || names.includes(x.name)).map((x) => x.name);
      return { writes: [[mmLoc.vmas(mm), next]], note: `mapped: ${next.join(', ')}` };
    },
  });
  yield* mmap_write_unlock(cur, 'vm_mmap_pgoff', mm);
}
