/**
 * arch/x86/hyperv/mmu.c (read at linux-mm cbc3ff28; the hypercall flush is 2ffd9e33ce4a
 * "x86/hyper-v: Use hypercall for remote TLB flush", Vitaly Kuznetsov, Aug 2017).
 *
 * hyperv_setup_mmu_ops() installs hyperv_flush_tlb_multi() when the host sets
 * HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED. It builds the set of target VPs from the cpumask, skipping
 * lazy CPUs unless info->freed_tables (do_lazy = !freed_tables; the _EX variant passes
 * cpu_is_lazy to cpumask_to_vpset_skip() the same way), and issues
 * HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE / _LIST (or _EX). The hypervisor flushes those VPs' TLBs,
 * running or descheduled, whatever their guest IRQ state: no guest IPI is sent and no guest CPU
 * runs flush_tlb_func(), so a lazy CPU is flushed but not switched to init_mm, and an IRQ-off
 * GUP-fast walk on another vCPU is not waited for. That is why x86 paravirt used RCU table free
 * (pv_ops.mmu.tlb_remove_table = tlb_remove_table) from 2017 until a37259732a7d made it
 * unconditional (Feb 2025), and why v8 never lets this flush imply an IPI broadcast.
 *
 * The hypercall can fail (no hypercall page, an invalid VP number): hyperv_flush_tlb_multi() then
 * falls back to native_flush_tlb_multi(). The model takes the hypercall (docs/model.md §5.9).
 */
import { access, type Proc, type Value } from '../../../../core/index.js';
import type { Ctx } from '../../../kernel.js';
import { cpuLoc, type TlbEntry } from '../../../state.js';
import { tlb_without_mm, type flush_tlb_info } from '../mm/tlb.js';

/**
 * The hypervisor's side of a guest TLB-flush hypercall: every VP in `cpus` loses the mm's
 * entries (all entries for a flush of every address space) when the hypercall returns. Shared by
 * Hyper-V and Xen PV; the callers choose the VPs.
 */
export function* hypervisor_flush_vcpus(cur: Ctx, fn: string, desc: string, cpus: readonly number[], info: flush_tlb_info): Proc<void> {
  const mm = info.mm;
  yield* access({
    fn,
    desc,
    cost: { cls: 'hypercall_flush' },
    reads: cpus.map(cpuLoc.tlb),
    writes: cpus.map(cpuLoc.tlb),
    effect: (vals) => ({
      writes: cpus.map((c, i) => [cpuLoc.tlb(c), (mm ? tlb_without_mm(vals[i] as readonly TlbEntry[], mm) : []) as unknown as Value] as const),
      note: `hypervisor flushes vCPU${cpus.join(', vCPU')}: no guest IPI`,
      events: [{ type: 'tlb_flush', cpu: cur.cpu, mm: mm ?? 'kernel', how: 'hypercall', cpus: [...cpus] }],
    }),
  });
}

/** hyperv_flush_tlb_multi(cpus, info): lazy CPUs only when freed_tables, then one hypercall. */
export function* hyperv_flush_tlb_multi(cur: Ctx, cpumask: readonly number[], info: flush_tlb_info): Proc<void> {
  const doLazy = !info.freed_tables;
  // for_each_cpu(cpu, cpus) { if (do_lazy && cpu_is_lazy(cpu)) continue; ... }
  const vps = yield* access<number[]>({
    fn: 'hyperv_flush_tlb_multi',
    desc: doLazy ? 'processor_mask: skip lazy CPUs' : 'processor_mask: every CPU (freed_tables)',
    reads: doLazy ? cpumask.map(cpuLoc.is_lazy) : [],
    effect: (lazy) => {
      const set = doLazy ? cpumask.filter((_c, i) => lazy[i] !== true) : [...cpumask];
      return { result: set, note: `VPs [${set.join(',')}]` };
    },
  });
  // "nothing to flush if 'processor_mask' ends up being empty"
  if (vps.length === 0) return;
  yield* hypervisor_flush_vcpus(cur, 'hyperv_flush_tlb_multi', 'HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE/LIST', vps, info);
}
