/**
 * Can random probes estimate the size of an exhaustive run before it starts, as GenMC's
 * estimation mode does? (issue #13.) An experiment, not a feature: its numbers are in
 * docs/performance.md, and they are why `ptlab check` does not print such an estimate.
 *
 * The estimator is importance sampling over Mazurkiewicz traces, unbiased by construction:
 *  - a probe runs one random execution (at each step a thread is drawn among the enabled ones by
 *    a proposal that depends only on the state; a choice's option uniformly);
 *  - its trace is the execution up to reordering independent steps, the happens-before order
 *    of the checker's own vector clocks (EventLog);
 *  - q, the probability that a probe produces *some* execution of that trace, is summed exactly
 *    over the trace's linearisations by dynamic programming over its consistent cuts: every
 *    cut is a state (all its linearisations reach it), so the proposal's probability of each
 *    step out of it is known;
 *  - 1/q is then an unbiased estimate of the number of traces: E[1/q] = sum over traces of
 *    q * 1/q. Optimal DPOR explores one execution per trace (`--reduction dpor`).
 * Two proposals: 'uniform' (every enabled thread alike) and 'length' (weighted by the thread's
 * remaining steps as the earlier probes saw them, so that interleavings are near uniform).
 *
 *   npm run bench:probes -- [--probes 200] [--min 200] [--spin a+n1,a+n2,b+n2,a+n3]
 *
 * --min: catalog scenarios with fewer executions are left out (--min 1e12: the --spin cases alone).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Execution, type Program } from '../dist/core/execution.js';
import { Prng } from '../dist/core/prng.js';
import type { Value } from '../dist/core/value.js';
import { EventLog, type Event } from '../dist/engines/check/events.js';
import { check } from '../dist/engines/check/index.js';
import { findScenarios } from '../dist/api/index.js';
import { openScenario } from '../dist/scenarios/resolve.js';
import { renderTable } from '../dist/report/table.js';
import { option } from './args.js';
import { spinRow, spinScenarioYaml } from './spin-scenarios.js';

const probes = Number(option('--probes') ?? 200);
const min = Number(option('--min') ?? 200);
const spinCases = (option('--spin') ?? 'a+n1,a+n2,b+n2,a+n3').split(',').filter((s) => s !== '');

type Proposal = 'uniform' | 'length';
/** A proposal's weight for thread `t` after `taken` of its steps. */
type Weight = (t: number, taken: number) => number;

/** log q: the probability that a probe with weights `weight` produces some linearisation of the trace of `exec`. */
function logTraceProbability(exec: Execution, events: readonly Event[], options: readonly number[], weight: Weight): number {
  const T = exec.threads.length;
  const byThread: number[][] = Array.from({ length: T }, () => []);
  for (let i = 0; i < events.length; i++) byThread[(events[i] as Event).thread]?.push(i);
  const len = byThread.map((e) => e.length);
  const seqOf: number[] = [];
  for (const evs of byThread) evs.forEach((i, k) => (seqOf[i] = k + 1));
  const spawnedAt = new Array<number>(T).fill(-1);
  const writers = new Map<string, number[]>();
  exec.trace.forEach((r, i) => {
    if (r.spawned !== undefined) spawnedAt[r.spawned] = i;
    for (const [loc] of r.writes) {
      let w = writers.get(loc);
      if (!w) writers.set(loc, (w = []));
      w.push(i);
    }
  });
  const within = (i: number, cut: readonly number[]): boolean => (seqOf[i] as number) <= (cut[(events[i] as Event).thread] as number);
  // The value of `loc` in the state of `cut`: the last write of it inside the cut (writes of one
  // location are ordered by happens-before, so those inside a cut are a prefix of them).
  const valueIn = (cut: readonly number[]) => (loc: string): Value | undefined => {
    const ws = writers.get(loc);
    if (ws) {
      for (let k = ws.length - 1; k >= 0; k--) {
        const i = ws[k] as number;
        if (!within(i, cut)) continue;
        const w = exec.trace[i]?.writes ?? [];
        for (let x = w.length - 1; x >= 0; x--) if ((w[x] as readonly [string, Value])[0] === loc) return (w[x] as readonly [string, Value])[1];
      }
    }
    return exec.initialValue(loc);
  };
  let level = new Map<string, { cut: number[]; mass: number }>([[len.map(() => 0).join(','), { cut: len.map(() => 0), mass: 1 }]]);
  let logScale = 0;
  for (let k = 0; k < events.length; k++) {
    const next = new Map<string, { cut: number[]; mass: number }>();
    for (const { cut, mass } of level.values()) {
      const value = valueIn(cut);
      let total = 0;
      const ready: number[] = [];
      for (let t = 0; t < T; t++) {
        if ((spawnedAt[t] as number) >= 0 && !within(spawnedAt[t] as number, cut)) continue;
        const th = exec.threads[t];
        if (!th) continue;
        const at = cut[t] as number;
        const e = at < (len[t] as number) ? events[(byThread[t] as number[])[at] as number] : undefined;
        if (!exec.enabledIn(th, e ? e.phase : th.phase, e ? e.op : th.op, value)) continue;
        total += weight(t, at);
        if (e && e.vc.every((v, u) => u === t || v <= (cut[u] ?? 0))) ready.push(t);
      }
      for (const t of ready) {
        const i = (byThread[t] as number[])[cut[t] as number] as number;
        const c2 = cut.slice();
        c2[t] = (c2[t] as number) + 1;
        const key = c2.join(',');
        const add = (mass * weight(t, cut[t] as number)) / total / (options[i] as number);
        const entry = next.get(key);
        if (entry) entry.mass += add;
        else next.set(key, { cut: c2, mass: add });
      }
    }
    let top = 0;
    for (const e of next.values()) top = Math.max(top, e.mass);
    for (const e of next.values()) e.mass /= top;
    logScale += Math.log(top);
    level = next;
  }
  const last = [...level.values()][0];
  return logScale + Math.log(last ? last.mass : 0);
}

interface Estimate {
  readonly mean: number;
  /** Standard error of the mean. */
  readonly se: number;
  readonly ms: number;
}

function estimate(program: Program, proposal: Proposal, n: number, seed: number): Estimate {
  const rng = new Prng(seed);
  const lengths = new Map<string, number>();
  const xs: number[] = [];
  const t0 = performance.now();
  for (let p = 0; p < n; p++) {
    const exec = new Execution(program);
    const log = new EventLog(exec, true);
    const weight: Weight = (t, taken) => (proposal === 'uniform' ? 1 : Math.max(1, (lengths.get(exec.threads[t]?.spec.name ?? '') ?? 1) - taken));
    const options: number[] = [];
    for (;;) {
      const enabled = exec.enabled();
      if (enabled.length === 0) break;
      let total = 0;
      for (const t of enabled) total += weight(t, exec.thread(t).steps);
      let r = rng.nextFloat() * total;
      let pick = enabled[enabled.length - 1] as number;
      for (const t of enabled) {
        r -= weight(t, exec.thread(t).steps);
        if (r < 0) {
          pick = t;
          break;
        }
      }
      const pending = exec.pending(pick);
      const k = pending.kind === 'choose' ? (pending.options?.length ?? 1) : 1;
      const th = exec.thread(pick);
      const phase = th.phase;
      const op = th.op;
      options.push(k);
      log.push(exec.step(pick, k > 1 ? rng.nextInt(k) : pending.kind === 'choose' ? 0 : undefined), phase, op);
    }
    xs.push(Math.exp(-logTraceProbability(exec, log.events, options, weight)));
    for (const th of exec.threads) lengths.set(th.spec.name, Math.max(lengths.get(th.spec.name) ?? 0, th.steps));
  }
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, se: sd / Math.sqrt(xs.length), ms: performance.now() - t0 };
}

const work = mkdtempSync(join(tmpdir(), 'ptlab-probes-'));
const cases: Array<{ name: string; program: Program; generated?: boolean }> = [];
try {
  for (const c of spinCases) {
    const m = /^([a-z-]+)\+n(\d+)$/.exec(c);
    if (!m) throw new Error(`--spin takes ROW+nN, got '${c}'`);
    const file = join(work, `${c}.yaml`);
    writeFileSync(file, spinScenarioYaml(spinRow(m[1] as string), Number(m[2]), 1));
    cases.push({ name: `spin ${c}+w1`, program: openScenario(file, {}).program, generated: true });
  }
  for (const file of findScenarios(new URL('../scenarios/check', import.meta.url).pathname)) {
    cases.push({ name: file.replace(/^.*scenarios\/check\//, ''), program: openScenario(file, {}).program });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rows: string[][] = [['scenario', 'executions', 'run (s)', `uniform: ${probes} probes`, 'time (s)', `length: ${probes} probes`, 'time (s)']];
const ratios: Record<Proposal, number[]> = { uniform: [], length: [] };
for (const { name, program, generated } of cases) {
  const t0 = performance.now();
  const truth = check(program, { reduction: 'dpor' }).stats.executions;
  const runS = (performance.now() - t0) / 1000;
  if (truth < min && generated !== true) continue;
  const cells = [name, truth.toLocaleString('en-US'), runS.toFixed(2)];
  for (const proposal of ['uniform', 'length'] as const) {
    const e = estimate(program, proposal, probes, 1);
    ratios[proposal].push(e.mean / truth);
    cells.push(`${Math.round(e.mean).toLocaleString('en-US')} ± ${Math.round(e.se).toLocaleString('en-US')} (${(e.mean / truth).toFixed(2)}x)`, (e.ms / 1000).toFixed(2));
  }
  rows.push(cells);
  console.error(`${name}: done`);
}
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const within = (xs: readonly number[]): string => `${xs.filter((x) => x >= 0.5 && x <= 2).length} of ${xs.length} within 2x`;
rows.push(['median estimate / truth', '', '', `${median(ratios.uniform).toFixed(2)}x, ${within(ratios.uniform)}`, '', `${median(ratios.length).toFixed(2)}x, ${within(ratios.length)}`, '']);
for (const line of renderTable(rows, { columns: (rows[0] ?? []).map((_, c) => ({ align: c === 0 ? 'left' : 'right' })) })) console.log(line);
