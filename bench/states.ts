/**
 * How many states would an explicit-state checker store for ptlab's model, against Spin's for the
 * Promela anchor? (issue #13: "scales past an explicit-state checker".) For each Spin benchmark
 * row and N, this script counts:
 *
 *  - ptlab's reachable states, by an exact depth-first search over the model without any
 *    reduction. A state is the store (every location's value) and each live thread's name, phase
 *    and local state. A thread's local state is inside its generator, which ptlab cannot look
 *    into; the values the thread's steps received determine it (the same fact rollback() relies
 *    on), so the search keys it by that history. That is the least an explicit-state checker of
 *    this model would have to store;
 *  - ptlab's executions under optimal DPOR (what `ptlab check --reduction dpor` explores);
 *  - Spin's states for ptfree.pml with run-bounded.sh's flags, with partial-order reduction and
 *    without it (-DNOREDUCE), in this same script.
 *
 *   npm run bench:states -- [--rows a,b,c,d-ipi] [--n 1..2] [--w 1] [--cap 2000000]
 *
 * Needs spin and gcc (`npm run bench:spin` installs them). --cap bounds ptlab's state search.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Execution, type Program } from '../dist/core/execution.js';
import { check } from '../dist/engines/check/index.js';
import { openScenario } from '../dist/scenarios/resolve.js';
import { intList, option } from './args.js';
import { spinRow, spinScenarioYaml, type SpinRow } from './spin-scenarios.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const rows: SpinRow[] = (option('--rows') ?? 'a,b,c,d-ipi').split(',').map((id) => spinRow(id.trim()));
const ns = intList(option('--n') ?? '1..2');
const ws = intList(option('--w') ?? '1');
const cap = Number(option('--cap') ?? 2_000_000);
const pml = resolve(option('--pml') ?? join(ROOT, '..', 'shared', 'anchors', 'spin', 'ptfree.pml'));
for (const tool of ['spin', 'gcc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found: \`npm run bench:spin\` installs it (or apt-get install spin gcc)`);
}
if (!existsSync(pml)) throw new Error(`Promela model not found: ${pml} (--pml FILE)`);
if (!(cap > 0)) throw new Error('--cap must be a positive number of states');

/** Spin's stored states for ptfree.pml, with partial-order reduction or without it. */
function spinStates(work: string, row: SpinRow, n: number, w: number, reduce: boolean): number {
  const run = (argv: string[]): string => {
    const r = spawnSync(argv[0] as string, argv.slice(1), { cwd: work, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${(r.stderr || r.stdout).slice(0, 300)}`);
    return r.stdout;
  };
  run(['spin', '-a', `-DW=${w}`, `-DN=${n}`, '-DK=2', `-DSTRATEGY=${row.strategy}`, `-DFLUSH=${row.flush}`, 'ptfree.pml']);
  run(['gcc', '-w', '-O2', '-DSAFETY', '-DMEMLIM=16000', ...(reduce ? [] : ['-DNOREDUCE']), '-o', 'pan', 'pan.c']);
  const out = run(['./pan', '-m1000000', '-w24']);
  const m = /(\d+) states, stored/.exec(out);
  if (!m) throw new Error(`no state count in pan's output:\n${out.slice(0, 500)}`);
  return Number(m[1]);
}

interface StateCount {
  readonly states: number;
  readonly transitions: number;
  /** False when the search stopped at --cap. */
  readonly complete: boolean;
  readonly ms: number;
}

/** ptlab's reachable states (see the header): a depth-first search with exact keys. */
function ptlabStates(program: Program): StateCount {
  const exec = new Execution(program);
  const histories = new Map<string, number>();
  const seen = new Set<string>();
  let transitions = 0;
  const t0 = performance.now();
  const key = (local: readonly number[]): string => {
    const threads: string[] = [];
    for (const t of exec.threads) {
      // A finished handler or agent has no future: only what it left in the store counts.
      if (t.phase === 'done' && t.spec.kind !== 'task') continue;
      threads.push(`${t.spec.name}:${t.phase}:${local[t.id] ?? 0}`);
    }
    return `${JSON.stringify(exec.snapshot())}#${threads.sort().join(';')}`;
  };
  const visit = (local: readonly number[]): boolean => {
    const k = key(local);
    if (seen.has(k)) return true;
    if (seen.size >= cap) return false;
    seen.add(k);
    const depth = exec.stepCount;
    for (const t of exec.enabled()) {
      const p = exec.pending(t);
      const options = p.kind === 'choose' ? (p.options?.length ?? 1) : 1;
      for (let c = 0; c < options; c++) {
        exec.step(t, p.kind === 'choose' ? c : undefined);
        transitions++;
        const h = `${local[t] ?? 0}|${JSON.stringify(exec.sentAt(depth)) ?? '-'}`;
        let id = histories.get(h);
        if (id === undefined) histories.set(h, (id = histories.size + 1));
        const next = local.slice();
        next[t] = id;
        const done = visit(next);
        exec.rollback(depth);
        if (!done) return false;
      }
    }
    return true;
  };
  const complete = visit([]);
  return { states: seen.size, transitions, complete, ms: performance.now() - t0 };
}

const work = mkdtempSync(join(tmpdir(), 'ptlab-states-'));
copyFileSync(pml, join(work, 'ptfree.pml'));
const fmt = (x: number): string => x.toLocaleString('en-US');
const table: string[][] = [['row', 'W', 'N', 'Spin states (POR)', 'Spin states (no POR)', 'ptlab states', 'ptlab transitions', 'ptlab executions (DPOR)', 'ptlab states / Spin no-POR', 'ptlab search (s)']];
try {
  for (const row of rows) {
    for (const w of ws) {
      for (const n of ns) {
        const file = join(work, `${row.id}+n${n}+w${w}.yaml`);
        writeFileSync(file, spinScenarioYaml(row, n, w));
        const program = openScenario(file, {}).program;
        const por = spinStates(work, row, n, w, true);
        const noPor = spinStates(work, row, n, w, false);
        const s = ptlabStates(program);
        const executions = check(program, { reduction: 'dpor' }).stats.executions;
        const states = s.complete ? fmt(s.states) : `> ${fmt(cap)}`;
        table.push([row.id, String(w), String(n), fmt(por), fmt(noPor), states, s.complete ? fmt(s.transitions) : '-', fmt(executions), s.complete ? `${(s.states / noPor).toFixed(1)}x` : '-', (s.ms / 1000).toFixed(1)]);
        console.error(`${row.id} W=${w} N=${n}: done`);
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`| ${table[0]?.join(' | ')} |`);
console.log(`|${table[0]?.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
for (const r of table.slice(1)) console.log(`| ${r.join(' | ')} |`);
