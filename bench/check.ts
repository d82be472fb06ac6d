/**
 * Checker benchmark: for each catalog scenario, executions, distinct traces, time to verdict and
 * executions/s with optimal DPOR (the default), the same with source-set DPOR, and the scenario
 * explored without reduction (capped) for the reduction factor, all in this process. Then the
 * model's raw step rate (one execution after another, no exploration) against the steps the
 * checker executes per second, and the scaling case: 1 updater + N GUP-fast walkers.
 *
 *   npm run bench:check -- [--naive-cap N] [--filter SUBSTRING]
 *
 * It runs the compiled code in dist/ (npm run build first, which bench:check does), as users do.
 */
import { check, type Reduction } from '../dist/engines/check/index.js';
import { Execution, machineLocs } from '../dist/core/index.js';
import { findScenarios } from '../dist/api/index.js';
import { openScenario, scenarioFromText } from '../dist/scenarios/resolve.js';
import type { Program } from '../dist/core/index.js';
import { walkersYaml } from './walkers.js';

const args = process.argv.slice(2);
const cap = Number(args[args.indexOf('--naive-cap') + 1] || 0) || 20_000;
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] ?? '' : '';

function measure(program: Program, reduction: Reduction, maxExecutions?: number) {
  // Warm up for 50 ms, then repeat short runs until 300 ms have passed, for a stable rate.
  const w0 = performance.now();
  while (performance.now() - w0 < 50) check(program, { reduction, maxExecutions });
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

const rows: string[][] = [['scenario', 'executions', 'traces', 'ms to verdict', 'exec/s', 'source-DPOR executions', 'ms', 'speed-up', 'naive executions', 'reduction']];
const total = { exec: 0, traces: 0, ms: 0, steps: 0, replayed: 0, rerun: 0, sourceExec: 0, sourceMs: 0 };
/** Executions/s of the small scenarios (at most 100 executions), the yardstick. */
const smallRates: number[] = [];
/** ... and the new steps per execution of each (what the model's own rate allows them). */
const smallStepsPerExec: number[] = [];
const files = findScenarios('scenarios/check').filter((f) => !filter || f.includes(filter));
const programs: Program[] = files.map((f) => openScenario(f).program);
// Warm the JIT up on every scenario first, so that the first rows are not the slowest.
for (const p of programs) for (const reduction of ['dpor', 'source-dpor'] as const) check(p, { reduction });
for (const [k, file] of files.entries()) {
  const program = programs[k]!;
  const d = measure(program, 'dpor');
  const src = measure(program, 'source-dpor');
  const n = check(program, { reduction: 'none', maxExecutions: cap });
  total.exec += d.r.stats.executions;
  total.traces += d.r.stats.complete;
  total.steps += d.r.stats.steps;
  total.replayed += d.r.stats.replayed;
  total.rerun += d.r.stats.rerun;
  total.ms += d.ms;
  total.sourceExec += src.r.stats.executions;
  total.sourceMs += src.ms;
  if (d.r.stats.executions <= 100) {
    smallRates.push(d.rate);
    smallStepsPerExec.push(d.r.stats.steps / d.r.stats.executions);
  }
  const naive = `${n.stats.executions}${n.exhaustive ? '' : '+'}`;
  const factor = `${n.exhaustive ? '' : '>'}${(n.stats.executions / d.r.stats.executions).toFixed(1)}x`;
  rows.push([
    file.replace('scenarios/check/', ''),
    String(d.r.stats.executions),
    String(d.r.stats.complete),
    d.ms.toFixed(1),
    Math.round(d.rate).toString(),
    String(src.r.stats.executions),
    src.ms.toFixed(1),
    `${(src.ms / d.ms).toFixed(2)}x`,
    naive,
    factor,
  ]);
}

function walkers(n: number): string {
  return walkersYaml(n, ['no-walk-of-freed-table']);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '));
const perS = (n: number, ms: number): number => Math.round((n / ms) * 1000);
console.log(`\ncatalog, optimal DPOR: ${total.exec} executions (${total.traces} traces) in ${total.ms.toFixed(0)} ms: ${perS(total.exec, total.ms)} executions/s, ${perS(total.traces, total.ms)} traces/s, ${perS(total.steps, total.ms)} steps/s`);
console.log(`steps: ${total.steps - total.replayed} run through the model, ${total.replayed} replayed from their record after a rollback; ${total.rerun} generator steps re-run to rebuild threads whose step differed`);
if (smallRates.length > 0) {
  smallRates.sort((a, b) => a - b);
  const median = smallRates[Math.floor(smallRates.length / 2)]!;
  console.log(`small scenarios (at most 100 executions, ${smallRates.length} of them): median ${Math.round(median)} executions/s, range ${Math.round(smallRates[0]!)}-${Math.round(smallRates[smallRates.length - 1]!)}`);
}
console.log(`catalog, source-set DPOR: ${total.sourceExec} executions in ${total.sourceMs.toFixed(0)} ms: ${perS(total.sourceExec, total.sourceMs)} executions/s, ${perS(total.traces, total.sourceMs)} traces/s; optimal is ${(total.sourceMs / total.ms).toFixed(2)}x faster to the verdicts`);

/** Run a program start to finish, always stepping the lowest enabled thread (option 0 of every choice). */
function runToEnd(p: Program): Execution {
  const e = new Execution(p);
  for (;;) {
    const en = e.enabled();
    if (en.length === 0) return e;
    const t = en[0]!;
    e.step(t, e.pending(t).kind === 'choose' ? 0 : undefined);
  }
}

// The model's own speed: every catalog program run start to finish with no exploration around it.
{
  let steps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) for (const p of programs) steps += runToEnd(p).stepCount;
  const raw = perS(steps, performance.now() - t0);
  const checked = perS(total.steps, total.ms);
  const stepsPerExec = total.steps / total.exec;
  console.log(`model alone: ${raw} steps/s; the checker takes ${checked} new steps/s (${((checked / raw) * 100).toFixed(0)}% of that rate: a step a rollback undid and the thread retakes on the same values is replayed without the model; re-running generators after a divergence and the DPOR bookkeeping cost extra)`);
  console.log(`an execution adds ${stepsPerExec.toFixed(1)} new steps on average: at the model's own rate, ${Math.round(raw / stepsPerExec)} executions/s`);
  if (smallStepsPerExec.length > 0) {
    const ceilings = smallStepsPerExec.map((n) => raw / n).sort((a, b) => a - b);
    const spe = [...smallStepsPerExec].sort((a, b) => a - b);
    console.log(`small scenarios: ${spe[Math.floor(spe.length / 2)]!.toFixed(1)} new steps per execution (median; their first execution counts in full), at the model's own rate a median of ${Math.round(ceilings[Math.floor(ceilings.length / 2)]!)} executions/s`);
  }

  // How much coarser steps could give without merging shared accesses: the steps of those runs
  // whose footprint touches only locations no other thread touches in the same execution (a
  // CPU's context slot and stopped flag aside: every step of a task reads them). A checker that
  // knew them in advance could fuse them into the next step at no cost at all.
  let all = 0;
  let privateSteps = 0;
  for (const p of programs) {
    const e = runToEnd(p);
    const machine = new Set<string>();
    for (let c = 0; c < p.machine.cpus; c++) machine.add(machineLocs.ctx(c)).add(machineLocs.stopped(c));
    const locs = (r: (typeof e.trace)[number]): string[] => [...r.reads, ...r.writes.map(([l]) => l)].filter((l) => !machine.has(l));
    const threadsOf = new Map<string, Set<number>>();
    for (const r of e.trace) for (const l of locs(r)) (threadsOf.get(l) ?? threadsOf.set(l, new Set()).get(l)!).add(r.thread);
    for (const r of e.trace) {
      all++;
      if (r.kind === 'access' && locs(r).every((l) => threadsOf.get(l)!.size === 1)) privateSteps++;
    }
  }
  const share = privateSteps / all;
  console.log(`steps touching only locations no other thread touches in their execution: ${(share * 100).toFixed(1)}% (${privateSteps} of ${all}); without them, at the model's own rate, ${Math.round(raw / (stepsPerExec * (1 - share)))} executions/s`);
}

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
