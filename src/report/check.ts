/**
 * Check results as text (a verdict table and the shortest counterexample per violated property,
 * per CPU) and as JSON data (schema `ptlab.check/2`, documented in docs/json.md).
 */
import { encodeSchedule } from '../core/schedule.js';
import type { Counterexample, CheckResult, Reduction, VerdictStatus } from '../engines/check/index.js';
import type { CheckRun, Comparison } from '../api/index.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import { renderTrace } from './trace-text.js';
import { TableLedger } from '../model/table-ledger.js';
import { renderTable } from './table.js';

export interface CheckReportInput {
  readonly scenario: ResolvedScenario;
  readonly result: CheckResult;
  readonly comparison: Comparison;
  readonly elapsedMs?: number;
  /** Threads the exploration ran on, printed beside the time (1 when absent). */
  readonly threads?: number;
}

/** What the reports need of a check run. */
export function reportInputOf(run: CheckRun): CheckReportInput {
  return { scenario: run.scenario.resolved, result: run.result, comparison: run.comparison, elapsedMs: run.elapsedMs, threads: run.threads };
}

function counterexampleText(title: string, cx: Counterexample, cpus: number, file: string, label: string, width: number): string {
  const lines: string[] = [];
  lines.push(`--- ${title} ---`);
  if (cx.violation) lines.push(TableLedger.of(cx.trace.slice(0, cx.violation.step + 1)).rename(cx.violation.message, cx.violation.step));
  else lines.push(`deadlock: no thread can run; blocked: ${cx.blocked.map((t) => `${cx.threadNames[t]} (thread ${t})`).join(', ')}`);
  lines.push('');
  lines.push(renderTrace({
    trace: cx.violation ? cx.trace.slice(0, cx.violation.step + 1) : cx.trace,
    threadNames: cx.threadNames,
    threadKinds: cx.threadKinds,
    threadCpus: cx.threadCpus,
    cpus,
    mark: cx.violation ? { step: cx.violation.step, label } : undefined,
  }, width));
  lines.push('');
  lines.push(`replay: ptlab replay ${file} --schedule '${encodeSchedule(cx.schedule)}'`);
  return lines.join('\n');
}

const REDUCTION_NAMES: Record<Reduction, string> = { dpor: 'optimal DPOR', 'source-dpor': 'source-set DPOR', none: 'naive' };
const STATUS_TEXT: Record<VerdictStatus, string> = { holds: 'holds', violated: 'violated', 'no-violation-found': 'no violation found' };

function modeText(result: CheckResult): string {
  const m = result.mode;
  switch (m.kind) {
    case 'exhaustive':
      if (result.stopped === 'all-violated') return `${REDUCTION_NAMES[result.reduction]} exploration, stopped at the answer`;
      if (result.stopped === 'interrupted') return `INTERRUPTED ${REDUCTION_NAMES[result.reduction]} exploration`;
      if (result.stopped === 'first-violation') return `${REDUCTION_NAMES[result.reduction]} exploration, stopped at the first counterexample`;
      return `${result.exhaustive ? 'exhaustive' : 'BOUNDED (--max-executions)'} ${REDUCTION_NAMES[result.reduction]} exploration`;
    case 'bounded':
      return `preemption-bounded exploration (at most ${m.preemptions} preemptions)`;
    case 'random':
      return `random PCT exploration (seed ${m.seed}, depth ${m.depth ?? 3})`;
  }
}

/**
 * The statistics every run of the scenario gives alike, on any number of threads: all but the
 * model's replay counters, which count work that depends on where each subtree of a split
 * exploration ran (src/engines/check/subtree.ts).
 */
function deterministicStats(s: CheckResult['stats']): Omit<CheckResult['stats'], 'replayed' | 'rerun'> {
  const { replayed: _replayed, rerun: _rerun, ...rest } = s;
  return rest;
}

export function checkText(r: CheckReportInput, width = 160): string {
  const { scenario, result, comparison } = r;
  const out: string[] = [];
  out.push(`${scenario.name}: ${scenario.arch}, ${scenario.cpus} CPUs, preset ${scenario.preset ?? '(none)'}`);
  const s = result.stats;
  const threads = (r.threads ?? 1) > 1 ? ` on ${r.threads} threads` : '';
  const time = r.elapsedMs !== undefined ? `, ${(r.elapsedMs / 1000).toFixed(2)} s${threads}` : '';
  out.push(`${modeText(result)}: ${s.executions} executions, ${s.complete} ${result.reduction === 'none' ? 'complete' : 'distinct traces'}, ${s.sleepBlocked} sleep-set blocked, ${s.steps} steps${time}`);
  if (result.stopped === 'all-violated') {
    const share = result.explored !== null ? `, about ${(100 * result.explored).toFixed(result.explored < 0.01 ? 2 : 0)}% of the space by the estimate` : '';
    out.push(`stopped once every checked invariant had a counterexample${share}: the verdicts are final, but shorter counterexamples may exist (--shortest explores every interleaving and keeps the shortest)`);
  } else if (result.stopped === 'first-violation') {
    const share = result.explored !== null ? ` (about ${(100 * result.explored).toFixed(result.explored < 0.01 ? 2 : 0)}% of the space by the estimate)` : '';
    out.push(`stopped at the first counterexample${share} (--first): an invariant without one is not proven; "no violation found" covers only the executions explored`);
  } else if (result.stopped === 'interrupted') {
    const share = result.explored !== null ? ` (about ${(100 * result.explored).toFixed(result.explored < 0.01 ? 2 : 0)}% of the space by the estimate)` : '';
    out.push(`interrupted${share}: the verdicts are partial; "no violation found" covers only the executions explored`);
  } else if (!result.exhaustive) out.push('not exhaustive: nothing is proven to hold; "no violation found" covers only the executions explored');
  out.push('');
  const d = comparison.deadlock;
  const dGot = d.got ? 'yes' : result.exhaustive ? 'no' : 'none found';
  out.push(...renderTable([
    ['invariant', 'expected', 'got'],
    ...comparison.rows.map((row) => [row.id, row.expected ?? '-', STATUS_TEXT[row.got], row.match ? '' : 'MISMATCH']),
    ['deadlock', d.expected === null ? '-' : d.expected ? 'yes' : 'no', dGot, d.match ? '' : 'MISMATCH'],
  ], { columns: [{ width: 10 }, { width: 8 }, { width: 8 }, {}] }));
  // Only an exploration of every interleaving knows its counterexamples are the shortest.
  const shortest = result.exhaustive ? 'shortest counterexample' : 'shortest counterexample found';
  for (const v of result.verdicts) {
    if (v.counterexample) {
      out.push('');
      out.push(counterexampleText(`${v.id}: ${shortest}`, v.counterexample, scenario.cpus, scenario.file, v.id, width));
    }
  }
  if (result.deadlock) {
    out.push('');
    out.push(counterexampleText(`deadlock: ${result.exhaustive ? 'shortest execution' : 'shortest execution found'}`, result.deadlock, scenario.cpus, scenario.file, 'deadlock', width));
  }
  return out.join('\n');
}

function counterexampleJson(cx: Counterexample): unknown {
  return {
    violation: cx.violation,
    schedule: encodeSchedule(cx.schedule),
    blocked: cx.blocked,
    threads: cx.threadNames.map((name, id) => ({ id, name, kind: cx.threadKinds[id], cpu: cx.threadCpus[id] })),
    steps: cx.trace.map((s) => ({
      index: s.index,
      thread: s.thread,
      cpu: s.cpu,
      kind: s.kind,
      fn: s.fn,
      desc: s.desc,
      ...(s.note !== undefined ? { note: s.note } : {}),
      ...(s.choice ? { choice: s.choice } : {}),
      ...(s.spawned !== undefined ? { spawned: s.spawned } : {}),
      reads: s.reads,
      writes: s.writes.map(([loc, value]) => ({ loc, value })),
      events: s.events,
    })),
  };
}

/** Results as data. No wall times: the same scenario gives byte-identical JSON. */
export function checkJson(r: CheckReportInput): unknown {
  const { scenario, result, comparison } = r;
  return {
    schema: 'ptlab.check/2',
    scenario,
    mode: result.mode,
    reduction: result.reduction,
    exhaustive: result.exhaustive,
    stopped: result.stopped,
    explored: result.explored,
    stats: deterministicStats(result.stats),
    verdicts: result.verdicts.map((v) => {
      const row = comparison.rows.find((x) => x.id === v.id);
      return {
        id: v.id,
        title: v.title,
        status: v.status,
        expected: row?.expected ?? null,
        match: row?.match ?? true,
        counterexample: v.counterexample ? counterexampleJson(v.counterexample) : null,
      };
    }),
    deadlock: {
      expected: comparison.deadlock.expected,
      found: comparison.deadlock.got,
      match: comparison.deadlock.match,
      counterexample: result.deadlock ? counterexampleJson(result.deadlock) : null,
    },
    ok: comparison.ok,
  };
}

export interface CatalogRow {
  readonly file: string;
  readonly expected: string;
  readonly got: string;
  readonly ok: boolean;
  readonly executions: number;
  readonly exhaustive: boolean;
  readonly elapsedMs: number;
  readonly error?: string;
}

/** Short summary of stated verdicts: the violated invariants, or 'all hold'. */
export function verdictSummary(rows: Comparison['rows'], deadlock: boolean | null, use: 'expected' | 'got'): string {
  const violated = rows.filter((r) => (use === 'expected' ? r.expected === 'violated' : r.got === 'violated')).map((r) => r.id);
  const unproven = use === 'got' && rows.some((r) => r.got === 'no-violation-found');
  const parts = violated.length > 0 ? violated : [unproven ? 'no violation found' : 'all hold'];
  if (deadlock) parts.push('deadlock');
  return parts.join(', ');
}

export function catalogText(rows: readonly CatalogRow[], timing: boolean): string {
  const out = renderTable([
    ['scenario', 'expected', 'got', 'executions', ...(timing ? ['time'] : [])],
    ...rows.map((r) => [
      r.file,
      r.expected,
      r.got,
      `${r.executions}${r.exhaustive ? '' : '+'}`,
      ...(timing ? [`${(r.elapsedMs / 1000).toFixed(2)} s`] : []),
      [r.ok ? '' : 'MISMATCH', r.error ?? ''].filter(Boolean).join('  '),
    ]),
  ], { columns: [{ width: 8 }, { width: 8 }, { width: 3 }, { align: 'right', width: 10 }, ...(timing ? [{}] : []), {}] });
  const bad = rows.filter((r) => !r.ok).length;
  out.push('');
  out.push(`${rows.length - bad} passed, ${bad} failed`);
  return out.join('\n');
}
