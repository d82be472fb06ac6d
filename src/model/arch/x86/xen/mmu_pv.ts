/**
 * arch/x86/xen/mmu_pv.c xen_flush_tlb_multi() (as renamed from xen_flush_tlb_others() by Nadav
 * Amit's "x86/mm/tlb: Flush remote and local TLBs concurrently", v5.10; the hunks read in the
 * mailing-list copies of that patch and of Lance Yang's sent_ipi RFC, which leave its body as is).
 *
 * A Xen PV guest flushes remote TLBs with one multicall: MMUEXT_TLB_FLUSH_MULTI (or
 * MMUEXT_INVLPG_MULTI for a single page) on the cpumask restricted to online CPUs. Unlike
 * native_flush_tlb_multi() and hyperv_flush_tlb_multi() it skips no lazy CPU, freed_tables or
 * not. Xen flushes the vCPUs itself: no guest IPI, no guest CPU runs flush_tlb_func() (a lazy CPU
 * is not switched to init_mm), and an IRQ-off walker (event channels masked) is not waited for.
 * Xen PV therefore depended on RCU table free exactly as Hyper-V did (the arch/x86/include/asm/tlb.h
 * comment of 2017-2025: "enablement code for several hypervisors overrides .flush_tlb_others hook
 * in pv_mmu_ops and implements it by issuing a hypercall").
 */
import type { Proc } from '../../../../core/index.js';
import type { Ctx } from '../../../kernel.js';
import { hypervisor_flush_vcpus } from '../hyperv/mmu.js';
import type { flush_tlb_info } from '../mm/tlb.js';

/** xen_flush_tlb_multi(cpus, info): every CPU of the mask (all are online in the model). */
export function* xen_flush_tlb_multi(cur: Ctx, cpumask: readonly number[], info: flush_tlb_info): Proc<void> {
  if (cpumask.length === 0) return; // "nothing to do"
  yield* hypervisor_flush_vcpus(cur, 'xen_flush_tlb_multi', 'MMUEXT_TLB_FLUSH_MULTI', cpumask, info);
}
