/**
 * Machine profiles for the simulator: how long each kind of step takes, with the source of every
 * number (shared/costs.md, "Suggested default cost model"). Status: C confirmed in the cited
 * source, D derived from confirmed numbers, U unconfirmed placeholder to calibrate.
 *
 * Values are in nanoseconds. Every parameter can be overridden from a scenario or the command
 * line (`--set-cost ipi.delivery=900`).
 */

export interface CostParam {
  readonly value: number;
  readonly status: 'C' | 'D' | 'U';
  readonly source: string;
}

export interface MachineProfile {
  readonly id: string;
  readonly title: string;
  /** Architecture the profile is meant for (the scenario's machine.arch must match its family). */
  readonly arches: readonly string[];
  /** CPUs per socket, for cross-socket IPI delivery. */
  readonly cpusPerSocket: number;
  readonly params: { readonly [name: string]: CostParam };
  /**
   * cpuidle (issue #12): the idle states of the profile's cpuidle driver, shallowest first, as
   * the governor sees them; each has parameters `cstate.<name>` (exit latency) and
   * `cstate.<name>.residency` (target residency).
   */
  readonly idleStates: readonly string[];
}

const U = (value: number, source: string): CostParam => ({ value, status: 'U', source });
const C = (value: number, source: string): CostParam => ({ value, status: 'C', source });
const D = (value: number, source: string): CostParam => ({ value, status: 'D', source });

/** Parameters every profile has (generic kernel steps), unless it overrides them. */
const COMMON: { readonly [name: string]: CostParam } = {
  'step.default': U(20, 'a model step with no cost class: a few loads and stores'),
  'pt.read': U(5, 'a page-table entry load (cache hit)'),
  'pt.write': U(10, 'a page-table entry store'),
  'irq.toggle': U(5, 'local_irq_save/restore'),
  'preempt.toggle': U(2, 'preempt_disable/enable'),
  'spin_lock': U(20, 'uncontended spin_lock'),
  'page.alloc': U(200, 'order-0 page allocation from the per-CPU lists'),
  'page.free': U(150, 'order-0 page free to the per-CPU lists'),
  'folio.grab': U(20, 'try_grab_folio_fast: one atomic'),
  'call_rcu': U(100, 'call_rcu: queue a callback'),
  'context_switch': U(2000, 'schedule() out and back in'),
  'idle.enter': U(500, 'entering the idle loop'),
  'hw.walk_step': U(30, 'one level of a hardware page walk'),
  'thp.copy': U(150_000, 'khugepaged __collapse_huge_page_copy(): 512 copy_mc_user_highpage() of 4 KiB, about 2 MiB at ~14 GB/s'),
  'rcu.gp_expedited': C(150_000, 'synchronize_rcu_expedited() avg 151 µs with an RT kthread (Kalesh Singh, costs.md §3)'),
  'cstate.C0': C(0, 'busy CPU: no exit latency'),
  'cstate.C1': C(2_000, 'intel_idle skx_cstates C1 exit latency 2 µs'),
  'cstate.C1E': C(10_000, 'intel_idle skx_cstates C1E exit latency 10 µs'),
  'cstate.C6': C(133_000, 'intel_idle skx_cstates C6 exit latency 133 µs'),
  'vcpu.preempted_wait': U(3_000_000, 'a descheduled vCPU waits about one host timeslice (costs.md C)'),
  'wq.wakeup': U(50_000, 'schedule_work() to execution of a kworker: ≈10–100 µs on an idle server, no measurement found (costs.md §6)'),
  'wq.mayday_timeout': C(10_000_000, 'MAYDAY_INITIAL_TIMEOUT = HZ/100, 10 ms: the rescuer of a WQ_MEM_RECLAIM workqueue runs after worker creation stalled that long (kernel/workqueue.c, costs.md §6)'),
  'iommu.invalidate': U(5_000, 'iommu_sva_invalidate_kva_range(): one IOTLB + paging-structure-cache invalidation with a wait descriptor per SVA mm; no measurement found'),
  // x86 defaults and guests (issue #11)
  'hypercall.flush': U(5_000, "a Hyper-V HVCALL_FLUSH_VIRTUAL_ADDRESS_* or Xen MMUEXT_TLB_FLUSH_MULTI hypercall, from the guest's call to its return: no measurement found (costs.md has none; Xen's 220–348 µs flush_lock hold for a 32-vCPU global flush in the PV shim is hypervisor-internal, not this)"),
  // Tree RCU grace periods (issue #12)
  'hz': C(1000, 'CONFIG_HZ=1000 (x86 server distributions; costs.md §3 uses HZ=1000): the jiffy of RCU\'s FQS timing, and TICK_NSEC (1e9 / HZ) for the idle governor'),
  'rcu.jiffies_till_first_fqs': C(3, 'RCU_JIFFIES_TILL_FORCE_QS = 1 + (HZ > 250) + (HZ > 500), plus nr_cpu_ids / RCU_JIFFIES_FQS_DIV (256): 3 at HZ=1000 below 256 CPUs (kernel/rcu/tree.h, rcu_init_geometry() in tree.c)'),
  'rcu.jiffies_till_next_fqs': C(3, 'same rule as jiffies_till_first_fqs (rcu_init_geometry())'),
  'rcu.gp_kthread_wake': U(5_000, 'rcu_gp_kthread_wake() to the rcu_preempt kthread running: a wakeup and a context switch (~2 µs) plus the scheduler latency of a SCHED_OTHER kthread; no measurement found'),
  // rwsem (issue #12)
  'rwsem.wait_timeout': C(4_000_000, 'RWSEM_WAIT_TIMEOUT = DIV_ROUND_UP(HZ, 250) jiffies, 4 ms at HZ=1000 (also at HZ=250): a queued rwsem waiter may then set RWSEM_FLAG_HANDOFF (kernel/locking/rwsem.c)'),
};

// cpuidle (issue #12): intel_idle's skx_cstates[] (drivers/idle/intel_idle.c, Skylake-SP/Cascade
// Lake servers; the same exit/target in every version read, e.g. v5.16's CPUIDLE_FLAG_IRQ_ENABLE
// patch and v6.x), after the POLL state 0 that cpuidle_poll_state_init() adds.
const X86_IDLE: { readonly [name: string]: CostParam } = {
  'cstate.POLL': C(0, 'drivers/cpuidle/poll_state.c: POLL, exit_latency 0 (CPUIDLE_FLAG_POLLING)'),
  'cstate.POLL.residency': C(0, 'poll_state.c: target_residency 0'),
  'cstate.C1.residency': C(2_000, 'intel_idle skx_cstates C1 target_residency 2 µs'),
  'cstate.C1E.residency': C(20_000, 'intel_idle skx_cstates C1E target_residency 20 µs'),
  'cstate.C6.residency': C(600_000, 'intel_idle skx_cstates C6 target_residency 600 µs'),
};

export const PROFILES: readonly MachineProfile[] = [
  {
    id: 'x86-2s',
    title: '2-socket x86 server (2 × 28c/56t, x2APIC, HZ=1000, no INVLPGB)',
    arches: ['x86', 'x86-invlpgb'],
    cpusPerSocket: 56,
    params: {
      ...COMMON,
      'ipi.send_base': U(300, 'set up the CSD and the first ICR write (costs.md A)'),
      'ipi.send_per_target': U(100, 'x2APIC ICR MSR write per target; bare metal is well below the 1.2–2.5 µs guest values'),
      'ipi.delivery': U(700, 'consistent with 1.24 µs one-way (unknown HW) and 1.3–1.5 µs one-way in a guest'),
      'ipi.delivery_cross_socket': U(400, 'extra for a target on the other socket'),
      'irq.entry': U(400, 'half of irq.entry_exit 0.8 µs (costs.md A)'),
      'irq.exit': U(400, 'half of irq.entry_exit 0.8 µs'),
      'ipi.handler_empty': U(50, 'tlb_remove_table_smp_sync: an empty handler'),
      'tlb.flush_local': D(1_000, 'flush_tlb_func full flush: above 33 pages the kernel caps the cost at about 3 µs; the model flushes the mm'),
      'ipi.ack_per_target': U(50, 'the sender sees the CSD unlocked'),
      'invlpgb.flush': U(1_000, 'INVLPGB + TLBSYNC: no measurement found (costs.md 2b)'),
      'tlbi.broadcast': U(350, 'unused on x86'),
      // cpuidle (issue #12)
      ...X86_IDLE,
    },
    idleStates: ['POLL', 'C1', 'C1E', 'C6'],
  },
  {
    id: 'arm64',
    title: '1-socket arm64 server (80–128 Neoverse cores, GICv3, HZ=250)',
    arches: ['arm64'],
    cpusPerSocket: 1024,
    params: {
      ...COMMON,
      'ipi.send_base': U(300, 'as x86 (costs.md B: "other as in A")'),
      'ipi.send_per_target': U(100, 'GICv3 SGI: one ICC_SGI1R write per 16-CPU affinity group'),
      'ipi.delivery': U(500, 'ipi.delivery + entry/exit 1.0 µs in total (costs.md B), minus entry/exit'),
      'ipi.delivery_cross_socket': U(0, 'single socket'),
      'irq.entry': U(250, 'costs.md B'),
      'irq.exit': U(250, 'costs.md B'),
      'ipi.handler_empty': U(50, 'an empty handler'),
      'tlb.flush_local': U(500, 'local TLBI + DSB'),
      'ipi.ack_per_target': U(50, 'as x86'),
      'tlbi.broadcast': D(350, 'TLBI broadcast + DSB ≈ 0.35 µs (Dev Jain: mprotect 3.2 → 2.85 µs when elided)'),
      'invlpgb.flush': U(1_000, 'unused on arm64'),
      // Tree RCU grace periods (issue #12)
      'hz': C(250, 'CONFIG_HZ=250 (arm64 defconfig): a 4 ms jiffy and TICK_NSEC'),
      'rcu.jiffies_till_first_fqs': C(1, 'RCU_JIFFIES_TILL_FORCE_QS = 1 + (HZ > 250) + (HZ > 500) = 1 jiffy (4 ms) at HZ=250 (kernel/rcu/tree.h)'),
      'rcu.jiffies_till_next_fqs': C(1, 'same rule (rcu_init_geometry())'),
      // cpuidle (issue #12)
      'cstate.WFI': C(1_000, 'cpuidle-psci state 0, ARM_CPUIDLE_WFI_STATE (include/linux/cpuidle.h): exit_latency 1 µs'),
      'cstate.WFI.residency': C(1_000, 'ARM_CPUIDLE_WFI_STATE: target_residency 1 µs'),
      'cstate.cpu-sleep': U(280_000, 'a PSCI core power-down: dt_idle_states.c sets exit_latency = entry-latency-us + exit-latency-us; arch/arm64/boot/dts/qcom/msm8939.dtsi cpu-sleep-0 has 130 + 150 µs. No Neoverse server DT in mainline describes idle states (servers use ACPI _LPI); placeholder'),
      'cstate.cpu-sleep.residency': U(2_000_000, 'msm8939.dtsi cpu-sleep-0 min-residency-us 2000 (target_residency); placeholder for a Neoverse server'),
    },
    idleStates: ['WFI', 'cpu-sleep'],
  },
  {
    id: 'kvm-guest',
    title: 'x86 KVM guest (8–80 vCPUs on a 2-socket host, x2APIC physical, no IPIv)',
    // x86 defaults and guests (issue #11): the guests without KVM's PV flush use this profile
    // too; its IPI figures are KVM-guest measurements, the only guest figures in costs.md.
    arches: ['x86-kvm', 'x86-kvm-nopv', 'x86-hyperv', 'x86-xen-pv'],
    cpusPerSocket: 1024,
    params: {
      ...COMMON,
      'ipi.send_base': U(300, 'as bare metal'),
      'ipi.send_per_target': D(2_500, 'x2APIC physical: one VM exit per ICR write, from the 80-vCPU broadcast (costs.md C)'),
      'ipi.delivery': D(1_300, 'unicast one-way 1.32–1.45 µs (Zeng Guang, costs.md §1a)'),
      'ipi.delivery_cross_socket': U(0, 'not modelled in a guest'),
      'irq.entry': U(600, 'guest IRQ entry incl. posted-interrupt path'),
      'irq.exit': U(600, 'guest IRQ exit'),
      'ipi.handler_empty': U(50, 'an empty handler'),
      'tlb.flush_local': U(1_000, 'as bare metal'),
      'ipi.ack_per_target': U(100, 'the sender sees the CSD unlocked'),
      'invlpgb.flush': U(1_000, 'unused'),
      'tlbi.broadcast': U(350, 'unused'),
      // cpuidle (issue #12)
      'cstate.HLT': U(2_000, "a guest without cpuidle-haltpoll (loaded only with KVM_HINTS_REALTIME or force, drivers/cpuidle/cpuidle-haltpoll.c haltpoll_want()) idles in default_idle(): HLT, a VM exit; the wakeup is the host's kvm_vcpu_kick() of the halted vCPU, caught by host halt-polling (halt_poll_ns) or a host wakeup of the vCPU thread. No measurement in costs.md; 2 µs as bare-metal C1"),
      'cstate.HLT.residency': U(0, 'default_idle() has no cpuidle table: one state, no choice'),
    },
    idleStates: ['HLT'],
  },
];

export function profileById(id: string): MachineProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

/** The default profile for an architecture. */
export function defaultProfile(arch: string): MachineProfile {
  return PROFILES.find((p) => p.arches.includes(arch)) ?? (PROFILES[0] as MachineProfile);
}
