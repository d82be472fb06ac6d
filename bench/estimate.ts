/**
 * How good is the checker's estimate of the exploration's size (Explorer.exploredShare(), shown on
 * the progress line and for a run that stopped at the answer)? For each catalog scenario with at
 * least --min executions (optimal DPOR), the total the estimate gives (executions / share) when
 * 10%, 25% and 50% of the real executions are done, against the real total; and the median
 * ratio over the scenarios.
 *
 *   npm run build && tsx bench/estimate.ts [--min N]
 */
import { check } from '../dist/engines/check/index.js';
import { findScenarios } from '../dist/api/index.js';
import { openScenario } from '../dist/scenarios/resolve.js';

const args = process.argv.slice(2);
const min = Number(args[args.indexOf('--min') + 1] || 0) || 200;
const POINTS = [0.1, 0.25, 0.5] as const;

const rows: string[][] = [['scenario', 'executions', 'est. at 10%', 'at 25%', 'at 50%']];
const ratios: number[][] = POINTS.map(() => []);
for (const file of findScenarios(new URL('../scenarios/check', import.meta.url).pathname)) {
  const s = openScenario(file, {});
  const total = check(s.program).stats.executions;
  if (total < min) continue;
  const marks = POINTS.map((p) => Math.max(1, Math.round(p * total)));
  const est: number[] = [];
  check(s.program, {
    onProgress: (st, explored) => {
      const i = marks.indexOf(st.executions);
      if (i >= 0 && explored) est[i] = st.executions / explored();
    },
  });
  POINTS.forEach((_, i) => ratios[i]!.push((est[i] ?? NaN) / total));
  rows.push([file.replace(/^.*scenarios\/check\//, ''), String(total), ...est.map((e) => `${Math.round(e)} (${(e / total).toFixed(2)}x)`)]);
}
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? NaN;
};
rows.push(['median ratio (estimate / truth)', '', ...ratios.map((r) => `${median(r).toFixed(2)}x`)]);
rows.push(['within 2x of the truth', '', ...ratios.map((r) => `${r.filter((x) => x >= 0.5 && x <= 2).length} of ${r.length}`)]);
const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
for (const r of rows) console.log(r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  '));
