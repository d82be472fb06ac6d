/**
 * An M/M/1 queue on the simulator engine: the engine's reference model, with answers known in
 * closed form (Kleinrock, Queueing Systems vol. 1, §3.2: utilisation ρ = λ/μ, mean time in the
 * system W = 1/(μ − λ), and by Little's law a mean of ρ/(1 − ρ) customers in it). It is not kernel
 * code: a Poisson source of customers and one FIFO server, written in the op protocol like the
 * kernel model. The engine's tests check it against those answers; bench/sim.ts runs it to
 * measure what the engine and the Execution cost per event without the kernel model, next to the
 * published M/M/1 figures of other simulators (docs/performance.md).
 *
 * Customers are counted, not stored: `mm1.arrivals` and `mm1.departures`. The source's step
 * `arrive` adds one and takes no time; its step `think` lasts an exponential inter-arrival time.
 * The server's step `serve` waits until a customer is queued (its guard), counts it out and lasts
 * an exponential service time: the customer leaves when the step ends. FIFO order lets the
 * observer pair the k-th arrival with the k-th departure.
 */
import { accessOp, type AccessOp, type Program, type Proc, type Value } from '../../core/index.js';
import type { SimObserver, TimingModel } from './engine.js';

const ARRIVALS = 'mm1.arrivals';
const DEPARTURES = 'mm1.departures';
const ARRIVAL_LOCS = [ARRIVALS];
const SERVE_READS = [ARRIVALS, DEPARTURES];
const SERVE_WRITES = [DEPARTURES];

const ARRIVE: AccessOp = accessOp({
  fn: 'arrive',
  desc: 'a customer joins the queue',
  reads: ARRIVAL_LOCS,
  writes: ARRIVAL_LOCS,
  effect: ([n]) => ({ writes: [[ARRIVALS, (n as number) + 1]] }),
});
const THINK: AccessOp = accessOp({ fn: 'think', desc: 'until the next arrival', cost: { cls: 'interarrival' } });
const SERVE: AccessOp = accessOp({
  fn: 'serve',
  desc: 'serve the customer at the head of the queue',
  reads: SERVE_READS,
  writes: SERVE_WRITES,
  guard: ([a, d]) => (a as number) > (d as number),
  effect: ([, d]) => ({ writes: [[DEPARTURES, (d as number) + 1]] }),
  cost: { cls: 'service' },
});

function* source(): Proc<void> {
  for (;;) {
    yield ARRIVE;
    yield THINK;
  }
}

function* server(): Proc<void> {
  for (;;) yield SERVE;
}

export interface Mm1Stats {
  /** Customers served. */
  readonly served: number;
  /** Mean time in the system (queueing and service) of the served customers, ns. */
  readonly meanSojourn: number;
  /** Share of the simulated time the server was busy. */
  readonly utilisation: number;
  /** Time-average number of customers in the system. */
  readonly meanInSystem: number;
}

export interface Mm1 {
  readonly program: Program;
  readonly timing: TimingModel;
  /** Pass to simulate(); stats() after the run. */
  readonly observer: SimObserver & { stats(until: number): Mm1Stats };
}

/** The queue with mean inter-arrival time `meanArrival` and mean service time `meanService`, in ns. */
export function mm1(meanArrival: number, meanService: number): Mm1 {
  if (!(meanArrival > 0 && meanService > 0)) throw new RangeError(`M/M/1 needs positive mean times, got ${meanArrival} and ${meanService}`);
  const init = new Map<string, Value>([[ARRIVALS, 0], [DEPARTURES, 0]]);
  const program: Program = {
    name: 'M/M/1',
    machine: { cpus: 1 },
    init,
    threads: [
      { name: 'server', cpu: 0, kind: 'task', body: server },
      { name: 'source', cpu: null, kind: 'agent', body: source },
    ],
    properties: [],
  };
  // Exponential durations by inversion; 1 - u is in (0, 1], so the logarithm is finite.
  const timing: TimingModel = {
    duration: (rec, _exec, rng) => {
      const cls = rec.cost?.cls;
      if (cls === 'interarrival') return -meanArrival * Math.log(1 - rng.nextFloat());
      if (cls === 'service') return -meanService * Math.log(1 - rng.nextFloat());
      return 0;
    },
    startDelay: () => 0,
    minWait: () => 0,
    choose: (_key, options, rng) => rng.nextInt(options.length),
  };
  // Arrival times of the customers in the system, as a ring that grows when full.
  let ring = new Float64Array(1024);
  let head = 0;
  let count = 0;
  let served = 0;
  let sojourn = 0;
  let busy = 0;
  let areaInSystem = 0;
  let lastChange = 0;
  // The customer in service leaves when its step ends, which the observer sees at its start:
  // the departure waits here until the observer's time passes it (one server: at most one).
  let leaveStart = NaN;
  let leaveAt = NaN;
  const change = (at: number, delta: number): void => {
    areaInSystem += count * (at - lastChange);
    lastChange = at;
    count += delta;
  };
  const leaveBy = (t: number): void => {
    if (!(leaveAt <= t)) return;
    sojourn += leaveAt - (ring[head] as number);
    head = (head + 1) % ring.length;
    busy += leaveAt - leaveStart;
    served++;
    change(leaveAt, -1);
    leaveAt = NaN;
  };
  const observer = {
    onStep(rec: { readonly fn: string }, start: number, end: number): void {
      leaveBy(start);
      if (rec.fn === 'arrive') {
        if (count === ring.length) {
          const bigger = new Float64Array(ring.length * 2);
          for (let i = 0; i < count; i++) bigger[i] = ring[(head + i) % ring.length] as number;
          ring = bigger;
          head = 0;
        }
        ring[(head + count) % ring.length] = start;
        change(start, +1);
      } else if (rec.fn === 'serve') {
        leaveStart = start;
        leaveAt = end;
      }
    },
    /** The figures at simulated time `until` (the run's end). */
    stats(until: number): Mm1Stats {
      leaveBy(until);
      const inService = leaveAt === leaveAt ? until - leaveStart : 0;
      const area = areaInSystem + count * (until - lastChange);
      return {
        served,
        meanSojourn: served > 0 ? sojourn / served : 0,
        utilisation: until > 0 ? (busy + inService) / until : 0,
        meanInSystem: until > 0 ? area / until : 0,
      };
    },
  };
  return { program, timing, observer };
}
