/**
 * arch/x86/kernel/kvm.c (guest) and the host side of KVM's steal-time "preempted" flag.
 *
 * kvm_flush_tlb_multi(): for every vCPU in the mask whose steal_time.preempted has
 * KVM_VCPU_PREEMPTED, atomically add KVM_VCPU_FLUSH_TLB and drop it from the mask: the host will
 * flush that vCPU's TLB before it next runs. The rest get native_flush_tlb_multi(). So a vCPU the
 * host descheduled in the middle of an IRQ-off GUP-fast walk is neither interrupted nor waited
 * for: the reason the PV flush must not claim to imply an IPI broadcast.
 *
 * Function-call IPIs (smp_call_function(), hence tlb_remove_table_sync_one()) are not elided:
 * they are delivered when the vCPU runs again, and the sender waits.
 */
import { access, choose, type Proc, type Value } from '../../../../core/index.js';
import type { Ctx, Kernel } from '../../../kernel.js';
import { cpuLoc, type StealTime, type TlbEntry } from '../../../state.js';
import { native_flush_tlb_multi, type flush_tlb_info } from '../mm/tlb.js';

export function* kvm_flush_tlb_multi(cur: Ctx, cpumask: readonly number[], info: flush_tlb_info): Proc<void> {
  const remote = cpumask.filter((c) => c !== cur.cpu && cur.k.preemptible_vcpus.includes(c));
  const flushmask = yield* access<number[]>({
    fn: 'kvm_flush_tlb_multi',
    desc: 'skip preempted vCPUs (set KVM_VCPU_FLUSH_TLB)',
    reads: remote.map(cpuLoc.steal_time),
    writes: remote.map(cpuLoc.steal_time),
    effect: (vals) => {
      const writes: Array<[string, Value]> = [];
      const skipped: number[] = [];
      remote.forEach((c, i) => {
        const st = vals[i] as StealTime;
        if (st.preempted) {
          writes.push([cpuLoc.steal_time(c), { preempted: true, flush: true }]);
          skipped.push(c);
        }
      });
      return {
        writes,
        result: cpumask.filter((c) => !skipped.includes(c)),
        events: skipped.length ? [{ type: 'pv_flush_skip', cpu: cur.cpu, skipped }] : [],
        note: skipped.length ? `preempted, flush deferred to the host: CPU${skipped.join(', CPU')}` : 'no vCPU preempted',
      };
    },
  });
  yield* native_flush_tlb_multi(cur, flushmask, info);
}

/**
 * The host: may deschedule vCPU `cpu` once (a nondeterministic choice) and later resume it. On
 * resume it flushes the vCPU's TLB if the guest asked for it (record_steal_time() ->
 * kvm_vcpu_flush_tlb_guest()).
 */
export function* kvm_host_vcpu(k: Kernel, cpu: number): Proc<void> {
  const yes = yield* choose({ fn: 'kvm_sched_out', desc: `host may preempt vCPU${cpu}` }, 'vcpu_preempt', ['runs', 'preempted']);
  if (yes === 0) return;
  yield* access({
    fn: 'kvm_sched_out',
    desc: `host deschedules vCPU${cpu} (steal_time.preempted = 1)`,
    cost: { cls: 'vcpu_preempt' },
    reads: [],
    writes: [cpuLoc.stopped(cpu), cpuLoc.steal_time(cpu)],
    effect: () => ({
      writes: [[cpuLoc.stopped(cpu), true], [cpuLoc.steal_time(cpu), { preempted: true, flush: false }]],
      events: [{ type: 'vcpu_preempted', cpu }],
    }),
  });
  // config.kvm_steal_time_flush 'copy_writeback' (before b043138246a4, CVE-2019-3016):
  // kvm_read_guest_cached() copies steal_time first; the resume below then acts on that copy and
  // writes it back, overwriting a KVM_VCPU_FLUSH_TLB the guest set in between.
  const copy = k.config.kvm_steal_time_flush === 'copy_writeback'
    ? yield* access<StealTime>({
        fn: 'record_steal_time',
        desc: `kvm_read_guest_cached(vCPU${cpu} steal_time)`,
        reads: [cpuLoc.steal_time(cpu)],
        effect: ([st]) => ({ result: st as StealTime, note: (st as StealTime).flush ? 'KVM_VCPU_FLUSH_TLB set' : 'no flush requested yet' }),
      })
    : null;
  yield* access({
    fn: 'record_steal_time',
    desc: copy ? `host resumes vCPU${cpu} (xchg on the copy, kvm_write_guest_cached())` : `host resumes vCPU${cpu}`,
    minWait: { cls: 'vcpu_preempt' },
    reads: [cpuLoc.steal_time(cpu)],
    writes: [cpuLoc.stopped(cpu), cpuLoc.steal_time(cpu), cpuLoc.tlb(cpu)],
    effect: ([st]) => {
      const flush = (copy ?? (st as StealTime)).flush;
      const writes: Array<[string, Value]> = [
        [cpuLoc.stopped(cpu), false],
        [cpuLoc.steal_time(cpu), { preempted: false, flush: false }],
      ];
      if (flush) writes.push([cpuLoc.tlb(cpu), [] as TlbEntry[]]);
      return { writes, events: [{ type: 'vcpu_resumed', cpu, flushed: flush }], note: flush ? 'KVM_VCPU_FLUSH_TLB: TLB flushed before entry' : 'no flush requested' };
    },
  });
}
