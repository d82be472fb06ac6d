/**
 * ptlab side by side with Spin (issue #13): the Promela anchor ../shared/anchors/spin/ptfree.pml
 * run as its run-bounded.sh runs it (spin -a, gcc -O2 -DSAFETY -DMEMLIM=16000, pan -m1000000
 * -w24 -Q<5 x cap + 1 min, wall>, partial-order reduction on), and ptlab check on the equivalent
 * scenarios of bench/spin-scenarios.ts, alternately in this one process, each under
 * /usr/bin/time for CPU seconds (user+sys) and max RSS. A run past the cap (CPU seconds) is killed
 * and counts as not finished; a tool's N sweep of a row stops at its first unfinished N.
 *
 *   npm run bench:spin -- [--rows a,b,...] [--n 1..5] [--w 1,2] [--cap 60]
 *                         [--ptlab-args "--jobs 2"] [--json out.json] [--markdown] [--pml file]
 *                         [--invariants both|freed] [--tools both|spin|ptlab]
 *
 * Installs spin, gcc and time with apt-get when missing (as root). ptlab runs from dist/ as
 * `node bin/ptlab.js check <scenario.yaml> --json`, a child process like Spin's, so both times
 * include start-up (Spin's include spin -a and gcc: its time to verdict).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intList, option } from './args.js';
import { SPIN_ROWS, spinRow, spinScenarioYaml, type SpinRow } from './spin-scenarios.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');

// ---------------------------------------------------------------- options

const rows: SpinRow[] = (option('--rows') ?? SPIN_ROWS.map((r) => r.id).join(',')).split(',').map((id) => spinRow(id.trim()));
const ns = intList(option('--n') ?? '1..8');
const ws = intList(option('--w') ?? '1');
const cap = Number(option('--cap') ?? 60);
const ptlabArgs = (option('--ptlab-args') ?? '').split(/\s+/).filter((a) => a !== '');
const jsonOut = option('--json');
const markdown = process.argv.includes('--markdown');
const invariantsArg = option('--invariants') ?? 'both';
if (invariantsArg !== 'both' && invariantsArg !== 'freed') throw new Error("--invariants is 'both' or 'freed'");
const invariants: 'both' | 'freed' = invariantsArg;
const tools = option('--tools') ?? 'both';
if (!['both', 'spin', 'ptlab'].includes(tools)) throw new Error("--tools is 'both', 'spin' or 'ptlab'");
const pml = resolve(option('--pml') ?? join(ROOT, '..', 'shared', 'anchors', 'spin', 'ptfree.pml'));
if (!(cap > 0)) throw new Error('--cap must be a positive number of CPU seconds');
if (!existsSync(pml)) throw new Error(`Promela model not found: ${pml} (--pml FILE)`);

// run-bounded.sh's flags
const K = 2;
const DEPTH = 1_000_000;
const HASHW = 24;
const MEMLIM = 16_000;
/** pan -Q (wall-clock minutes): far past the cap, so that the CPU limit decides on a busy machine. */
const panMinutes = (): number => Math.ceil((cap * 5) / 60) + 1;

// ---------------------------------------------------------------- tools

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools(): void {
  const missing = [have('spin') ? null : 'spin', have('gcc') ? null : 'gcc', existsSync('/usr/bin/time') ? null : 'time'].filter((x): x is string => x !== null);
  if (missing.length === 0) return;
  console.error(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env });
  }
  if (r.status !== 0) throw new Error(`apt-get install -y ${missing.join(' ')} failed`);
}

interface Timed {
  readonly cpu: number; // user + sys, seconds
  readonly rssMB: number;
  readonly status: number | null;
  readonly killed: boolean; // by the CPU limit (or a signal)
  readonly stdout: string;
}

/**
 * Runs argv in cwd under /usr/bin/time with an RLIMIT_CPU of `limit` seconds (the kernel kills it
 * there: SIGXCPU, then SIGKILL), and a wall-clock safety net of a few times that.
 */
function timed(argv: readonly string[], cwd: string, limit: number, stdoutFile?: string): Timed {
  const timeFile = join(cwd, 'time.txt');
  rmSync(timeFile, { force: true });
  const lim = Math.max(1, Math.ceil(limit));
  const inner = stdoutFile ? 'ulimit -t "$0"; exec "$@" > "$OUT" 2>&1' : 'ulimit -t "$0"; exec "$@"';
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, 'bash', '-c', inner, String(lim), ...argv], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: (lim * 6 + 60) * 1000,
    env: { ...process.env, OUT: stdoutFile ?? '' },
  });
  const lines = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n') : [];
  const last = (lines[lines.length - 1] ?? '').split(' ').map(Number);
  const cpu = (last[0] ?? NaN) + (last[1] ?? NaN);
  const signalled = lines.some((l) => l.startsWith('Command terminated by signal')) || r.signal !== null;
  return {
    cpu: Number.isFinite(cpu) ? cpu : NaN,
    rssMB: Number.isFinite(last[2]) ? (last[2] ?? 0) / 1024 : NaN,
    status: r.status,
    killed: signalled || cpu >= lim,
    stdout: r.stdout ?? '',
  };
}

// ---------------------------------------------------------------- one run of each tool

type Verdict = 'safe' | 'violation' | 'deadlock' | 'unfinished' | 'error';

interface SpinRun {
  readonly verdict: Verdict;
  readonly detail: string; // pan's own word when not safe/violation (out-of-memory, timeout...)
  readonly states: number | null;
  readonly transitions: number | null;
  readonly depth: number | null;
  readonly cpu: number; // spin -a + gcc + pan
  readonly buildCpu: number;
  readonly rssMB: number; // the largest of the three
}

function runSpin(work: string, row: SpinRow, n: number, w: number): SpinRun {
  for (const f of ['pan', 'pan.c', 'pan.h', 'pan.m', 'pan.b', 'pan.t', 'pan.p', 'ptfree.pml.trail']) rmSync(join(work, f), { force: true });
  const defs = [`-DW=${w}`, `-DN=${n}`, `-DK=${K}`, `-DSTRATEGY=${row.strategy}`, `-DFLUSH=${row.flush}`];
  const a = timed(['spin', '-a', ...defs, 'ptfree.pml'], work, cap, join(work, 'spin_a.log'));
  const fail = (detail: string, cpu: number, rss: number): SpinRun => ({ verdict: 'error', detail, states: null, transitions: null, depth: null, cpu, buildCpu: cpu, rssMB: rss });
  if (a.status !== 0) return fail(`spin -a failed: ${readFileSync(join(work, 'spin_a.log'), 'utf8').slice(0, 300)}`, a.cpu, a.rssMB);
  const g = timed(['gcc', '-w', '-O2', '-DSAFETY', `-DMEMLIM=${MEMLIM}`, '-o', 'pan', 'pan.c'], work, cap, join(work, 'gcc.log'));
  const buildCpu = a.cpu + g.cpu;
  if (g.status !== 0) return fail(`gcc failed: ${readFileSync(join(work, 'gcc.log'), 'utf8').slice(0, 300)}`, buildCpu, Math.max(a.rssMB, g.rssMB));
  // pan's -Q is wall-clock minutes (run-bounded.sh's CAP): on this shared 2-core machine a run
  // of 20 s CPU took 70 s wall, and -Q1 stopped it; the CPU limit decides instead.
  const capMin = panMinutes();
  const p = timed(['./pan', `-m${DEPTH}`, `-w${HASHW}`, `-Q${capMin}`], work, cap - buildCpu, join(work, 'pan.out'));
  const out = existsSync(join(work, 'pan.out')) ? readFileSync(join(work, 'pan.out'), 'utf8') : '';
  const num = (re: RegExp): number | null => {
    const m = re.exec(out);
    return m ? Number(m[1]) : null;
  };
  const cpu = buildCpu + p.cpu;
  const rssMB = Math.max(a.rssMB, g.rssMB, p.rssMB);
  const errs = num(/errors: (\d+)/);
  let verdict: Verdict;
  let detail = '';
  if (out.includes('assertion violated')) verdict = 'violation';
  else if (out.includes('invalid end state (at depth')) verdict = 'deadlock';
  else if (out.includes('out of memory')) [verdict, detail] = ['unfinished', 'out-of-memory'];
  else if (out.includes('Time limit')) [verdict, detail] = ['unfinished', `pan -Q${capMin}`];
  else if (p.killed || cpu > cap) [verdict, detail] = ['unfinished', 'cap'];
  else if (out.includes('max search depth too small')) [verdict, detail] = ['unfinished', 'depth-limited'];
  else if (errs === 0) verdict = 'safe';
  else [verdict, detail] = ['error', `pan exit ${p.status}`];
  if ((verdict === 'safe' || verdict === 'violation' || verdict === 'deadlock') && cpu > cap) [verdict, detail] = ['unfinished', 'cap'];
  return {
    verdict,
    detail,
    states: num(/(\d+) states, stored/),
    transitions: num(/(\d+) transitions \(= stored\+matched\)/),
    depth: verdict === 'violation' ? num(/assertion violated.*\(at depth (\d+)\)/) : num(/depth reached (\d+)/),
    cpu,
    buildCpu,
    rssMB,
  };
}

interface PtlabRun {
  readonly verdict: Verdict;
  readonly detail: string;
  readonly executions: number | null;
  readonly traces: number | null;
  readonly stopped: string | null;
  readonly cpu: number;
  readonly rssMB: number;
}

interface CheckJson {
  exhaustive: boolean;
  stopped: string | null;
  stats: { executions: number; complete: number };
  verdicts: Array<{ id: string; status: string }>;
  deadlock: { found: boolean };
}

function runPtlab(work: string, row: SpinRow, n: number, w: number): PtlabRun {
  const file = join(work, `spin+${row.id}+n${n}+w${w}.yaml`);
  writeFileSync(file, spinScenarioYaml(row, n, w, { invariants }));
  const t = timed([process.execPath, join(ROOT, 'bin', 'ptlab.js'), 'check', file, '--json', ...ptlabArgs], work, cap);
  const fail = (verdict: Verdict, detail: string): PtlabRun => ({ verdict, detail, executions: null, traces: null, stopped: null, cpu: t.cpu, rssMB: t.rssMB });
  if (t.killed || t.cpu > cap) return fail('unfinished', 'cap');
  let j: CheckJson;
  try {
    j = JSON.parse(t.stdout) as CheckJson;
  } catch {
    return fail('error', `ptlab exit ${t.status}, no JSON`);
  }
  let verdict: Verdict;
  let detail = '';
  if (j.verdicts.some((v) => v.status === 'violated')) verdict = 'violation';
  else if (j.deadlock.found) verdict = 'deadlock';
  else if (j.exhaustive && j.verdicts.every((v) => v.status === 'holds')) verdict = 'safe';
  else [verdict, detail] = ['unfinished', j.stopped ?? 'not exhaustive'];
  return { verdict, detail, executions: j.stats.executions, traces: j.stats.complete, stopped: j.stopped, cpu: t.cpu, rssMB: t.rssMB };
}

// ---------------------------------------------------------------- the sweep

const finished = (v: Verdict): boolean => v === 'safe' || v === 'violation' || v === 'deadlock';

interface Record {
  readonly row: string;
  readonly strategy: string;
  readonly flush: string;
  readonly arch: string;
  readonly expected: string;
  readonly w: number;
  readonly n: number;
  spin: SpinRun | null;
  ptlab: PtlabRun | null;
}

ensureTools();
const spinVersion = spawnSync('spin', ['-V'], { encoding: 'utf8' }).stdout.trim();
const gccVersion = spawnSync('gcc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
const work = mkdtempSync(join(tmpdir(), 'ptlab-bench-spin-'));
copyFileSync(pml, join(work, 'ptfree.pml'));
const started = new Date().toISOString();
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`;
console.error(`# ${spinVersion}; ${gccVersion}; ${machine}; ${started}`);
console.error(`# model ${pml}; K=${K}; cap ${cap} s CPU per run; ptlab args: ${ptlabArgs.join(' ') || '(none)'}; invariants: ${invariants}`);

const records: Record[] = [];
const fmtN = (x: number | null): string => (x === null ? '-' : x.toLocaleString('en-US'));
const fmtS = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
const fmtMB = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const short = (v: Verdict, detail: string): string => (v === 'unfinished' || v === 'error' ? `${v}${detail ? ` (${detail})` : ''}` : v);

try {
  for (const w of ws) {
    for (const row of rows) {
      let spinOn = tools !== 'ptlab';
      let ptlabOn = tools !== 'spin';
      for (const n of ns) {
        if (!spinOn && !ptlabOn) break;
        const rec: Record = { row: row.id, strategy: row.strategy, flush: row.flush, arch: row.arch, expected: row.expected, w, n, spin: null, ptlab: null };
        // Alternate: Spin, then ptlab, for every N.
        if (spinOn) {
          rec.spin = runSpin(work, row, n, w);
          if (!finished(rec.spin.verdict)) spinOn = false;
        }
        if (ptlabOn) {
          rec.ptlab = runPtlab(work, row, n, w);
          if (!finished(rec.ptlab.verdict)) ptlabOn = false;
        }
        records.push(rec);
        const s = rec.spin;
        const p = rec.ptlab;
        console.error(
          `${row.id} W=${w} N=${n}: spin ${s ? `${short(s.verdict, s.detail)} ${fmtN(s.states)} states ${fmtS(s.cpu)} s ${fmtMB(s.rssMB)} MB` : 'not run'}` +
            ` | ptlab ${p ? `${short(p.verdict, p.detail)} ${fmtN(p.executions)} executions ${fmtS(p.cpu)} s ${fmtMB(p.rssMB)} MB` : 'not run'}`,
        );
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report

function agreement(r: Record): string {
  if (!r.spin || !r.ptlab || !finished(r.spin.verdict) || !finished(r.ptlab.verdict)) return '-';
  return r.spin.verdict === r.ptlab.verdict ? 'yes' : 'NO';
}

const header = ['row', 'W', 'N', 'Spin verdict', 'ptlab verdict', 'agree', 'Spin states', 'Spin transitions', 'ptlab executions', 'Spin CPU s', 'ptlab CPU s', 'ptlab/Spin', 'Spin RSS MB', 'ptlab RSS MB'];
const table = records.map((r) => {
  const s = r.spin;
  const p = r.ptlab;
  const both = s && p && finished(s.verdict) && finished(p.verdict);
  return [
    `${r.row} (${r.strategy}/${r.flush}, ${r.arch})`,
    String(r.w),
    String(r.n),
    s ? short(s.verdict, s.detail) : '(stopped)',
    p ? short(p.verdict, p.detail) : '(stopped)',
    agreement(r),
    s ? fmtN(s.states) : '',
    s ? fmtN(s.transitions) : '',
    p ? fmtN(p.executions) : '',
    s ? fmtS(s.cpu) : '',
    p ? fmtS(p.cpu) : '',
    both ? (p.cpu / s.cpu).toFixed(2) : '',
    s ? fmtMB(s.rssMB) : '',
    p ? fmtMB(p.rssMB) : '',
  ];
});

interface Summary {
  row: string;
  w: number;
  expected: string;
  spinMaxN: number | null;
  ptlabMaxN: number | null;
  disagreements: number[];
}
const summaries: Summary[] = [];
for (const w of ws) {
  for (const row of rows) {
    const mine = records.filter((r) => r.row === row.id && r.w === w);
    const maxN = (pick: (r: Record) => SpinRun | PtlabRun | null): number | null => {
      let best: number | null = null;
      for (const r of mine) {
        const x = pick(r);
        if (x && finished(x.verdict) && x.cpu <= cap) best = r.n;
        else if (x) break;
      }
      return best;
    };
    summaries.push({
      row: row.id,
      w,
      expected: row.expected,
      spinMaxN: maxN((r) => r.spin),
      ptlabMaxN: maxN((r) => r.ptlab),
      disagreements: mine.filter((r) => agreement(r) === 'NO').map((r) => r.n),
    });
  }
}
const sumHeader = ['row', 'W', 'expected', `largest N, Spin (≤ ${cap} s)`, `largest N, ptlab (≤ ${cap} s)`, 'disagreements'];
const sumTable = summaries.map((s) => [s.row, String(s.w), s.expected, s.spinMaxN === null ? 'none' : String(s.spinMaxN), s.ptlabMaxN === null ? 'none' : String(s.ptlabMaxN), s.disagreements.length ? `N=${s.disagreements.join(',')}` : 'none']);

function render(head: string[], body: string[][]): string {
  if (markdown) {
    const numeric = (k: number) => body.every((r) => /^[-\d.,]*$/.test(r[k] ?? ''));
    return [
      `| ${head.join(' | ')} |`,
      `|${head.map((_, k) => (numeric(k) ? '---:' : '---')).join('|')}|`,
      ...body.map((r) => `| ${r.join(' | ')} |`),
    ].join('\n');
  }
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => (r[k] ?? '').length)));
  const line = (r: string[]) => r.map((c, k) => c.padEnd(widths[k] ?? 0)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

console.log(`${markdown ? '' : '# '}${spinVersion}; ${gccVersion}; ${machine}; ${started}`);
console.log(
  `${markdown ? '' : '# '}Spin: run-bounded.sh's flags (spin -a -DW -DN -DK=${K} -DSTRATEGY -DFLUSH; gcc -w -O2 -DSAFETY -DMEMLIM=${MEMLIM}; ` +
    `pan -m${DEPTH} -w${HASHW} -Q${panMinutes()}; POR on); CPU = spin -a + gcc + pan. ptlab: node bin/ptlab.js check --json ${ptlabArgs.join(' ')}` +
    ` (invariants: ${invariants === 'both' ? 'no-walk-of-freed-table and no-walk-of-reused-table' : 'no-walk-of-freed-table alone'}); ` +
    `CPU = the whole process. CPU = user+sys; a run past ${cap} s CPU is killed (unfinished).`,
);
console.log('');
console.log(render(header, table));
console.log('');
console.log(render(sumHeader, sumTable));

if (jsonOut) {
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ schema: 'ptlab.bench-spin/1', started, spin: spinVersion, gcc: gccVersion, machine, model: pml, k: K, cap, ptlabArgs, invariants, records, summaries }, null, 2)}\n`,
  );
}
if (summaries.some((s) => s.disagreements.length > 0)) {
  console.error('verdicts DISAGREE on some row/N: investigate (see the table)');
  process.exitCode = 1;
}
