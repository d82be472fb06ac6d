/**
 * The cpuidle layer of the simulator: which idle state a CPU enters when it goes idle, and
 * therefore which exit latency the wakeup that ends the idle period pays.
 *
 * The governor follows the menu governor, drivers/cpuidle/governors/menu.c as read at commit
 * 010e85f9e47c (menu_select(), menu_update(), get_typical_interval(), which_bucket()):
 *  - the predicted idle time starts from the time till the next timer event (here: the timer
 *    the CPU's task sleeps on, do_nanosleep(); none for a CPU without one), scaled by the
 *    correction factor of its bucket (the running average of measured/next-timer);
 *  - it is lowered to the typical interval of the last 8 idle durations when they are regular
 *    (get_typical_interval(): stddev <= 20 µs or avg > 6 stddev, outliers above dropped);
 *  - the deepest state whose target residency fits the prediction and whose exit latency fits
 *    the interactivity requirement (the prediction: no iowaiters, performance multiplier 1) is
 *    chosen; the polling state only when the next timer is closer than state 1's residency;
 *  - the tick: a CPU that chose a state with a prediction of at least one tick stops its tick;
 *    while it stays in the idle loop (woken only by interrupts) the governor, seeing the tick
 *    stopped, uses the time till the next timer event whenever the prediction is below a tick
 *    (the "tick stopped" branch of menu_select()). The tick restarts when a task runs on the CPU
 *    (tick_nohz_idle_exit()). teo (governors/teo.c, teo_time_ok()) refuses shallow states with
 *    the tick stopped in the same way.
 * Simplified: no PM QoS latency request; no iowait buckets; the periodic tick itself is not
 * an event (a CPU whose tick runs is not woken by it; its next event is capped at one tick);
 * without a timer the next event is NO_TIMER (1 s).
 */

/** An idle state of the driver's table: exit latency and target residency (ns). */
export interface IdleState {
  readonly name: string;
  readonly exit: number;
  readonly residency: number;
  /** The polling state (CPUIDLE_FLAG_POLLING): state 0 of x86's drivers. */
  readonly polling?: boolean;
}

/** menu.c's constants. */
const BUCKETS = 6;
const INTERVALS = 8;
const RESOLUTION = 1024;
const DECAY = 8;
/** MAX_INTERESTING: 50 ms. */
const MAX_INTERESTING = 50_000_000;
/** The time till the next event of a CPU with no timer armed (nohz idle). */
export const NO_TIMER = 1_000_000_000;

/** which_bucket() without iowaiters: the order of magnitude of the next timer in µs. */
export function whichBucket(nextTimerNs: number): number {
  const us = nextTimerNs / 1000;
  if (us < 10) return 0;
  if (us < 100) return 1;
  if (us < 1000) return 2;
  if (us < 10000) return 3;
  if (us < 100000) return 4;
  return 5;
}

/**
 * get_typical_interval(): the average of the recorded idle durations if their spread is small,
 * after dropping outliers above (down to 3/4 of the samples); Infinity if none. Samples not yet
 * recorded are left out (menu starts from zeros; here the history starts empty).
 */
export function typicalInterval(intervals: readonly number[], predicted: number): number {
  if (intervals.length * 4 < INTERVALS * 3) return Infinity;
  let thresh = Infinity;
  for (;;) {
    let min = Infinity;
    let max = 0;
    let sum = 0;
    let n = 0;
    for (const v of intervals) {
      if (v > thresh) continue;
      sum += v;
      n++;
      if (v > max) max = v;
      if (v < min) min = v;
    }
    if (min >= predicted) return Infinity;
    const avg = sum / n;
    let variance = 0;
    for (const v of intervals) if (v <= thresh) variance += (v - avg) * (v - avg);
    variance /= n;
    // In µs² as the kernel computes: stddev <= 20 µs, or avg > 6 stddev with 3/4 of the samples.
    const varUs = variance / 1e6;
    if ((avg * avg > variance * 36 && n * 4 >= INTERVALS * 3) || varUs <= 400) return avg;
    if (n * 4 <= INTERVALS * 3) return Infinity;
    thresh = max - 1;
  }
}

/** One CPU's governor data (struct menu_device) and its tick. */
export class MenuGovernor {
  private readonly states: readonly IdleState[];
  private readonly tick: number;
  private readonly correction: number[] = new Array<number>(BUCKETS).fill(RESOLUTION * DECAY);
  readonly intervals: number[] = [];
  private ptr = 0;
  private bucket = 0;
  private nextTimer = NO_TIMER;
  /** Whether the CPU's tick is stopped (tick_nohz_tick_stopped()). */
  tickStopped = false;

  constructor(states: readonly IdleState[], tick: number) {
    this.states = states;
    this.tick = tick;
  }

  /** menu_select(): the state index for an idle period whose next timer is `nextTimer` ns away. */
  select(nextTimer: number): number {
    const st = this.states;
    this.nextTimer = nextTimer;
    this.bucket = whichBucket(nextTimer);
    const s0 = st[0] as IdleState;
    if (st.length <= 1 || nextTimer < (st[1] as IdleState).residency) {
      // State 0 whatever the rest says; keep the tick only if it polls.
      if (!s0.polling) this.tickStopped = true;
      return 0;
    }
    let predicted = Math.round((nextTimer * (this.correction[this.bucket] as number)) / (RESOLUTION * DECAY));
    predicted = Math.min(predicted, typicalInterval(this.intervals, predicted));
    // delta_next: the next event including the tick when it runs.
    const deltaNext = this.tickStopped ? nextTimer : Math.min(nextTimer, this.tick);
    let latencyReq = Infinity;
    if (this.tickStopped) {
      if (predicted < this.tick) predicted = deltaNext;
    } else latencyReq = predicted; // interactivity_req = predicted / performance_multiplier(0)
    let idx = -1;
    for (let i = 0; i < st.length; i++) {
      const s = st[i] as IdleState;
      if (idx === -1) idx = i;
      if (s.residency > predicted) {
        // A physical state rather than polling, unless a timer is soon.
        if ((st[idx] as IdleState).polling && s.exit <= latencyReq && s.residency <= nextTimer) {
          predicted = s.residency;
          idx = i;
          break;
        }
        if (predicted < this.tick) break;
        if (!this.tickStopped) {
          // Shallow so far: keep the tick and let the governor run again.
          predicted = (st[idx] as IdleState).residency;
          break;
        }
        if ((st[idx] as IdleState).residency < this.tick && s.residency <= deltaNext) idx = i;
        return idx;
      }
      if (s.exit > latencyReq) break;
      idx = i;
    }
    if (idx < 0) idx = 0;
    // Keep the tick for a polling state or a prediction below a tick (and then do not pick a
    // state deeper than the time till the next event including the tick).
    if (((st[idx] as IdleState).polling || predicted < this.tick) && !this.tickStopped) {
      if (idx > 0 && (st[idx] as IdleState).residency > deltaNext) {
        for (let i = idx - 1; i >= 0; i--) {
          idx = i;
          if ((st[i] as IdleState).residency <= deltaNext) break;
        }
      }
    } else this.tickStopped = true;
    return idx;
  }

  /** The state select() would choose, without changing the governor's data. */
  peek(nextTimer: number): number {
    const saved = [this.nextTimer, this.bucket, this.tickStopped] as const;
    const idx = this.select(nextTimer);
    [this.nextTimer, this.bucket, this.tickStopped] = saved;
    return idx;
  }

  /** menu_update(): the idle period ended `measured` ns after entry (the wakeup event). */
  update(measured: number): void {
    const m = Math.min(measured, this.nextTimer);
    const b = this.bucket;
    let f = this.correction[b] as number;
    f -= Math.floor(f / DECAY);
    if (this.nextTimer > 0 && m < MAX_INTERESTING) f += Math.floor((RESOLUTION * m) / this.nextTimer);
    else f += RESOLUTION;
    this.correction[b] = Math.max(1, f);
    if (this.intervals.length < INTERVALS) this.intervals.push(measured);
    else this.intervals[this.ptr] = measured;
    this.ptr = (this.ptr + 1) % INTERVALS;
  }
}

/** Residency of one state on one CPU, as /sys/devices/system/cpu/cpuN/cpuidle/stateK/{time,usage}. */
export interface StateResidency {
  /** ns in the state. */
  time: number;
  /** Entries. */
  usage: number;
}

export interface CpuIdleData {
  /** 'menu' (governor), 'poll' (idle=poll) or the pinned state's name. */
  readonly policy: string;
  readonly states: { readonly [name: string]: StateResidency };
}
