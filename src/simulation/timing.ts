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
import type { SimObserver, TimingModel } from '../engines/sim/engine.js';
import type { MachineProfile } from '../profiles/index.js';
import { cpuLoc } from '../model/state.js';
import { MenuGovernor, NO_TIMER, type CpuIdleData, type IdleState, type StateResidency } from './cpuidle.js';

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

/**
 * A CPU's idle policy: a pinned state (its `cstate.<name>` exit latency on every wakeup), 'auto'
 * (the governor chooses from the profile's idle-state table) or 'poll' (idle=poll: no exit).
 */
export type CState = 'C0' | 'C1' | 'C1E' | 'C6' | 'auto' | 'poll';

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
  /** Idle policy of each CPU: a pinned C-state, 'auto' (the governor) or 'poll'. */
  readonly cstates: readonly CState[];
  /** Per CPU: nohz_full (`isolated: true`): in user mode it takes no tick (RCU's FQS scan reports it). */
  readonly isolated?: readonly boolean[];
  readonly chance: ChanceConfig;
}

/** Per CPU: where it is in the idle loop. */
interface IdleCpu {
  /** In an idle state since `entry` (ns), or awake (a task runs, or an interrupt handler). */
  idle: boolean;
  entry: number;
  /** The state chosen for the current idle period (-1: not chosen yet). */
  chosen: number;
  /** Interrupt handlers delivered to the CPU and not finished. */
  irqs: number;
  /** Absolute expiry of the timer its task sleeps on, or NaN. */
  timerAt: number;
  readonly gov: MenuGovernor | null;
  readonly res: { [name: string]: StateResidency };
}

export class ProfileTiming implements TimingModel, SimObserver {
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
  /** The idle states the governor chooses from (the profile's driver table). */
  private idleTable: IdleState[] | undefined;
  private cpuIdle: IdleCpu[] | undefined;
  /** End of the last step seen: the engine's "now" in startDelay() and wakeLatency(). */
  private now = 0;

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

  /** CPU `c`'s `cpuN.mode` location (looked up once). */
  private modeLocOf(c: number): string {
    let loc = this.modeLoc[c];
    if (loc === undefined) this.modeLoc[c] = loc = cpuLoc.mode(c);
    return loc;
  }

  /** CPU `c`'s idle policy: a pinned state, 'auto' (the governor, the default) or 'poll'. */
  private policyOf(c: number): CState {
    return this.cfg.cstates[c] ?? 'auto';
  }

  /** Whether CPU `c` is in an idle state now, and then the latency of leaving it; else 0. */
  private idleExit(c: number, exec: Execution): number {
    const loc = this.modeLocOf(c);
    if (exec.read(loc) !== 'idle') return 0;
    const cpu = this.idleCpu(c, exec);
    if (!cpu.idle) return 0;
    return this.exitOf(c, cpu);
  }

  /** The exit latency of the state CPU `c` is in (choosing it now if the governor has not yet). */
  private exitOf(c: number, cpu: IdleCpu): number {
    const policy = this.policyOf(c);
    if (policy === 'poll') return 0;
    if (cpu.gov === null) {
      let v = this.cstateExit[c];
      if (v === undefined) this.cstateExit[c] = v = this.param(`cstate.${policy}`);
      return v;
    }
    return (this.table()[this.chosenState(cpu)] as IdleState).exit;
  }

  /** The profile's idle-state table: names from profile.idleStates, values from the parameters. */
  table(): IdleState[] {
    return (this.idleTable ??= this.cfg.profile.idleStates.map((name) => ({
      name,
      exit: this.param(`cstate.${name}`),
      residency: this.param(`cstate.${name}.residency`),
      ...(name === 'POLL' ? { polling: true } : {}),
    })));
  }

  private chosenState(cpu: IdleCpu): number {
    if (cpu.chosen < 0) {
      const gov = cpu.gov as MenuGovernor;
      const next = cpu.timerAt === cpu.timerAt ? Math.max(0, cpu.timerAt - cpu.entry) : NO_TIMER;
      cpu.chosen = gov.select(next);
    }
    return cpu.chosen;
  }

  private stateName(c: number, cpu: IdleCpu): string {
    const policy = this.policyOf(c);
    if (policy === 'poll') return 'POLL';
    if (cpu.gov === null) return policy;
    return (this.table()[this.chosenState(cpu)] as IdleState).name;
  }

  private idleCpus(exec: Execution): IdleCpu[] {
    if (this.cpuIdle) return this.cpuIdle;
    const n = exec.program.machine.cpus;
    const tick = this.jiffy();
    this.cpuIdle = Array.from({ length: n }, (_, c) => {
      const auto = this.policyOf(c) === 'auto';
      const idle = exec.read(cpuLoc.mode(c)) === 'idle';
      return { idle, entry: 0, chosen: -1, irqs: 0, timerAt: NaN, gov: auto ? new MenuGovernor(this.table(), tick) : null, res: {} };
    });
    return this.cpuIdle;
  }

  private idleCpu(c: number, exec: Execution): IdleCpu {
    return this.idleCpus(exec)[c] as IdleCpu;
  }

  /** CPU `c` enters the idle loop's idle state at `at`. */
  private enterIdle(cpu: IdleCpu, at: number): void {
    cpu.idle = true;
    cpu.entry = at;
    cpu.chosen = -1;
  }

  /** CPU `c`'s idle period ends at `at` (its wakeup event): residency and the governor's history. */
  private leaveIdle(c: number, cpu: IdleCpu, at: number): void {
    if (!cpu.idle) return;
    const name = this.stateName(c, cpu);
    const r = (cpu.res[name] ??= { time: 0, usage: 0 });
    const d = Math.max(0, at - cpu.entry);
    r.time += d;
    r.usage++;
    cpu.gov?.update(d);
    cpu.idle = false;
  }

  /** Sees every step (run.ts adds the timing model as an observer): idle entries and exits. */
  onStep(rec: StepRecord, _start: number, end: number, _late: number, exec: Execution): void {
    this.now = end;
    const c = rec.cpu;
    if (c === null) return;
    const cpus = this.idleCpus(exec);
    const cpu = cpus[c];
    if (cpu === undefined) return;
    if (rec.kind === 'irq-exit') {
      if (cpu.irqs > 0) cpu.irqs--;
      // Back to the idle loop: the governor runs again (the tick stays as it was).
      if (cpu.irqs === 0 && !cpu.idle && exec.read(cpuLoc.mode(c)) === 'idle') this.enterIdle(cpu, end);
      return;
    }
    const w = rec.writes;
    const loc = this.modeLocOf(c);
    for (let i = 0; i < w.length; i++) {
      const [l, v] = w[i] as readonly [string, unknown];
      if (l !== loc) continue;
      if (v === 'idle') {
        // A task schedules out (do_nanosleep, do_idle): tick_nohz_idle_enter() with the tick running.
        if (cpu.gov) cpu.gov.tickStopped = false;
        cpu.timerAt = NaN;
        if (cpu.irqs === 0) this.enterIdle(cpu, end);
      } else if (cpu.idle || cpu.timerAt === cpu.timerAt) {
        // The task runs again: its timer fired (the idle period ended at the expiry), or it was woken.
        const at = cpu.timerAt === cpu.timerAt ? Math.min(cpu.timerAt, end) : end;
        this.leaveIdle(c, cpu, at);
        cpu.timerAt = NaN;
        if (cpu.gov) cpu.gov.tickStopped = false;
      }
    }
  }

  /** Per CPU: its idle policy and the time and entries per idle state, closing open periods at `end`. */
  residency(end: number): CpuIdleData[] {
    const cpus = this.cpuIdle ?? [];
    return cpus.map((cpu, c) => {
      const states: { [name: string]: StateResidency } = {};
      for (const [k, v] of Object.entries(cpu.res)) states[k] = { ...v };
      if (cpu.idle && end > cpu.entry) {
        const name = this.stateName(c, cpu);
        const r = (states[name] ??= { time: 0, usage: 0 });
        r.time += end - cpu.entry;
        r.usage++;
      }
      const policy = this.policyOf(c);
      return { policy: policy === 'auto' ? 'menu' : policy, states };
    });
  }

  startDelay(child: ThreadState, spawner: StepRecord, exec: Execution): number {
    if (child.spec.kind !== 'irq' || child.spec.cpu === null) return 0;
    const target = child.spec.cpu;
    let d = this.param('ipi.delivery');
    if (spawner.cpu !== null && this.socketOf(spawner.cpu) !== this.socketOf(target)) d += this.param('ipi.delivery_cross_socket');
    const exit = this.idleExit(target, exec);
    d += exit;
    // The IPI ends the target's idle period when it arrives; the CPU is awake until its handler exits.
    const cpu = this.idleCpu(target, exec);
    this.leaveIdle(target, cpu, this.now + d - exit);
    cpu.irqs++;
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
    // The task just slept (schedule() at `now`): the timer is known to the governor.
    const cpu = this.idleCpu(c, exec);
    const loc = this.modeLocOf(c);
    if (exec.read(loc) !== 'idle') return w[0] + w[1] + w[2];
    cpu.timerAt = this.now + (cost.n ?? 0);
    let exit: number;
    if (cpu.idle) exit = this.exitOf(c, cpu);
    else {
      // An interrupt is on its way to the CPU: it re-enters idle after the handler, before the
      // timer; the state is the one the governor picks for the timer (pinned: that state).
      const policy = this.policyOf(c);
      exit = policy === 'poll' ? 0 : cpu.gov ? (this.table()[cpu.gov.peek(cost.n ?? 0)] as IdleState).exit : this.exitOf(c, cpu);
    }
    return exit + w[0] + w[1] + w[2];
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

  /** One jiffy in ns (1e9 / HZ): also TICK_NSEC, the idle governor's tick. */
  private jiffy(): number {
    return 1e9 / this.param('hz');
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
      const loc = this.modeLocOf(c);
      // Tickless: dyntick-idle, or a nohz_full CPU in user mode (rcu_user_enter(): an extended
      // quiescent state the FQS scan reads from its rcu_watching counter).
      const mode = exec.read(loc);
      if (mode === 'idle' || (mode === 'user' && this.cfg.isolated?.[c] === true)) return Math.max(0, this.param('rcu.jiffies_till_first_fqs') - 1) * this.jiffy();
    }
    return 0;
  }
}
