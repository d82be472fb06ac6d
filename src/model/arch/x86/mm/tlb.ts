/**
 * arch/x86/mm/tlb.c and arch/x86/include/asm/tlb.h: x86 TLB shootdown.
 *
 * flush_tlb_mm_range() picks one of three ways:
 *  - the mm has a global ASID (INVLPGB): broadcast_tlb_flush(), no IPIs at all. An mm gets one
 *    only from consider_global_asid(), after an IPI flush found it active on 4 or more CPUs
 *    (config.x86_global_asid forces either way);
 *  - another CPU is in mm_cpumask(mm): flush_tlb_multi() -- native_flush_tlb_multi() on bare
 *    metal, which IPIs the CPUs in the mask and waits; with info->freed_tables it IPIs lazy CPUs
 *    too, so that they stop speculatively walking the freed tables (they switch to init_mm);
 *    KVM's kvm_flush_tlb_multi() first drops preempted vCPUs (arch/x86/kernel/kvm.ts); Hyper-V's
 *    and Xen PV's flush by hypercall (arch/x86/hyperv/mmu.ts, arch/x86/xen/mmu_pv.ts);
 *  - only this CPU has the mm loaded: flush locally with IRQs off.
 *
 * Read at linux-mm 1f617847 (mm-unstable; the INVLPGB code is mainline since v6.15).
 *
 * tlb_table_flush_implies_ipi_broadcast() (v8 2/2): a static key enabled at boot when the remote
 * flush is native_flush_tlb_multi() and the CPU lacks INVLPGB. Then the flush that precedes a
 * table free has already IPI'd, and waited for, every CPU that could be walking the mm with IRQs
 * off, and the sync IPI after it is redundant.
 */
import { access, type Proc, type Value } from '../../../../core/index.js';
import type { Ctx, Kernel } from '../../../kernel.js';
import { mmSpec } from '../../../kernel.js';
import { local_irq_disable, local_irq_enable } from '../../../include/linux/irqflags.js';
import { on_each_cpu_cond_mask, on_each_cpu_mask, type smp_call_func_t, type smp_cond_func_t } from '../../../kernel/smp.js';
import { preempt_disable, preempt_enable } from '../../../kernel/sched.js';
import type { mmu_gather } from '../../../include/asm-generic/tlb.js';
import { asNumbers, cpuLoc, mmLoc, type TlbEntry } from '../../../state.js';

/** struct flush_tlb_info, reduced. */
export interface flush_tlb_info {
  /** null for a kernel flush. */
  readonly mm: string | null;
  /** v10 renames it wake_lazy_cpus: the flush must also reach lazy CPUs. */
  readonly freed_tables: boolean;
  readonly initiating_cpu: number;
}

/** Remove the cached entries of `mm` from a TLB (a full flush of that ASID: leaf and walk cache). */
export function tlb_without_mm(entries: readonly TlbEntry[], mm: string, leafOnly = false): TlbEntry[] {
  return entries.filter((e) => e.mm !== mm || (leafOnly && e.pfn === null));
}

/**
 * flush_tlb_func(): runs on each target (the local CPU with IRQs off, remote ones in the IPI).
 *  - the CPU no longer has info->mm loaded: clear itself from mm_cpumask and return;
 *  - it runs init_mm: nothing to flush;
 *  - it is lazy: switch_mm_irqs_off(NULL, &init_mm) instead of flushing;
 *  - otherwise flush the mm's entries (INVLPG or a full flush both clear the paging-structure
 *    caches, so walk-cache entries go too).
 */
export function flush_tlb_func(info: flush_tlb_info): smp_call_func_t {
  // An arrow to a module-level generator, not a generator method per call: see ipi_handler() in
  // kernel/smp.ts.
  return { name: 'flush_tlb_func', irq: 'TLB', run: (cur: Ctx) => flush_tlb_func_run(info, cur) };
}

function* flush_tlb_func_run(info: flush_tlb_info, cur: Ctx): Proc<void> {
  const c = cur.cpu;
  const mm = info.mm;
  const reads = [cpuLoc.loaded_mm(c), cpuLoc.is_lazy(c), cpuLoc.tlb(c)];
  const writes = [cpuLoc.loaded_mm(c), cpuLoc.is_lazy(c), cpuLoc.tlb(c)];
  if (mm) {
    reads.push(mmLoc.cpumask(mm));
    writes.push(mmLoc.cpumask(mm));
  }
  yield* access({
    fn: 'flush_tlb_func',
    desc: `flush ${mm ?? 'kernel'} TLB on CPU${c}`,
    cost: { cls: 'tlb_flush_local' },
    reads,
    writes,
    effect: ([loaded, lazy, tlb, mask]) => {
      const entries = tlb as readonly TlbEntry[];
      if (mm && loaded !== mm) {
        return {
          writes: [[mmLoc.cpumask(mm), asNumbers(mask).filter((x) => x !== c)]],
          note: `CPU${c} runs ${String(loaded)}: leaves mm_cpumask(${mm})`,
          events: [{ type: 'tlb_flush', cpu: c, mm, how: 'not-loaded' }],
        };
      }
      if (loaded === 'init_mm') return { note: 'init_mm loaded: nothing to flush' };
      if (lazy === true) {
        // switch_mm_irqs_off(NULL, &init_mm) is a real switch: before 209954cbc7d0 ("Update
        // mm_cpumask lazily") it clears this CPU from prev's mm_cpumask (cpumask_clear_prev() in
        // kernel/sched/switch.ts), so the next flush of the mm does not IPI it again; since, the bit
        // stays until a flush IPI finds the CPU running another mm (the branch above).
        const clears = mm !== null && cur.k.config.x86_switch_mm_cpumask !== 'lazy';
        return {
          writes: [
            [cpuLoc.loaded_mm(c), 'init_mm'],
            [cpuLoc.is_lazy(c), false],
            [cpuLoc.tlb(c), entries.filter((e) => e.mm !== loaded) as unknown as Value],
            ...(clears ? [[mmLoc.cpumask(mm), asNumbers(mask).filter((x) => x !== c)] as const] : []),
          ],
          note: `lazy CPU${c}: switch_mm_irqs_off(NULL, &init_mm)${clears ? `, leaves mm_cpumask(${mm})` : ''}`,
          events: [{ type: 'tlb_flush', cpu: c, mm: String(loaded), how: 'lazy-switch-to-init_mm' }],
        };
      }
      const left = mm ? tlb_without_mm(entries, mm) : [];
      return {
        writes: [[cpuLoc.tlb(c), left as unknown as Value]],
        note: `flushed ${entries.length - left.length} entries`,
        events: [{ type: 'tlb_flush', cpu: c, mm: mm ?? 'kernel', how: 'flush' }],
      };
    },
  });
}

/** should_flush_tlb(): the cond_func of the non-freed_tables flush; lazy CPUs are skipped. */
export function should_flush_tlb(info: flush_tlb_info): smp_cond_func_t {
  return {
    name: 'should_flush_tlb',
    reads: (cpu) => [cpuLoc.is_lazy(cpu), cpuLoc.loaded_mm(cpu)],
    test: (_cpu, [lazy, loaded]) => {
      if (lazy === true) return false;
      if (info.mm === null) return true;
      return loaded === info.mm;
    },
  };
}

/**
 * native_flush_tlb_multi(): with freed_tables (or an ASID transition) every CPU in the mask,
 * lazy ones included, else only those should_flush_tlb() picks; always waits.
 */
export function* native_flush_tlb_multi(cur: Ctx, cpumask: readonly number[], info: flush_tlb_info): Proc<void> {
  const wakeLazy = info.freed_tables && cur.k.config.x86_freed_tables_ipi_lazy;
  if (wakeLazy) {
    yield* on_each_cpu_mask(cur, 'native_flush_tlb_multi', cpumask, flush_tlb_func(info), true);
  } else {
    yield* on_each_cpu_cond_mask(cur, 'native_flush_tlb_multi', should_flush_tlb(info), flush_tlb_func(info), true, cpumask);
  }
}

/**
 * broadcast_tlb_flush() (INVLPGB + TLBSYNC): invalidates the global ASID on every CPU in hardware.
 * No CPU is interrupted, so no IRQ-off walker is waited for.
 */
export function* broadcast_tlb_flush(cur: Ctx, info: flush_tlb_info): Proc<void> {
  const cpus = Array.from({ length: cur.k.nr_cpus }, (_, i) => i);
  const mm = info.mm as string;
  yield* access({
    fn: 'broadcast_tlb_flush',
    desc: `INVLPGB + TLBSYNC for ${mm}'s global ASID`,
    cost: { cls: 'invlpgb_flush' },
    reads: cpus.map(cpuLoc.tlb),
    writes: cpus.map(cpuLoc.tlb),
    effect: (vals) => ({
      writes: cpus.map((c, i) => [cpuLoc.tlb(c), tlb_without_mm(vals[i] as readonly TlbEntry[], mm) as unknown as Value] as const),
      events: [{ type: 'tlb_flush', cpu: cur.cpu, mm, how: 'invlpgb' }],
    }),
  });
}

/**
 * The mm's global ASID when the scenario starts (x86-invlpgb): config.x86_global_asid 'always' or
 * 'never' forces it; under 'kernel' it is the scenario's `global_asid` for the mm (default false:
 * a new mm has a per-CPU ASID until consider_global_asid() gives it one).
 */
export function initial_global_asid(k: Kernel, mm: string): boolean {
  switch (k.config.x86_global_asid) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'kernel':
      return mmSpec(k, mm).global_asid;
  }
}

/** The threshold consider_global_asid() passes to mm_active_cpus_exceeds(): 4 or more CPUs. */
export const GLOBAL_ASID_ACTIVE_CPUS_THRESHOLD = 3;

/**
 * mm_active_cpus_exceeds(mm, threshold): more than `threshold` CPUs of mm_cpumask(mm) have the
 * mm loaded and are not lazy. Pure: the caller reads the per-CPU state.
 */
export function mm_active_cpus_exceeds(mm: string, mask: readonly number[], loaded: readonly Value[], lazy: readonly Value[], threshold: number): boolean {
  if (mask.length <= threshold) return false;
  let count = 0;
  mask.forEach((_c, i) => {
    if (loaded[i] === mm && lazy[i] !== true) count++;
  });
  return count > threshold;
}

/**
 * consider_global_asid(mm) (x86-invlpgb, after an IPI flush): assign the mm a global ASID once it
 * is active on 4 or more CPUs (use_global_asid(); mm_assign_global_asid()). The kernel samples
 * only when (current->pid & 31) == (jiffies & 31); the model always samples (docs/model.md §5.9).
 * config.x86_global_asid 'always'/'never' fixed the answer at boot, so only 'kernel' assigns.
 */
export function* consider_global_asid(cur: Ctx, mm: string): Proc<void> {
  if (cur.k.config.x86_global_asid !== 'kernel') return;
  const cpus = Array.from({ length: cur.k.nr_cpus }, (_, i) => i);
  yield* access({
    fn: 'consider_global_asid',
    desc: `mm_active_cpus_exceeds(${mm}, ${GLOBAL_ASID_ACTIVE_CPUS_THRESHOLD})`,
    reads: [mmLoc.global_asid(mm), mmLoc.cpumask(mm), ...cpus.map(cpuLoc.loaded_mm), ...cpus.map(cpuLoc.is_lazy)],
    writes: [mmLoc.global_asid(mm)],
    effect: ([g, mask, ...rest]) => {
      if (g === true) return { note: 'already has a global ASID' };
      const m = asNumbers(mask);
      const loaded = m.map((c) => rest[c] as Value);
      const lazy = m.map((c) => rest[cur.k.nr_cpus + c] as Value);
      if (!mm_active_cpus_exceeds(mm, m, loaded, lazy, GLOBAL_ASID_ACTIVE_CPUS_THRESHOLD)) {
        return { note: `active on fewer than ${GLOBAL_ASID_ACTIVE_CPUS_THRESHOLD + 1} CPUs: keeps its per-CPU ASID` };
      }
      return {
        writes: [[mmLoc.global_asid(mm), true]],
        note: `use_global_asid(${mm}): active on ${GLOBAL_ASID_ACTIVE_CPUS_THRESHOLD + 1}+ CPUs`,
        events: [{ type: 'global_asid', cpu: cur.cpu, mm }],
      };
    },
  });
}

/** flush_tlb_multi(): the paravirt hook; native, KVM, Hyper-V or Xen PV. */
export type FlushTlbMulti = (cur: Ctx, cpumask: readonly number[], info: flush_tlb_info) => Proc<void>;

/**
 * flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables). The mask is read once here; see
 * docs/model.md for why reading it again inside smp_call_function_many_cond does not matter.
 */
export function* flush_tlb_mm_range(cur: Ctx, mm: string, freed_tables: boolean, flush_tlb_multi: FlushTlbMulti): Proc<void> {
  const info: flush_tlb_info = { mm, freed_tables, initiating_cpu: cur.cpu };
  yield* preempt_disable(cur, 'flush_tlb_mm_range', 'get_cpu()');
  // inc_mm_tlb_gen(): atomic64_inc_return(), a locked instruction: a full barrier on x86 (the
  // kernel relies on it against switch_mm). The model keeps no TLB generation, only the barrier.
  yield* access({ fn: 'flush_tlb_mm_range', desc: 'inc_mm_tlb_gen(): atomic64_inc_return', ordering: 'full' });
  const invlpgb = cur.k.arch.id === 'x86-invlpgb';
  // mm_global_asid(mm): READ_ONCE(mm->context.global_asid), which consider_global_asid() on
  // another CPU may set at any time.
  const global = invlpgb
    ? yield* access<boolean>({
        fn: 'flush_tlb_mm_range',
        desc: `mm_global_asid(${mm})`,
        reads: [mmLoc.global_asid(mm)],
        effect: ([g]) => ({ result: g === true, note: g === true ? 'global ASID: INVLPGB' : 'per-CPU ASID' }),
      })
    : false;
  if (global) {
    yield* broadcast_tlb_flush(cur, info);
  } else {
    const where = yield* access<{ mask: number[]; others: boolean; loadedHere: boolean }>({
      fn: 'flush_tlb_mm_range',
      desc: `cpumask_any_but(mm_cpumask(${mm}), CPU${cur.cpu})`,
      reads: [mmLoc.cpumask(mm), cpuLoc.loaded_mm(cur.cpu)],
      effect: ([mask, loaded]) => {
        const m = [...asNumbers(mask)];
        return { result: { mask: m, others: m.some((x) => x !== cur.cpu), loadedHere: loaded === mm }, note: `mm_cpumask = [${m.join(',')}]` };
      },
    });
    if (where.others) {
      yield* flush_tlb_multi(cur, where.mask, info);
      if (invlpgb) yield* consider_global_asid(cur, mm);
    } else if (where.loadedHere) {
      yield* local_irq_disable(cur, 'flush_tlb_mm_range');
      yield* flush_tlb_func(info).run(cur);
      yield* local_irq_enable(cur, 'flush_tlb_mm_range');
    }
  }
  yield* preempt_enable(cur, 'flush_tlb_mm_range', 'put_cpu()');
}

/**
 * asm/tlb.h tlb_flush(): flush_tlb_mm_range(..., freed_tables || unshared_tables). The
 * `|| unshared_tables` (v8 2/2 of Lance Yang's series) makes a hugetlb unshare flush reach lazy
 * CPUs too; config.x86_tlb_flush_unshared_tables = false is the form before it (freed_tables only).
 */
export function x86_tlb_flush(flush_tlb_multi: FlushTlbMulti) {
  return function* tlb_flush(cur: Ctx, tlb: mmu_gather): Proc<void> {
    const unshared = cur.k.config.x86_tlb_flush_unshared_tables && tlb.unshared_tables;
    yield* flush_tlb_mm_range(cur, tlb.mm, tlb.freed_tables || unshared, flush_tlb_multi);
  };
}

/**
 * tlb_table_flush_implies_ipi_broadcast() on x86 (v8 2/2): true iff pv_ops.mmu.flush_tlb_multi is
 * native_flush_tlb_multi and !X86_FEATURE_INVLPGB: a boot-time static key, so false on an INVLPGB
 * machine even for an mm on fewer than 4 CPUs whose flush took the IPI path. Under 'v4-kvm-claims' KVM's PV flush claims it
 * too (v4 3/3), which Sean Christopherson rejected.
 */
export function x86_tlb_table_flush_implies_ipi_broadcast(k: Kernel): boolean {
  // pv_ops.mmu.flush_tlb_multi == native_flush_tlb_multi: bare metal, and a KVM guest without PV
  // TLB flush (its IPIs are real and waited for, preempted vCPU or not).
  const native = k.arch.id === 'x86' || k.arch.id === 'x86-kvm-nopv';
  switch (k.config.implies_ipi_broadcast) {
    case 'false':
      return false;
    case 'v8':
      return native;
    case 'v4-kvm-claims':
      return native || k.arch.id === 'x86-kvm';
    case 'always':
      return true;
  }
}
