/**
 * The simulator's timing model for the kernel model: maps each step's cost class to a machine
 * profile parameter, adds IPI delivery (cross-socket, C-state exit of an idle target), resolves
 * minimum waits (grace periods, timers, vCPU preemption) and draws the model's choices
 * (GFP_NOWAIT failures, vCPU preemption) from the configured rates.
 */
import type { Execution, ThreadState } from '../core/execution.js';
import type { Cost } from '../core/op.js';
import type { Prng } from '../core/prng.js';
import type { StepRecord } from '../core/trace.js';
import type { TimingModel } from '../engines/sim/engine.js';
import type { MachineProfile } from '../profiles/index.js';
import { cpuLoc } from '../model/state.js';

/** Cost class (as the model's ops name them) -> profile parameter. */
const CLASS_PARAM: { readonly [cls: string]: string } = {
  ipi_send: 'ipi.send_per_target',
  ipi_send_base: 'ipi.send_base',
  ipi_wait: 'ipi.ack_per_target',
  irq_entry: 'irq.entry',
  irq_exit: 'irq.exit',
  ipi_handler_empty: 'ipi.handler_empty',
  tlb_flush_local: 'tlb.flush_local',
  tlbi_broadcast: 'tlbi.broadcast',
  invlpgb_flush: 'invlpgb.flush',
  pt_read: 'pt.read',
  pt_write: 'pt.write',
  irq_toggle: 'irq.toggle',
  preempt_toggle: 'preempt.toggle',
  spin_lock: 'spin_lock',
  page_alloc: 'page.alloc',
  page_free: 'page.free',
  folio_grab: 'folio.grab',
  call_rcu: 'call_rcu',
  context_switch: 'context_switch',
  idle_enter: 'idle.enter',
  hw_walk_step: 'hw.walk_step',
  thp_copy: 'thp.copy',
  vcpu_preempt: 'step.default',
  iommu_invalidate: 'iommu.invalidate',
  hypercall_flush: 'hypercall.flush',
  // Tree RCU grace periods (issue #12)
  rcu_gp_kthread_wake: 'rcu.gp_kthread_wake',
};

const WAIT_PARAM: { readonly [cls: string]: string } = {
  rcu_gp_expedited: 'rcu.gp_expedited',
  vcpu_preempt: 'vcpu.preempted_wait',
  wq_wakeup: 'wq.wakeup',
  wq_mayday: 'wq.mayday_timeout',
  // Tree RCU grace periods (issue #12): see rcuFqsWait().
  rcu_fqs_next: 'rcu.jiffies_till_next_fqs',
  // rwsem (issue #12)
  rwsem_wait_timeout: 'rwsem.wait_timeout',
};

export type CState = 'C0' | 'C1' | 'C1E' | 'C6';

export interface ChanceConfig {
  /** Probability that a GFP_NOWAIT batch allocation fails (memory pressure). */
  readonly allocFailRate: number;
  /** Optional bursts: within the first `length` ns of every `period` ns, the rate is `rate`. */
  readonly allocFailBurst?: { readonly period: number; readonly length: number; readonly rate: number };
  /** Probability that the host preempts a vCPU when it may. */
  readonly vcpuPreemptRate: number;
}

export interface TimingConfig {
  /** Each step's duration is scaled by a uniform factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /**
   * Rare long stalls (an NMI, an SMI, a cache-miss storm, the host taking the CPU): with
   * probability `rate` a step takes `duration` × U(0.5, 1.5) longer.
   */
  readonly stalls: { readonly rate: number; readonly duration: number };
  readonly profile: MachineProfile;
  /** Parameter values after overrides (ns). */
  readonly params: { readonly [name: string]: number };
  /** C-state of each CPU when idle (exit latency paid by an IPI that wakes it). */
  readonly cstates: readonly CState[];
  readonly chance: ChanceConfig;
}

export class ProfileTiming implements TimingModel {
  private readonly cfg: TimingConfig;
  /**
   * Per-step lookups resolved once: cost class -> parameter value, and per CPU its socket, its
   * `cpuN.mode` location and its C-state exit latency (filled on first use, so that a profile
   * missing a parameter still fails only when a step needs it).
   */
  private readonly clsValue = new Map<string, number>();
  private readonly socket: number[] = [];
  private readonly modeLoc: string[] = [];
  private readonly cstateExit: number[] = [];
  private timerWake: readonly [number, number, number] | undefined;

  constructor(cfg: TimingConfig) {
    this.cfg = cfg;
    for (const [cls, name] of Object.entries(CLASS_PARAM)) {
      const v = cfg.params[name];
      if (v !== undefined) this.clsValue.set(cls, v);
    }
  }

  param(name: string): number {
    const v = this.cfg.params[name];
    if (v === undefined) throw new Error(`profile ${this.cfg.profile.id} has no parameter '${name}'`);
    return v;
  }

  duration(rec: StepRecord, _exec: Execution, rng: Prng): number {
    const cost = rec.cost;
    let base: number;
    if (cost === undefined) base = this.param('step.default');
    else {
      const cls = cost.cls;
      if (cls === 'marker') return 0;
      const v = this.clsValue.get(cls);
      base = (v !== undefined ? v : cls && CLASS_PARAM[cls] ? this.param(CLASS_PARAM[cls] as string) : this.param('step.default')) * (cost.n ?? 1);
    }
    const j = this.cfg.jitter;
    let d = j > 0 ? base * (1 - j + 2 * j * rng.nextFloat()) : base;
    const st = this.cfg.stalls;
    if (st.rate > 0 && rng.nextFloat() < st.rate) d += st.duration * (0.5 + rng.nextFloat());
    return d;
  }

  private socketOf(c: number): number {
    let s = this.socket[c];
    if (s === undefined) this.socket[c] = s = Math.floor(c / this.cfg.profile.cpusPerSocket);
    return s;
  }

  /** Whether CPU `c` is idle (in a C-state), and then the latency of leaving it; else 0. */
  private idleExit(c: number, exec: Execution): number {
    let loc = this.modeLoc[c];
    if (loc === undefined) this.modeLoc[c] = loc = cpuLoc.mode(c);
    if (exec.read(loc) !== 'idle') return 0;
    let v = this.cstateExit[c];
    if (v === undefined) this.cstateExit[c] = v = this.param(`cstate.${this.cfg.cstates[c] ?? 'C1'}`);
    return v;
  }

  startDelay(child: ThreadState, spawner: StepRecord, exec: Execution): number {
    if (child.spec.kind !== 'irq' || child.spec.cpu === null) return 0;
    const target = child.spec.cpu;
    let d = this.param('ipi.delivery');
    if (spawner.cpu !== null && this.socketOf(spawner.cpu) !== this.socketOf(target)) d += this.param('ipi.delivery_cross_socket');
    d += this.idleExit(target, exec);
    return d;
  }

  minWait(cost: Cost, rng: Prng): number {
    if (cost.cls === 'timer') return cost.n ?? 0;
    // Tree RCU grace periods (issue #12): the GP kthread's first sleep lasts until the next tick
    // (the grace period starts at a uniform phase within a jiffy), by which every CPU that takes
    // the tick has reported; the rest is in wakeLatency().
    if (cost.cls === 'rcu_fqs_first') return this.jiffy() * (1 - rng.nextFloat());
    if (cost.cls === 'rcu_fqs_next') return this.param('rcu.jiffies_till_next_fqs') * this.jiffy();
    // A callback's CPU notices the end of its grace period at its next tick (uniform phase).
    if (cost.cls === 'rcu_cb_invoke') return this.jiffy() * rng.nextFloat();
    const name = WAIT_PARAM[cost.cls];
    return name ? this.param(name) : 0;
  }

  /** A timer firing on an idle CPU: exit its C-state, take the interrupt, switch to the task. */
  wakeLatency(cost: Cost, thread: ThreadState, exec: Execution): number {
    if (cost.cls === 'rcu_fqs_first') return this.rcuFqsFirstRest(exec) + this.param('rcu.gp_kthread_wake');
    if (cost.cls === 'rcu_fqs_next') return this.param('rcu.gp_kthread_wake');
    if (cost.cls !== 'timer' || thread.spec.cpu === null) return 0;
    const c = thread.spec.cpu;
    const w = (this.timerWake ??= [this.param('irq.entry'), this.param('irq.exit'), this.param('context_switch')]);
    return this.idleExit(c, exec) + w[0] + w[1] + w[2];
  }

  choose(key: string, options: readonly string[], rng: Prng, now: number): number {
    const c = this.cfg.chance;
    if (key === 'gfp_nowait') {
      let rate = c.allocFailRate;
      const b = c.allocFailBurst;
      if (b && now % b.period < b.length) rate = b.rate;
      return rng.nextFloat() < rate ? options.indexOf('failed') : options.indexOf('allocated');
    }
    // create_worker() allocates: under memory pressure it fails at the GFP_NOWAIT failure rate.
    if (key === 'kworker_create') {
      let rate = c.allocFailRate;
      const b = c.allocFailBurst;
      if (b && now % b.period < b.length) rate = b.rate;
      return rng.nextFloat() < rate ? options.indexOf('failed') : options.indexOf('created');
    }
    if (key === 'vcpu_preempt') return rng.nextFloat() < c.vcpuPreemptRate ? options.indexOf('preempted') : options.indexOf('runs');
    // A choice the simulator has no rate for: the first option (the common case by convention).
    return 0;
  }

  // Tree RCU grace periods (issue #12)

  /** One jiffy in ns (1e9 / HZ). */
  private jiffy(): number {
    return 1e9 / this.param('rcu.hz');
  }

  /**
   * The rest of the GP kthread's first sleep after its first tick, decided when the grace period
   * starts: a CPU in dyntick-idle takes no tick, so only the first FQS scan can report it
   * (rcu_gp_fqs() reads its rcu_watching counter), jiffies_till_first_fqs after the start; if
   * every CPU takes the tick (none idle), each reports from rcu_sched_clock_irq() within one tick
   * and the last report wakes the kthread (rcu_report_qs_rsp()).
   */
  private rcuFqsFirstRest(exec: Execution): number {
    const n = this.cfg.cstates.length;
    for (let c = 0; c < n; c++) {
      let loc = this.modeLoc[c];
      if (loc === undefined) this.modeLoc[c] = loc = cpuLoc.mode(c);
      if (exec.read(loc) === 'idle') return Math.max(0, this.param('rcu.jiffies_till_first_fqs') - 1) * this.jiffy();
    }
    return 0;
  }
}
