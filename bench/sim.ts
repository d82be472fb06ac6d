/**
 * Simulator benchmark: the broadcast-IPI munmap workload (munmap-under-pressure's shape) on 8,
 * 64, 256 and 1024 CPUs. Prints simulated time, steps, heap events, wall time, steps/s and
 * events/s, and peak heap, all in one process on the compiled code in dist/. Then the engine's
 * baseline in the same process: an M/M/1 queue (src/engines/sim/mm1.ts), whose events carry no
 * kernel code, next to SimPy's published M/M/1 rate, and how much more a kernel-model event costs.
 *
 *   npm run bench:sim -- [--duration 5ms] [--cpus 8,64,256,1024]
 */
import { scenarioFromText } from '../dist/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../dist/simulation/run.js';
import { simulate } from '../dist/engines/sim/engine.js';
import { mm1 } from '../dist/engines/sim/mm1.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const duration = arg('--duration') ?? '5ms';
const sizes = (arg('--cpus') ?? '8,64,256,1024').split(',').map(Number);

function scenario(cpus: number): string {
  const lines = [
    '  - { mm: A, run: [ { munmap: h0 }, { mmap: h0 }, { touch: h0 } ], repeat: forever }',
    '  - { mm: A, run: [ { munmap: h1 }, { mmap: h1 }, { touch: h1 } ], repeat: forever }',
    '  - { mm: A, run: [ { gup_fast: { slot: 4, pages: 2 } }, { cyclictest: { interval: 20us } } ], repeat: forever }',
    '  - { run: [ { cyclictest: { interval: 100us } } ], repeat: forever }',
  ];
  for (let i = lines.length; i < cpus; i++) lines.push('  - { cstate: C6 }');
  return `name: bench-${cpus}
machine: { arch: x86, cpus: ${cpus} }
config: { preset: broadcast-ipi, batch_alloc: may-fail }
mm:
  A:
    ptes_per_table: 2
    vmas:
      - { name: h0, start: 0, end: 2 }
      - { name: h1, start: 2, end: 4 }
      - { name: stack, start: 4, end: 5 }
cpus:
${lines.join('\n')}
sim:
  profile: x86-2s
  duration: ${duration}
  alloc_fail_rate: 0.2
`;
}

console.log(`broadcast-ipi munmap loop, 20% batch-allocation failures, ${duration} simulated`);
console.log('   cpus    steps   events  wall s   steps/s  events/s  peak heap MB  IPIs received');
let lastRate = 0;
for (const n of sizes) {
  global.gc?.();
  const s = scenarioFromText(scenario(n), `bench-${n}`, { purpose: 'sim' });
  let peak = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const r = simulateScenario(s, { ...simConfigOf(s), onProgress: () => (peak = Math.max(peak, process.memoryUsage().heapUsed)) });
  const wall = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  const ipis = r.metrics.interrupts.reduce((a, i) => a + i.CAL + i.TLB, 0);
  lastRate = r.result.events / wall;
  console.log(`${String(n).padStart(7)} ${String(r.result.steps).padStart(8)} ${String(r.result.events).padStart(8)} ${wall.toFixed(2).padStart(7)} ${String(Math.round(r.result.steps / wall)).padStart(9)} ${String(Math.round(r.result.events / wall)).padStart(9)} ${(peak / 2 ** 20).toFixed(0).padStart(13)} ${String(ipis).padStart(14)}`);
}

// The engine's own cost per event: an M/M/1 queue at ρ = 0.8 (mean inter-arrival 1 µs, mean
// service 0.8 µs), one simulated second, about 3.2 million events; after a short warm-up run.
{
  const queue = (until: number) => {
    const q = mm1(1000, 800);
    global.gc?.();
    const t0 = performance.now();
    const r = simulate(q.program, { until, seed: 1, timing: q.timing, observers: [q.observer] });
    const wall = (performance.now() - t0) / 1000;
    return { r, wall, stats: q.observer.stats(r.time), heap: process.memoryUsage().heapUsed };
  };
  queue(1e7);
  const { r, wall, stats, heap } = queue(1e9);
  const rate = r.events / wall;
  console.log('\nengine baseline: M/M/1 queue, rho = 0.8, 1 s simulated (src/engines/sim/mm1.ts: no kernel model)');
  console.log(`${r.events} events (${r.steps} steps, ${stats.served} customers) in ${wall.toFixed(2)} s: ${Math.round(rate)} events/s, heap ${(heap / 2 ** 20).toFixed(0)} MB`);
  console.log(`mean time in system ${stats.meanSojourn.toFixed(0)} ns (exact 4000), utilisation ${stats.utilisation.toFixed(3)} (exact 0.800), mean in system ${stats.meanInSystem.toFixed(2)} (exact 4.00)`);
  console.log('SimPy 4.x, M/M/1: about 240,000 events/s (1,000,000 events in about 4.2 s on an Apple M4; docs/performance.md)');
  if (lastRate > 0) console.log(`an event of the kernel workload above (${sizes[sizes.length - 1]} CPUs) costs ${(rate / lastRate).toFixed(1)}x an M/M/1 event: the rest is the kernel model's step`);
}
