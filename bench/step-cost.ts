/**
 * What a checker step costs: µs per step and per execution of optimal DPOR over the catalog
 * (scenarios/check, every scenario explored to the end as `check --catalog --shortest` does) and
 * over the scaling scenarios (one CPU munmapping a heap VMA under the broadcast-IPI preset, x86,
 * batch allocation failing, N CPUs running GUP-fast on it: 18^N executions). Each figure is the
 * median of several runs. The baseline in the same process is the model alone: the catalog's
 * programs run start to finish with no exploration (µs per step of Execution.step()). Times are
 * CPU time (see Sample).
 *
 *   npm run bench:steps -- [--runs N] [--walkers 3,4] [--walker-runs N] [--against DIST]
 *
 * --against DIST alternates every measurement with the same one on another build's dist/
 * directory (e.g. a clone of main built with `npm run build`), run for run in this process, and
 * prints the ratio: the machine's load moves both sides alike. The two builds must explore the
 * same executions and steps (the script says so when they do not).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { walkersYaml } from './walkers.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs') ?? 5);
const walkerCounts = (opt('--walkers') ?? '3,4').split(',').filter((s) => s !== '').map(Number);
const walkerRuns = Number(opt('--walker-runs') ?? 0) || undefined;
const against = opt('--against');

interface Build {
  readonly label: string;
  readonly check: (p: unknown, o: object) => { stats: { executions: number; steps: number } };
  readonly programs: unknown[];
  readonly walkers: Map<number, unknown>;
  readonly runToEnd: (p: unknown) => number;
}

function walkers(n: number): string {
  return walkersYaml(n, ['no-walk-of-freed-table', 'no-stale-walk-cache', 'no-sleep-in-atomic', 'no-ipi-wait-with-irqs-off']);
}

async function load(dist: string, label: string): Promise<Build> {
  const url = (m: string): string => pathToFileURL(resolve(dist, m)).href;
  const { check } = await import(url('engines/check/index.js'));
  const { Execution } = await import(url('core/index.js'));
  const { findScenarios } = await import(url('api/index.js'));
  const { openScenario, scenarioFromText } = await import(url('scenarios/resolve.js'));
  const programs = (findScenarios(resolve(dist, '../scenarios/check')) as string[]).map((f) => openScenario(f).program);
  const w = new Map<number, unknown>();
  for (const n of walkerCounts) w.set(n, scenarioFromText(walkers(n)).program);
  /** Run a program start to finish, always stepping the lowest enabled thread (option 0 of every choice). */
  const runToEnd = (p: unknown): number => {
    const e = new Execution(p);
    for (;;) {
      const en = e.enabled();
      if (en.length === 0) return e.stepCount as number;
      const t = en[0]!;
      e.step(t, e.pending(t).kind === 'choose' ? 0 : undefined);
    }
  };
  return { label, check, programs, walkers: w, runToEnd };
}

/**
 * A run's time is the process's CPU time (user + system, process.cpuUsage()), not the wall
 * clock: on a shared machine the wall clock also counts the time other processes held the CPU.
 * The wall time is kept for the record.
 */
interface Sample {
  readonly ms: number;
  readonly wallMs: number;
  readonly executions: number;
  readonly steps: number;
}

function runCatalog(b: Build): Sample {
  return timed(() => {
    let executions = 0;
    let steps = 0;
    for (const p of b.programs) {
      const r = b.check(p, { reduction: 'dpor' });
      executions += r.stats.executions;
      steps += r.stats.steps;
    }
    return { executions, steps };
  });
}

function runWalkers(b: Build, n: number): Sample {
  return timed(() => b.check(b.walkers.get(n), { reduction: 'dpor' }).stats);
}

/** The catalog's programs run start to finish, each 20 times, with no exploration. */
function runModel(b: Build): Sample {
  return timed(() => {
    let steps = 0;
    for (let i = 0; i < 20; i++) for (const p of b.programs) steps += b.runToEnd(p);
    return { executions: 20 * b.programs.length, steps };
  });
}

function timed(run: () => { executions: number; steps: number }): Sample {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms: (c.user + c.system) / 1000, wallMs, executions: r.executions, steps: r.steps };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const builds: Build[] = [await load(resolve('dist'), 'this build')];
if (against !== undefined) builds.push(await load(resolve(against), `against ${against}`));

// Warm up: every catalog program checked once and run alone a few times, per build.
for (const b of builds) {
  runCatalog(b);
  for (let i = 0; i < 5; i++) for (const p of b.programs) b.runToEnd(p);
}

const cases: Array<{ name: string; runs: number; run: (b: Build) => Sample }> = [
  { name: 'model alone (catalog, no exploration)', runs, run: runModel },
  { name: 'catalog, optimal DPOR to the end', runs, run: runCatalog },
  ...walkerCounts.map((n) => ({ name: `munmap + ${n} GUP-fast walkers`, runs: walkerRuns ?? (n >= 4 ? Math.min(runs, 3) : runs), run: (b: Build) => runWalkers(b, n) })),
];

console.log(`µs of CPU time per step and per execution, median of the runs${against ? `; ratio: ${builds[1]!.label} / this build, per run alternated` : ''}`);
const head = ['case', 'build', 'runs', 'executions', 'steps', 'CPU ms', 'µs/step', 'µs/exec', 'wall ms', 'CPU ms of the runs'];
const rows: string[][] = [head];
for (const c of cases) {
  const samples: Sample[][] = builds.map(() => []);
  for (let i = 0; i < c.runs; i++) {
    // Alternate the order too, so that neither build always runs after the other.
    const order = i % 2 === 0 ? builds.map((_, k) => k) : builds.map((_, k) => k).reverse();
    for (const k of order) {
      global.gc?.();
      samples[k]!.push(c.run(builds[k]!));
    }
  }
  const meds = samples.map((s) => median(s.map((x) => x.ms)));
  for (const [k, s] of samples.entries()) {
    const { executions, steps } = s[0]!;
    const ms = meds[k]!;
    rows.push([
      c.name,
      builds[k]!.label,
      String(s.length),
      String(executions),
      String(steps),
      ms.toFixed(0),
      median(s.map((x) => (x.ms * 1000) / x.steps)).toFixed(3),
      median(s.map((x) => (x.ms * 1000) / x.executions)).toFixed(1),
      median(s.map((x) => x.wallMs)).toFixed(0),
      s.map((x) => x.ms.toFixed(0)).join(' '),
    ]);
  }
  if (builds.length === 2 && c.run !== runModel) {
    const [a, b] = samples as [Sample[], Sample[]];
    if (a[0]!.executions !== b[0]!.executions || a[0]!.steps !== b[0]!.steps) console.log(`!! ${c.name}: the two builds explore different executions or steps`);
  }
  if (builds.length === 2) {
    const ratio = median(samples[0]!.map((x, i) => samples[1]![i]!.ms / samples[1]![i]!.steps / (x.ms / x.steps)));
    rows.push([c.name, 'ratio (per step)', '', '', '', '', `${ratio.toFixed(2)}x`, '', '', '']);
  }
}
const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => (c < 2 || c === 9 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ').trimEnd());

const model = rows.find((r) => r[0] === cases[0]!.name && r[1] === 'this build')!;
const cat = rows.find((r) => r[0] === cases[1]!.name && r[1] === 'this build')!;
console.log(`\nthe checker's step costs ${(Number(cat[6]) / Number(model[6])).toFixed(1)}x a step of the model alone (this build)`);
