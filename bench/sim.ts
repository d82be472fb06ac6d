/**
 * Simulator benchmark: the broadcast-IPI munmap workload (munmap-under-pressure's shape) on 8,
 * 64, 256 and 1024 CPUs. Prints simulated time, steps, heap events, wall time, steps/s and
 * events/s, and peak heap, all in one process on the compiled code in dist/.
 *
 *   npm run bench:sim -- [--duration 5ms] [--cpus 8,64,256,1024]
 */
import { scenarioFromText } from '../dist/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../dist/simulation/run.js';

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
for (const n of sizes) {
  global.gc?.();
  const s = scenarioFromText(scenario(n), `bench-${n}`, { purpose: 'sim' });
  let peak = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const r = simulateScenario(s, { ...simConfigOf(s), onProgress: () => (peak = Math.max(peak, process.memoryUsage().heapUsed)) });
  const wall = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  const ipis = r.metrics.interrupts.reduce((a, i) => a + i.CAL + i.TLB, 0);
  console.log(`${String(n).padStart(7)} ${String(r.result.steps).padStart(8)} ${String(r.result.events).padStart(8)} ${wall.toFixed(2).padStart(7)} ${String(Math.round(r.result.steps / wall)).padStart(9)} ${String(Math.round(r.result.events / wall)).padStart(9)} ${(peak / 2 ** 20).toFixed(0).padStart(13)} ${String(ipis).padStart(14)}`);
}
