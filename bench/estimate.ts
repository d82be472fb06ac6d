/**
 * How good is the checker's estimate of the exploration's size (Explorer.exploredShare(), shown on
 * the progress line and for a run that stopped at the answer)? For each catalog scenario with at
 * least --min executions, and each generated Spin benchmark scenario of --spin, the total the
 * estimate gives (executions / share) when 1%, 5%, 10%, 25% and 50% of the real executions are
 * done, against the real total; and the median ratio over the scenarios.
 *
 *   npm run build && tsx bench/estimate.ts [--min N] [--reduction source-dpor|dpor] [--spin a+n3,b+n3]
 *                                          [--shrink a+n3,b+n3,a+n2+w2]
 *
 * The default reduction is `ptlab check`'s, source-set DPOR (on one thread here).
 *
 * --shrink: instead, the estimate before the run of `ptlab check --estimate` (src/api/estimate.ts:
 * smaller runs with fewer of the identical walker CPUs) for those Spin benchmark scenarios, against
 * the real total, with the time each took.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Program } from '../dist/core/execution.js';
import { check, type Reduction } from '../dist/engines/check/index.js';
import { estimateScenario, findScenarios } from '../dist/api/index.js';
import { openScenario } from '../dist/scenarios/resolve.js';
import { renderTable } from '../dist/report/table.js';
import { option } from './args.js';
import { spinRow, spinScenarioYaml } from './spin-scenarios.js';

const min = Number(option('--min') ?? 200);
const reduction = (option('--reduction') ?? 'source-dpor') as Reduction;
if (reduction !== 'source-dpor' && reduction !== 'dpor') throw new Error("--reduction is 'source-dpor' or 'dpor'");
const spinCases = (option('--spin') ?? '').split(',').filter((s) => s !== '');
const POINTS = [0.01, 0.05, 0.1, 0.25, 0.5] as const;

/** Print a table: the first column left-aligned, the others right-aligned. */
function print(rows: readonly string[][]): void {
  for (const line of renderTable(rows, { columns: (rows[0] ?? []).map((_, c) => ({ align: c === 0 ? 'left' : 'right' })) })) console.log(line);
}

const shrinkCases = (option('--shrink') ?? '').split(',').filter((s) => s !== '');

/** The scenario of a Spin benchmark case, ROW+nN[+wW], written into `dir`. */
function spinFile(dir: string, c: string): string {
  const m = /^([a-z-]+)\+n(\d+)(?:\+w(\d+))?$/.exec(c);
  if (!m) throw new Error(`a Spin case is ROW+nN[+wW], got '${c}'`);
  const file = join(dir, `${c}.yaml`);
  writeFileSync(file, spinScenarioYaml(spinRow(m[1] as string), Number(m[2]), Number(m[3] ?? 1)));
  return file;
}

const cases: Array<{ name: string; program: Program }> = [];
const work = mkdtempSync(join(tmpdir(), 'ptlab-estimate-'));
if (shrinkCases.length > 0) {
  const table = [['scenario', 'estimate', 'in (s)', 'executions', 'run (s)', 'estimate / truth']];
  try {
    for (const c of shrinkCases) {
      const file = spinFile(work, c);
      const t0 = performance.now();
      const e = estimateScenario(file, { reduction });
      const t1 = performance.now();
      const truth = check(openScenario(file, {}).program, { reduction }).stats.executions;
      const t2 = performance.now();
      table.push([`spin ${c}`, e.executions === null ? `none: ${e.why}` : e.executions.toLocaleString('en-US'), ((t1 - t0) / 1000).toFixed(2), truth.toLocaleString('en-US'), ((t2 - t1) / 1000).toFixed(2), e.executions === null ? '-' : `${(e.executions / truth).toFixed(3)}x`]);
      console.error(`${c}: done`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  print(table);
  process.exit(0);
}
try {
  for (const c of spinCases) cases.push({ name: `spin ${c}`, program: openScenario(spinFile(work, c), {}).program });
} finally {
  rmSync(work, { recursive: true, force: true });
}
for (const file of findScenarios(new URL('../scenarios/check', import.meta.url).pathname)) {
  cases.push({ name: file.replace(/^.*scenarios\/check\//, ''), program: openScenario(file, {}).program });
}

const rows: string[][] = [['scenario', 'executions', ...POINTS.map((p) => `est. at ${100 * p}%`)]];
const ratios: number[][] = POINTS.map(() => []);
for (const { name, program } of cases) {
  const total = check(program, { reduction }).stats.executions;
  if (total < min && !name.startsWith('spin ')) continue;
  const marks = POINTS.map((p) => Math.max(1, Math.round(p * total)));
  const est: number[] = [];
  check(program, {
    reduction,
    onProgress: (st, explored) => {
      for (let i = 0; i < marks.length; i++) if (marks[i] === st.executions && explored) est[i] = st.executions / explored();
    },
  });
  POINTS.forEach((_, i) => ratios[i]?.push((est[i] ?? NaN) / total));
  rows.push([name, total.toLocaleString('en-US'), ...POINTS.map((_, i) => `${Math.round(est[i] ?? NaN).toLocaleString('en-US')} (${((est[i] ?? NaN) / total).toFixed(2)}x)`)]);
  console.error(`${name}: done`);
}
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? NaN;
};
rows.push(['median ratio (estimate / truth)', '', ...ratios.map((r) => `${median(r).toFixed(2)}x`)]);
rows.push(['within 2x of the truth', '', ...ratios.map((r) => `${r.filter((x) => x >= 0.5 && x <= 2).length} of ${r.length}`)]);
print(rows);
