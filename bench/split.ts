/**
 * One exploration on every core (issue #13; src/engines/check/subtree.ts): `ptlab check --jobs 1`
 * against `--jobs N` on the Spin benchmark's safe rows (bench/spin-scenarios.ts), each run a
 * child process as a user runs it, alternately, R times. It prints the median wall times and
 * their ratio, the best of each and theirs (other jobs on a shared machine only ever slow a run
 * down), and checks that the JSON results are byte for byte the same. Then the ceiling of the machine:
 * two `--jobs 1` runs of the same scenario at once against one alone, i.e. how much two
 * explorations that share nothing gain from the second core.
 *
 *   npm run bench:split -- [--jobs 2] [--reps 2] [--big]
 *
 * --big adds row b with 4 walkers (1,683,288 executions, minutes per run).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable } from '../src/report/table.js';
import { spinRow, spinScenarioYaml } from './spin-scenarios.js';

const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '2' }, reps: { type: 'string', default: '2' }, big: { type: 'boolean', default: false } } });
const jobs = Number(args.jobs);
const reps = Number(args.reps);
if (!Number.isInteger(jobs) || jobs < 2 || !Number.isInteger(reps) || reps < 1) {
  process.stderr.write('bench:split: --jobs wants an integer >= 2, --reps a positive integer\n');
  process.exit(2);
}

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ptlab-split-'));
const cases: Array<[row: string, n: number, w: number]> = [
  ['a', 3, 1],
  ['b', 3, 1],
  ['a', 2, 2],
  ['b', 2, 2],
  ...(args.big ? ([['b', 4, 1]] as Array<[string, number, number]>) : []),
];

interface Run {
  readonly ms: number;
  readonly out: string;
}

/** `ptlab check FILE --json --jobs J` in a child process: its wall time and stdout. */
function ptlab(file: string, j: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'ptlab.js'), 'check', file, '--json', '--jobs', String(j)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || code === 1 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`ptlab check ${file} --jobs ${j} exited ${code}`))));
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sec = (ms: number): string => (ms / 1000).toFixed(2);

const rows: string[][] = [['scenario', 'executions', '--jobs 1 (s)', `--jobs ${jobs} (s)`, 'speed-up', 'best of each', 'speed-up', 'same JSON']];
for (const [id, n, w] of cases) {
  const file = join(dir, `${id}+n${n}+w${w}.yaml`);
  writeFileSync(file, spinScenarioYaml(spinRow(id), n, w));
  const one: number[] = [];
  const many: number[] = [];
  let same = true;
  let executions = 0;
  for (let r = 0; r < reps; r++) {
    const a = await ptlab(file, 1);
    const b = await ptlab(file, jobs);
    one.push(a.ms);
    many.push(b.ms);
    same &&= a.out === b.out;
    executions = (JSON.parse(a.out) as { stats: { executions: number } }).stats.executions;
    process.stderr.write(`${id}+n${n}+w${w}: --jobs 1 ${sec(a.ms)} s, --jobs ${jobs} ${sec(b.ms)} s\n`);
  }
  const best = (xs: readonly number[]): number => Math.min(...xs);
  rows.push([
    `${id}+n${n}+w${w}`,
    executions.toLocaleString('en-US'),
    sec(median(one)),
    sec(median(many)),
    `${(median(one) / median(many)).toFixed(2)}x`,
    `${sec(best(one))} / ${sec(best(many))}`,
    `${(best(one) / best(many)).toFixed(2)}x`,
    same ? 'yes' : 'NO',
  ]);
}
const right = { align: 'right' } as const;
console.log(renderTable(rows, { columns: [{}, right, right, right, right, right, right, {}] }).join('\n'));

// The ceiling: two explorations that share nothing, at once, against one alone.
const ceilingFile = join(dir, 'a+n2+w2.yaml');
const alone: number[] = [];
const pair: number[] = [];
for (let r = 0; r < reps; r++) {
  alone.push((await ptlab(ceilingFile, 1)).ms);
  const t0 = performance.now();
  await Promise.all([ptlab(ceilingFile, 1), ptlab(ceilingFile, 1)]);
  pair.push(performance.now() - t0);
}
const throughput = (2 * median(alone)) / median(pair);
console.log(`\nceiling: a+n2+w2 alone ${sec(median(alone))} s; two at once ${sec(median(pair))} s: ${throughput.toFixed(2)}x the throughput of one core`);
