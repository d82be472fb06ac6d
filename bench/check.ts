/**
 * Checker benchmark: for each catalog scenario, executions, distinct traces, time to verdict and
 * executions/s with DPOR, and the same scenario explored without reduction (capped) for the
 * reduction factor, all in this process. Then the scaling case: 1 updater + N GUP-fast walkers.
 *
 *   npm run bench:check -- [--naive-cap N] [--filter SUBSTRING]
 *
 * It runs the compiled code in dist/ (npm run build first, which bench:check does), as users do.
 */
import { check } from '../dist/engines/check/index.js';
import { findScenarios } from '../dist/api/index.js';
import { openScenario, scenarioFromText } from '../dist/scenarios/resolve.js';
import type { Program } from '../dist/core/index.js';

const args = process.argv.slice(2);
const cap = Number(args[args.indexOf('--naive-cap') + 1] || 0) || 20_000;
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] ?? '' : '';

function measure(program: Program, reduction: 'dpor' | 'none', maxExecutions?: number) {
  // Repeat short runs until 300 ms have passed, for a stable rate.
  let runs = 0;
  const t0 = performance.now();
  let r = check(program, { reduction, maxExecutions });
  runs++;
  while (performance.now() - t0 < 300 && runs < 1000) {
    r = check(program, { reduction, maxExecutions });
    runs++;
  }
  const ms = (performance.now() - t0) / runs;
  return { r, ms, rate: (r.stats.executions / ms) * 1000 };
}

const rows: string[][] = [['scenario', 'executions', 'traces', 'ms to verdict', 'exec/s', 'naive executions', 'reduction']];
let totalExec = 0;
let totalMs = 0;
for (const file of findScenarios('scenarios/check')) {
  if (filter && !file.includes(filter)) continue;
  const s = openScenario(file);
  const d = measure(s.program, 'dpor');
  const n = check(s.program, { reduction: 'none', maxExecutions: cap });
  totalExec += d.r.stats.executions;
  totalMs += d.ms;
  const naive = `${n.stats.executions}${n.exhaustive ? '' : '+'}`;
  const factor = `${n.exhaustive ? '' : '>'}${(n.stats.executions / d.r.stats.executions).toFixed(1)}x`;
  rows.push([file.replace('scenarios/check/', ''), String(d.r.stats.executions), String(d.r.stats.complete), d.ms.toFixed(1), Math.round(d.rate).toString(), naive, factor]);
}

function walkers(n: number): string {
  const cpus = ['  - { mm: A, run: [ { munmap: heap } ] }'];
  for (let i = 0; i < n; i++) cpus.push('  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }');
  return `name: walkers-${n}
machine: { arch: x86, cpus: ${n + 1} }
config: { preset: broadcast-ipi, batch_alloc: fails }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 1 }
      - { name: stack, start: 1, end: 2 }
cpus:
${cpus.join('\n')}
check:
  invariants: [no-walk-of-freed-table]
`;
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '));
console.log(`\ncatalog: ${totalExec} executions in ${totalMs.toFixed(0)} ms, ${Math.round((totalExec / totalMs) * 1000)} exec/s overall`);

console.log('\nscaling: 1 updater (munmap, broadcast IPI, batch fails) + N GUP-fast walkers, x86');
console.log('walkers  executions  traces  seconds  exec/s  steps/exec  heap MB');
for (const n of [1, 2, 3]) {
  global.gc?.();
  const p = scenarioFromText(walkers(n)).program;
  const t0 = performance.now();
  const r = check(p, { reduction: 'dpor' });
  const s = (performance.now() - t0) / 1000;
  const heap = process.memoryUsage().heapUsed / 2 ** 20;
  console.log(`${String(n).padStart(7)}  ${String(r.stats.executions).padStart(10)}  ${String(r.stats.complete).padStart(6)}  ${s.toFixed(2).padStart(7)}  ${String(Math.round(r.stats.executions / s)).padStart(6)}  ${(r.stats.steps / r.stats.executions).toFixed(0).padStart(10)}  ${heap.toFixed(0).padStart(7)}`);
}
