/**
 * What a simulation measures, in kernel terms, from the model's events and the engine's timing:
 *  - interrupts received per CPU, by kind (CAL: function-call IPIs, TLB: shootdowns), as
 *    /proc/interrupts counts them, and the time each CPU spent in those handlers;
 *  - latency of each workload operation (munmap, exit_mmap, ...) from its begin to its end;
 *  - timer wakeup latency of real-time threads (cyclictest): how late after its expiry the
 *    thread ran;
 *  - grace periods: how many, how long;
 *  - page-table pages unlinked but not yet freed (waiting for a grace period or a sync), over time;
 *  - cross-CPU calls made, by the function they run (a broadcast counts once).
 * Histograms are HDR histograms (3 significant digits).
 */
import * as hdr from 'hdr-histogram-js';
import type { Execution } from '../core/execution.js';
import type { StepRecord } from '../core/trace.js';
import type { SimObserver } from '../engines/sim/engine.js';
import type { CpuIdleData } from './cpuidle.js';

export interface LatencyStats {
  readonly count: number;
  /** The last value recorded (cyclictest's "Act"). */
  readonly last: number;
  readonly min: number;
  readonly avg: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface SimMetricsData {
  readonly cpus: number;
  /** Per CPU: IPIs received by kind. */
  readonly interrupts: ReadonlyArray<{ readonly CAL: number; readonly TLB: number }>;
  /** Per CPU: IPIs sent. */
  readonly ipisSent: readonly number[];
  /** Per CPU: ns spent in interrupt handlers (entry to exit). */
  readonly irqTime: readonly number[];
  /** Per workload operation: latency in ns. */
  readonly operations: { readonly [op: string]: LatencyStats };
  /**
   * Per CPU running timer wakeups: latency in ns, the timer interval, and (issue #14) the
   * latency histogram as cyclictest -h prints it: `[µs, count]` per 1 µs bucket that has counts,
   * in bucket order (bucket k holds latencies in [k, k+1) µs).
   */
  readonly wakeups: { readonly [cpu: string]: LatencyStats & { readonly interval: number; readonly histogram: ReadonlyArray<readonly [number, number]> } };
  readonly gracePeriods: { readonly count: number; readonly duration: LatencyStats | null };
  /** Page-table pages unlinked and not yet freed: peak and time-weighted mean. */
  readonly pendingFree: { readonly peak: number; readonly mean: number; readonly samples: ReadonlyArray<readonly [number, number]> };
  readonly tablesFreed: number;
  /** smp_call_function*() calls by the function they run (`smp_call` events), e.g. tlb_remove_table_smp_sync. */
  readonly smpCalls: { readonly [func: string]: number };
  /**
   * IPIs received per CPU, by the workload operation that sent them (the operation the sending
   * CPU's task was in when it sent the IPI; `-` for none), and the handler time they cost there.
   */
  readonly ipisByOp: { readonly [op: string]: { readonly CAL: readonly number[]; readonly TLB: readonly number[]; readonly irqTime: readonly number[] } };
  // Tree RCU grace periods (issue #12)
  /**
   * Normal grace periods are `gracePeriods` (one per rcu_gp_init(), however many callers share
   * it); expedited ones are counted here. Per normal grace period that ended: the call_rcu()
   * callbacks and synchronize_rcu() callers it served; and each synchronize_rcu() caller's wait
   * from its request to its wakeup.
   */
  readonly rcu: {
    readonly expedited: number;
    readonly callbacksPerGp: LatencyStats | null;
    readonly syncCallersPerGp: LatencyStats | null;
    readonly syncWait: LatencyStats | null;
    /** Total synchronize_rcu() wait in ns, by the workload operation that waited (`-`: none). */
    readonly syncWaitByOp: { readonly [op: string]: number };
  };
  /**
   * cpuidle (issue #12): per CPU, its idle policy ('menu', 'poll' or a pinned state) and the
   * time (ns) and entries per idle state, as cpuN/cpuidle/stateK/{time,usage}. Filled by the
   * timing model after the run.
   */
  readonly cpuidle?: ReadonlyArray<CpuIdleData>;
}

/** A map's entries as an object in key order (code-unit order: the same run gives the same JSON). */
function byKey<V>(m: ReadonlyMap<string, V>): { [key: string]: V } {
  return Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

export function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e13, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/**
 * A histogram's summary. min and max are the exact values recorded; a percentile is the upper
 * bound of its bucket (within 0.1% at 3 significant digits), clamped to [min, max] so that no
 * percentile is printed above the largest value seen (a bucket's upper bound can exceed it).
 */
export function latencyStats(h: hdr.Histogram, last = 0): LatencyStats {
  const min = h.totalCount ? h.minNonZeroValue : 0;
  const max = h.maxValue;
  const at = (p: number): number => Math.min(max, Math.max(min, h.getValueAtPercentile(p)));
  return { count: h.totalCount, last, min, avg: Math.round(h.mean), p50: at(50), p99: at(99), max };
}

export class SimMetrics implements SimObserver {
  private readonly cpus: number;
  private readonly interrupts: Array<{ CAL: number; TLB: number }>;
  private readonly ipisSent: number[];
  private readonly irqTime: number[];
  /** Per thread id: when its interrupt entry started (ids of finished handlers are reused). */
  private readonly irqStart: number[] = [];
  private readonly ops = new Map<string, hdr.Histogram>();
  private readonly opStart = new Map<string, number>();
  private readonly wake = new Map<number, hdr.Histogram>();
  private readonly wakeLast = new Map<number, number>();
  private readonly wakeInterval = new Map<number, number>();
  /** Per CPU: wakeup latency counts per 1 µs bucket (cyclictest -h). */
  private readonly wakeBuckets = new Map<number, Map<number, number>>();
  private readonly gpStart = new Map<string, number>();
  private readonly gp = histogram();
  private gpCount = 0;
  private pending = 0;
  private pendingPeak = 0;
  private pendingArea = 0;
  private lastChange = 0;
  private freed = 0;
  private readonly smpCalls = new Map<string, number>();
  /** Per CPU: the workload operation its task is in (from `workload` events), or undefined. */
  private readonly cpuOp: Array<string | undefined> = [];
  /** Per interrupt thread id: the operation that sent it (set at its spawn; ids are reused). */
  private readonly irqOp: string[] = [];
  private readonly byOp = new Map<string, { CAL: number[]; TLB: number[]; irqTime: number[] }>();
  private readonly samples: Array<[number, number]> = [];
  private readonly sampleEvery: number;
  private nextSample = 0;

  constructor(cpus: number, sampleEvery = 100_000) {
    this.cpus = cpus;
    this.interrupts = Array.from({ length: cpus }, () => ({ CAL: 0, TLB: 0 }));
    this.ipisSent = new Array(cpus).fill(0);
    this.irqTime = new Array(cpus).fill(0);
    this.sampleEvery = sampleEvery;
  }

  onStep(rec: StepRecord, start: number, end: number, late: number, exec: Execution): void {
    const kind = rec.kind;
    if (kind === 'irq-entry') this.irqStart[rec.thread] = start;
    else if (kind === 'irq-exit' && rec.cpu !== null) {
      const d = end - (this.irqStart[rec.thread] ?? start);
      this.irqTime[rec.cpu] = (this.irqTime[rec.cpu] as number) + d;
      const o = this.opEntry(this.irqOp[rec.thread] ?? '-').irqTime;
      o[rec.cpu] = (o[rec.cpu] as number) + d;
    } else if (kind === 'spawn' && rec.spawned !== undefined && rec.cpu !== null && exec.thread(rec.spawned).spec.kind === 'irq') {
      this.ipisSent[rec.cpu] = (this.ipisSent[rec.cpu] as number) + 1;
      // Sent by the CPU's task (not by an agent bound to the CPU): charged to its operation.
      this.irqOp[rec.spawned] = (exec.thread(rec.thread).spec.kind === 'task' ? this.cpuOp[rec.cpu] : undefined) ?? '-';
    }
    const evs = rec.events;
    for (let e = 0; e < evs.length; e++) {
      const ev = evs[e] as (typeof evs)[number];
      switch (ev.type) {
        case 'ipi_received': {
          const c = this.interrupts[ev.cpu as number];
          if (c) c[ev.irq === 'TLB' ? 'TLB' : 'CAL']++;
          const o = this.opEntry(this.irqOp[rec.thread] ?? '-')[ev.irq === 'TLB' ? 'TLB' : 'CAL'];
          o[ev.cpu as number] = (o[ev.cpu as number] ?? 0) + 1;
          break;
        }
        case 'workload': {
          const key = `${ev.cpu}:${ev.op}`;
          this.cpuOp[ev.cpu as number] = ev.phase === 'begin' ? (ev.op as string) : undefined;
          if (ev.phase === 'begin') this.opStart.set(key, start);
          else {
            let h = this.ops.get(ev.op as string);
            if (!h) this.ops.set(ev.op as string, (h = histogram()));
            h.recordValue(Math.max(1, end - (this.opStart.get(key) ?? start)));
          }
          break;
        }
        case 'timer_wakeup': {
          let h = this.wake.get(ev.cpu as number);
          if (!h) this.wake.set(ev.cpu as number, (h = histogram()));
          h.recordValue(Math.max(1, late));
          this.wakeLast.set(ev.cpu as number, late);
          this.wakeInterval.set(ev.cpu as number, ev.interval_ns as number);
          let b = this.wakeBuckets.get(ev.cpu as number);
          if (!b) this.wakeBuckets.set(ev.cpu as number, (b = new Map()));
          const us = Math.floor(Math.max(0, late) / 1000);
          b.set(us, (b.get(us) ?? 0) + 1);
          break;
        }
        case 'gp_start':
          this.gpStart.set(ev.gp as string, start);
          if (ev.expedited === true) this.expedited++;
          else this.gpCount++;
          break;
        case 'gp_end': {
          const s = this.gpStart.get(ev.gp as string);
          if (s !== undefined && ev.expedited !== true) this.gp.recordValue(Math.max(1, end - s));
          this.gpStart.delete(ev.gp as string);
          if (ev.expedited !== true) this.gpServed(ev.seq as number);
          break;
        }
        case 'gp_request':
          this.gpRequest(ev, start);
          break;
        case 'gp_waited':
          this.gpWaited(ev, end);
          break;
        case 'pt_unhook':
          this.changePending(start, +1);
          break;
        case 'pt_free':
          this.freed++;
          this.changePending(start, -1);
          break;
        case 'smp_call':
          this.smpCalls.set(ev.func as string, (this.smpCalls.get(ev.func as string) ?? 0) + 1);
          break;
      }
    }
    while (start >= this.nextSample) {
      this.samples.push([this.nextSample, this.pending]);
      this.nextSample += this.sampleEvery;
    }
  }

  private opEntry(op: string): { CAL: number[]; TLB: number[]; irqTime: number[] } {
    let e = this.byOp.get(op);
    if (!e) {
      const zeros = (): number[] => new Array<number>(this.cpus).fill(0);
      this.byOp.set(op, (e = { CAL: zeros(), TLB: zeros(), irqTime: zeros() }));
    }
    return e;
  }

  // Tree RCU grace periods (issue #12)
  private expedited = 0;
  /** Per gp_seq a grace period's end reaches: callbacks and synchronize_rcu() callers waiting for it. */
  private readonly cbsFor = new Map<number, number>();
  private readonly syncsFor = new Map<number, number>();
  private readonly cbsPerGp: number[] = [];
  private readonly syncsPerGp: number[] = [];
  private readonly syncWait = histogram();
  /** Total synchronize_rcu() wait (ns) by the workload operation that waited. */
  private readonly syncWaitByOp = new Map<string, number>();
  /** Per CPU and caller: when its synchronize_rcu() asked for a grace period. */
  private readonly syncStart = new Map<string, number>();

  private gpRequest(ev: { readonly [k: string]: unknown }, start: number): void {
    const snap = ev.snap as number;
    if (ev.kind === 'cb') this.cbsFor.set(snap, (this.cbsFor.get(snap) ?? 0) + 1);
    else {
      this.syncsFor.set(snap, (this.syncsFor.get(snap) ?? 0) + 1);
      this.syncStart.set(`${ev.cpu as number}:${snap}`, start);
    }
  }

  private gpWaited(ev: { readonly [k: string]: unknown }, end: number): void {
    if (ev.kind !== 'sync') return;
    const key = `${ev.cpu as number}:${ev.snap as number}`;
    const s = this.syncStart.get(key);
    if (s !== undefined) {
      this.syncWait.recordValue(Math.max(1, end - s));
      // Charged to the operation the waiting CPU's task is in (a munmap's fallback, say).
      const op = this.cpuOp[ev.cpu as number] ?? '-';
      this.syncWaitByOp.set(op, (this.syncWaitByOp.get(op) ?? 0) + (end - s));
    }
    this.syncStart.delete(key);
  }

  /** A normal grace period ended with gp_seq `seq`: it served the requests whose snapshot is `seq`. */
  private gpServed(seq: number): void {
    const cbs = this.cbsFor.get(seq) ?? 0;
    const syncs = this.syncsFor.get(seq) ?? 0;
    this.cbsPerGp.push(cbs);
    this.syncsPerGp.push(syncs);
    this.cbsFor.delete(seq);
    this.syncsFor.delete(seq);
  }

  private changePending(at: number, d: number): void {
    this.pendingArea += this.pending * (at - this.lastChange);
    this.lastChange = at;
    this.pending = Math.max(0, this.pending + d);
    this.pendingPeak = Math.max(this.pendingPeak, this.pending);
  }

  data(endTime: number): SimMetricsData {
    const area = this.pendingArea + this.pending * (endTime - this.lastChange);
    const ops: Record<string, LatencyStats> = {};
    for (const [k, h] of [...this.ops].sort()) ops[k] = latencyStats(h);
    const wakeups: Record<string, LatencyStats & { interval: number; histogram: Array<[number, number]> }> = {};
    for (const [c, h] of [...this.wake].sort((a, b) => a[0] - b[0])) {
      const histogram = [...(this.wakeBuckets.get(c) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
      wakeups[String(c)] = { ...latencyStats(h, this.wakeLast.get(c) ?? 0), interval: this.wakeInterval.get(c) ?? 0, histogram };
    }
    return {
      cpus: this.cpus,
      interrupts: this.interrupts,
      ipisSent: this.ipisSent,
      irqTime: this.irqTime,
      operations: ops,
      wakeups,
      gracePeriods: { count: this.gpCount, duration: this.gp.totalCount ? latencyStats(this.gp) : null },
      pendingFree: { peak: this.pendingPeak, mean: endTime > 0 ? area / endTime : 0, samples: this.samples },
      tablesFreed: this.freed,
      smpCalls: Object.fromEntries([...this.smpCalls].sort()),
      ipisByOp: byKey(this.byOp),
      // Tree RCU grace periods (issue #12)
      rcu: {
        expedited: this.expedited,
        callbacksPerGp: countStats(this.cbsPerGp),
        syncCallersPerGp: countStats(this.syncsPerGp),
        syncWait: this.syncWait.totalCount ? latencyStats(this.syncWait) : null,
        syncWaitByOp: byKey(this.syncWaitByOp),
      },
    };
  }
}

// Tree RCU grace periods (issue #12)

/** Summary of small counts (0 included), exact: nearest-rank percentiles; null for none. */
export function countStats(values: readonly number[]): LatencyStats | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => v[Math.max(0, Math.ceil((p / 100) * v.length) - 1)] as number;
  return { count: v.length, last: values[values.length - 1] as number, min: v[0] as number, avg: v.reduce((a, b) => a + b, 0) / v.length, p50: rank(50), p99: rank(99), max: v[v.length - 1] as number };
}
