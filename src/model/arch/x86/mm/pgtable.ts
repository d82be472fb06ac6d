/**
 * arch/x86/mm/pgtable.c pmd_free_pte_page() and arch/x86/mm/tlb.c flush_tlb_kernel_range().
 *
 * pmd_free_pte_page(pmd, addr), called by vmap_try_huge_pmd() before pmd_set_huge() replaces a
 * small vmalloc/ioremap mapping by a huge one: pmd_clear(pmd); flush_tlb_kernel_range(addr,
 * addr + PAGE_SIZE - 1) ("INVLPG to clear all paging-structure caches", the 2018 TLB-purge fix);
 * pte_free_kernel(&init_mm, pte).
 *
 * flush_tlb_kernel_range() -> kernel_tlb_flush_range(): with X86_FEATURE_INVLPGB,
 * invlpgb_kernel_range_flush() (broadcast, no IPI); else on_each_cpu(do_kernel_range_flush, info, 1):
 * an IPI to every online CPU, lazy or not, plus the local call, and wait for all of them. Kernel
 * translations are global: do_kernel_range_flush() INVLPGs them whatever mm the CPU runs.
 * Neither reaches an SVA IOMMU (kernel.md §1.3).
 */
import { access, type Proc, type Value } from '../../../../core/index.js';
import { cpu_online_mask, type Ctx } from '../../../kernel.js';
import { on_each_cpu_mask, type smp_call_func_t } from '../../../kernel/smp.js';
import { preempt_disable, preempt_enable } from '../../../kernel/sched.js';
import { kernel_tlb_broadcast_invalidate, kernelPmdTable, kernelPudTable, pmd_free_kernel, pte_free_kernel, tlb_without_kernel } from '../../../mm/kernel_pgtable.js';
import { pxd_clear } from '../../../include/linux/pgtable.js';
import { cpuLoc, type TlbEntry } from '../../../state.js';

/** do_kernel_range_flush(): flush_tlb_one_kernel() of each page of the range on this CPU. */
export const do_kernel_range_flush: smp_call_func_t = {
  name: 'do_kernel_range_flush',
  irq: 'TLB',
  *run(cur: Ctx): Proc<void> {
    const c = cur.cpu;
    yield* access({
      fn: 'do_kernel_range_flush',
      desc: `flush kernel range on CPU${c}`,
      cost: { cls: 'tlb_flush_local' },
      reads: [cpuLoc.tlb(c)],
      writes: [cpuLoc.tlb(c)],
      effect: ([t]) => ({
        writes: [[cpuLoc.tlb(c), tlb_without_kernel(t as readonly TlbEntry[]) as unknown as Value]],
        events: [{ type: 'tlb_flush', cpu: c, mm: 'kernel', how: 'kernel-range' }],
      }),
    });
  },
};

/** flush_tlb_kernel_range() on x86. */
export function* x86_flush_tlb_kernel_range(cur: Ctx): Proc<void> {
  yield* preempt_disable(cur, 'flush_tlb_kernel_range', 'guard(preempt)');
  if (cur.k.arch.id === 'x86-invlpgb') {
    yield* kernel_tlb_broadcast_invalidate(cur, 'invlpgb_kernel_range_flush', 'INVLPGB (kernel range, all ASIDs) + TLBSYNC', 'invlpgb_flush', 'invlpgb');
  } else {
    yield* on_each_cpu_mask(cur, 'flush_tlb_kernel_range', cpu_online_mask(cur.k), do_kernel_range_flush, true);
  }
  yield* preempt_enable(cur, 'flush_tlb_kernel_range', 'guard(preempt) end');
}

/** pmd_free_pte_page() on x86: clear, flush every CPU, free (or queue) the PTE table. */
export function* x86_pmd_free_pte_page(cur: Ctx): Proc<void> {
  const e = yield* pxd_clear(cur, 'pmd_free_pte_page', 'pmd_clear', kernelPmdTable, 0);
  if (e === null || !('table' in e)) throw new Error(`pmd_free_pte_page: ${kernelPmdTable}[0] links no PTE table`);
  // config.kernel_pt_free_flush 'none': as in 28ee90fe6048 (v4.16), before 5e0fb5df2ee8.
  if (cur.k.config.kernel_pt_free_flush === 'flush') yield* x86_flush_tlb_kernel_range(cur);
  yield* pte_free_kernel(cur, e.table);
}

/**
 * pud_free_pmd_page() on x86 (arch/x86/mm/pgtable.c, as since 5e0fb5df2ee8): save the PMD
 * entries in a scratch page (`pmd_sv = __get_free_page(GFP_KERNEL)`, whose failure returns 0 and
 * keeps the small mapping: not modelled, see docs/model.md §5), pmd_clear() each present one,
 * pud_clear(), flush_tlb_kernel_range() ("INVLPG to clear all paging-structure caches"), then
 * pte_free_kernel() each saved PTE table and pmd_free() the PMD table. The model's PMD table has
 * one entry (slot 0).
 */
export function* x86_pud_free_pmd_page(cur: Ctx): Proc<void> {
  const saved = yield* pxd_clear(cur, 'pud_free_pmd_page', 'pmd_clear', kernelPmdTable, 0);
  const pud = yield* pxd_clear(cur, 'pud_free_pmd_page', 'pud_clear', kernelPudTable, 0);
  if (pud === null || !('table' in pud)) throw new Error(`pud_free_pmd_page: ${kernelPudTable}[0] links no PMD table`);
  if (cur.k.config.kernel_pt_free_flush === 'flush') yield* x86_flush_tlb_kernel_range(cur);
  if (saved !== null && 'table' in saved) yield* pte_free_kernel(cur, saved.table);
  yield* pmd_free_kernel(cur, pud.table);
}
