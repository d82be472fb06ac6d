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
import { vma_end_write_all, vma_start_write } from '../include/linux/mmap_lock.js';
import { free_pgtables, unmap_vmas } from './memory.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { hugetlb_free_pgd_range, hugetlb_share_all, unmap_hugetlb_vma } from './hugetlb.js';

/** unmap_region(): tear down the page tables of detached VMAs, with `keep` still mapped. */
export function* unmap_region(cur: Ctx, mm: string, vmas: readonly VmaSpec[], keep: readonly VmaSpec[]): Proc<void> {
  const tlb = yield* tlb_gather_mmu(cur, mm);
  yield* unmap_vmas(cur, tlb, vmas);
  yield* free_pgtables(cur, tlb, vmas, keep);
  yield* tlb_finish_mmu(cur, tlb);
}

/**
 * unmap_region() of the hugetlb VMA (mm/hugetlb.ts): tlb_gather_mmu(); unmap_vmas() ->
 * unmap_hugetlb_vma() (i_mmap_rwsem for write, __unmap_hugepage_range(): unshare or zap each
 * table, and with 8ce720d5bd91 huge_pmd_unshare_flush() before the unlock); free_pgtables() ->
 * hugetlb_free_pgd_range(); tlb_finish_mmu().
 */
export function* unmap_region_hugetlb(cur: Ctx, mm: string): Proc<void> {
  const tlb = yield* tlb_gather_mmu(cur, mm);
  yield* unmap_hugetlb_vma(cur, tlb, mm);
  yield* hugetlb_free_pgd_range(cur, tlb, mm);
  yield* tlb_finish_mmu(cur, tlb);
}

/** do_vmi_munmap() of the VMA named `vmaName` in `mm` (the mm's hugetlb mapping too). */
export function* do_munmap(cur: Ctx, mm: string, vmaName: string): Proc<void> {
  const spec = mmSpec(cur.k, mm);
  const hugetlb = spec.hugetlb?.name === vmaName;
  yield* mmap_write_lock(cur, 'do_vmi_munmap', mm);
  // vms_gather_munmap_vmas(): vma_start_write() of each VMA to remove ("mm: write-lock VMAs
  // before removing them from VMA tree", v6.4), so that no fault keeps its VMA read lock while the
  // page tables go; then detach the VMA from the mm's tree (vma_mark_detached()).
  if (cur.k.config.munmap_vma_start_write) yield* vma_start_write(cur, 'vms_gather_munmap_vmas', mm, vmaName);
  const remaining = yield* access<string[] | null>({
    fn: 'vms_gather_munmap_vmas',
    desc: `detach VMA ${vmaName}`,
    reads: [mmLoc.vmas(mm)],
    writes: [mmLoc.vmas(mm)],
    effect: ([v]) => {
      const names = v as readonly string[];
      // Already unmapped (another CPU's munmap, or an earlier one of this run list): nothing to detach.
      if (!names.includes(vmaName)) return { writes: [], result: null };
      const rest = names.filter((n) => n !== vmaName);
      return { writes: [[mmLoc.vmas(mm), rest]], result: rest };
    },
  });
  if (remaining === null) {
    // do_vmi_munmap() (mm/vma.c, v6.12): `vma = vma_find(vmi, end); if (!vma) { if (unlock)
    // mmap_write_unlock(mm); return 0; }`: a munmap of a range with no VMA succeeds and does
    // nothing. The model finds that out after vma_start_write() of the named VMA (the kernel,
    // before): docs/model.md §5 says why that write to a detached VMA's lock changes no verdict.
    if (cur.k.config.munmap_vma_start_write) yield* vma_end_write_all(cur, 'do_vmi_munmap', mm);
    yield* mmap_write_unlock(cur, 'do_vmi_munmap', mm);
    return;
  }
  // mmap_write_downgrade() -> vma_end_write_all(): the detached VMA is no longer write-locked, but
  // lock_vma_under_rcu() cannot find it any more.
  if (cur.k.config.munmap_vma_start_write) yield* vma_end_write_all(cur, 'mmap_write_downgrade', mm);
  yield* mmap_write_downgrade(cur, 'vms_complete_munmap_vmas', mm);
  if (hugetlb) {
    yield* unmap_region_hugetlb(cur, mm);
    yield* mmap_read_unlock(cur, 'vms_complete_munmap_vmas', mm);
    return;
  }
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
  const hugetlb = spec.hugetlb?.name === vmaName ? spec.hugetlb.name : null;
  if (!hugetlb && !spec.vmas.some((v) => v.name === vmaName)) {
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
      // The hugetlb mapping (PGD entry 1) comes after every VMA of PGD entry 0.
      const h = spec.hugetlb && (vmaName === spec.hugetlb.name || names.includes(spec.hugetlb.name)) ? [spec.hugetlb.name] : [];
      const next = [...spec.vmas.filter((x) => x.name === vmaName || names.includes(x.name)).map((x) => x.name), ...h];
      return { writes: [[mmLoc.vmas(mm), next]], note: `mapped: ${next.join(', ')}` };
    },
  });
  // A hugetlb mapping is also populated here, sharing every PMD table it can (as fork's
  // copy_hugetlb_page_range() does for a child, or the first touch of each 1 GiB).
  if (hugetlb) yield* hugetlb_share_all(cur, mm);
  yield* mmap_write_unlock(cur, 'vm_mmap_pgoff', mm);
}
