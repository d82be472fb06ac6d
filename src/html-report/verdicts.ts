/**
 * Check points as a verdict matrix: one row per configuration, one column per architecture and
 * strategy; each violated invariant in a cell links to its counterexample (the per-CPU trace
 * `ptlab check` prints, the one-line schedule for `ptlab replay`, and a Perfetto file written
 * beside the report).
 */
import type { StepRecord } from '../core/trace.js';
import type { Value } from '../core/value.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import { perfettoTrace } from '../report/perfetto.js';
import { renderTrace } from '../report/trace-text.js';
import { distinct } from './data.js';
import type { PointRecord } from './record.js';

/** A counterexample as `ptlab.check/2` prints it (docs/json.md). */
interface CxDoc {
  readonly violation: { readonly property: string; readonly step: number; readonly message: string } | null;
  readonly schedule: string;
  readonly blocked: readonly number[];
  readonly threads: ReadonlyArray<{ readonly id: number; readonly name: string; readonly kind: string; readonly cpu: number | null }>;
  readonly steps: ReadonlyArray<{
    readonly index: number;
    readonly thread: number;
    readonly cpu: number | null;
    readonly kind: StepRecord['kind'];
    readonly fn: string;
    readonly desc: string;
    readonly note?: string;
    readonly choice?: StepRecord['choice'];
    readonly spawned?: number;
    readonly reads: readonly string[];
    readonly writes: ReadonlyArray<{ readonly loc: string; readonly value: Value }>;
    readonly events: StepRecord['events'];
  }>;
}

interface CheckDoc {
  readonly scenario: ResolvedScenario;
  readonly exhaustive: boolean;
  readonly stats: { readonly executions: number };
  readonly verdicts: ReadonlyArray<{ readonly id: string; readonly status: 'holds' | 'violated' | 'no-violation-found'; readonly expected: string | null; readonly match: boolean; readonly counterexample: CxDoc | null }>;
  readonly deadlock: { readonly expected: boolean | null; readonly found: boolean; readonly match: boolean; readonly counterexample: CxDoc | null };
  readonly ok: boolean;
}

/** One counterexample of the report, with what its section shows. */
export interface CounterexampleView {
  /** Anchor in the report and stem of its Perfetto file. */
  readonly id: string;
  readonly property: string;
  readonly point: PointRecord;
  readonly title: string;
  readonly message: string;
  readonly schedule: string;
  readonly replay: string;
  readonly perCpu: string;
  readonly steps: number;
  /** The Chrome/Perfetto trace (JSON text) to write beside the report. */
  readonly perfetto: string;
}

export interface MatrixCell {
  readonly status: 'violated' | 'holds' | 'no violation found';
  /** Violated invariants (and `deadlock`), each with its counterexample's anchor. */
  readonly violated: ReadonlyArray<{ readonly property: string; readonly anchor: string | null }>;
  readonly ok: boolean;
  readonly executions: number;
  readonly exhaustive: boolean;
}

export interface VerdictMatrix {
  readonly columns: ReadonlyArray<{ readonly arch: string; readonly strategy: string }>;
  readonly rows: ReadonlyArray<{ readonly config: string; readonly cells: ReadonlyArray<MatrixCell | null> }>;
  readonly counterexamples: readonly CounterexampleView[];
}

const STRATEGY_AXES = ['strategy', 'preset'];
const ARCH_AXES = ['arch'];
const SKIP_AXES = ['seed', 'seeds'];

/** Steps of a counterexample as the text and Perfetto writers take them. */
function traceOf(cx: CxDoc): StepRecord[] {
  const names = cx.threads.map((t) => t.name);
  const kinds = cx.threads.map((t) => t.kind);
  return cx.steps.map((s) => ({
    index: s.index,
    thread: s.thread,
    threadName: names[s.thread] ?? `thread ${s.thread}`,
    threadKind: kinds[s.thread] as StepRecord['threadKind'],
    cpu: s.cpu,
    kind: s.kind,
    fn: s.fn,
    desc: s.desc,
    ...(s.note !== undefined ? { note: s.note } : {}),
    ...(s.choice ? { choice: s.choice } : {}),
    ...(s.spawned !== undefined ? { spawned: s.spawned } : {}),
    reads: s.reads,
    writes: s.writes.map((w) => [w.loc, w.value] as const),
    events: s.events,
  }));
}

/** Shell-quote a word for the replay command line. */
function sh(s: string): string {
  return /^[\w./=,:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function counterexample(point: PointRecord, doc: CheckDoc, property: string, cx: CxDoc, label: string): CounterexampleView {
  const s = doc.scenario;
  const id = `cx-${point.index}-${property}`.replace(/[^\w.-]/g, '_');
  const full = traceOf(cx);
  const trace = cx.violation ? full.slice(0, cx.violation.step + 1) : full;
  const view = {
    trace,
    threadNames: cx.threads.map((t) => t.name),
    threadKinds: cx.threads.map((t) => t.kind),
    threadCpus: cx.threads.map((t) => t.cpu),
    cpus: s.cpus,
  };
  // The point's knob axes are `--set`s (a knob is a key of the resolved config); its preset is the resolved one.
  const sets = Object.entries(point.axes).filter(([k]) => Object.prototype.hasOwnProperty.call(s.config, k)).map(([k, v]) => `--set ${sh(`${k}=${String(v)}`)}`);
  const replay = ['ptlab replay', sh(s.file), ...(s.preset ? [`--preset ${sh(s.preset)}`] : []), ...sets, `--schedule ${sh(cx.schedule)}`].join(' ');
  const message = cx.violation ? cx.violation.message : `deadlock: no thread can run; blocked: ${cx.blocked.map((t) => `${cx.threads[t]?.name ?? t} (thread ${t})`).join(', ')}`;
  return {
    id,
    property,
    point,
    title: `${s.name}: ${property} (${s.arch}, ${s.preset ?? 'no preset'})`,
    message,
    schedule: cx.schedule,
    replay,
    perCpu: renderTrace({ ...view, mark: cx.violation ? { step: cx.violation.step, label } : undefined }, 200),
    steps: trace.length,
    perfetto: JSON.stringify(perfettoTrace({
      ...view,
      title: `${s.name}: ${property}`,
      violation: cx.violation ? { step: cx.violation.step, property: cx.violation.property, message: cx.violation.message } : undefined,
    })),
  };
}

/** The verdict matrix of the check points (null when there are none). */
export function verdictMatrix(records: readonly PointRecord[]): VerdictMatrix | null {
  const checks = records.filter((r) => r.kind === 'check');
  if (checks.length === 0) return null;
  const docs = checks.map((p) => ({ p, d: p.result as CheckDoc }));
  const strategyOf = (p: PointRecord, d: CheckDoc): string => {
    const a = STRATEGY_AXES.map((k) => p.axes[k]).find((v) => v !== undefined);
    return a !== undefined ? String(a) : (d.scenario.preset ?? '(no preset)');
  };
  const archOf = (p: PointRecord, d: CheckDoc): string => String(p.axes.arch ?? d.scenario.arch);
  const configOf = (p: PointRecord, d: CheckDoc): string => {
    const rest = Object.entries(p.axes).filter(([k]) => !STRATEGY_AXES.includes(k) && !ARCH_AXES.includes(k) && !SKIP_AXES.includes(k)).map(([k, v]) => `${k}=${String(v)}`);
    // The other axes name the configuration; without any, the scenario does (a catalog study).
    return rest.length > 0 ? rest.join(', ') : d.scenario.name;
  };
  const columns = distinct(docs.map(({ p, d }) => JSON.stringify([archOf(p, d), strategyOf(p, d)]))).map((k) => {
    const [arch, strategy] = JSON.parse(k) as [string, string];
    return { arch, strategy };
  });
  // Columns grouped by architecture (first-seen order of arches, then of strategies).
  const arches = distinct(columns.map((c) => c.arch));
  columns.sort((a, b) => arches.indexOf(a.arch) - arches.indexOf(b.arch));
  const configs = distinct(docs.map(({ p, d }) => configOf(p, d)));
  const cells = new Map<string, MatrixCell>();
  const cxs: CounterexampleView[] = [];
  for (const { p, d } of docs) {
    const violated: Array<{ property: string; anchor: string | null }> = [];
    for (const v of d.verdicts) {
      if (v.status !== 'violated') continue;
      const cx = v.counterexample ? counterexample(p, d, v.id, v.counterexample, v.id) : null;
      if (cx) cxs.push(cx);
      violated.push({ property: v.id, anchor: cx ? cx.id : null });
    }
    if (d.deadlock.found) {
      const cx = d.deadlock.counterexample ? counterexample(p, d, 'deadlock', d.deadlock.counterexample, 'deadlock') : null;
      if (cx) cxs.push(cx);
      violated.push({ property: 'deadlock', anchor: cx ? cx.id : null });
    }
    const status = violated.length > 0 ? 'violated' : d.verdicts.some((v) => v.status === 'no-violation-found') ? 'no violation found' : 'holds';
    cells.set(JSON.stringify([configOf(p, d), archOf(p, d), strategyOf(p, d)]), { status, violated, ok: d.ok, executions: d.stats.executions, exhaustive: d.exhaustive });
  }
  return {
    columns,
    rows: configs.map((config) => ({ config, cells: columns.map((c) => cells.get(JSON.stringify([config, c.arch, c.strategy])) ?? null) })),
    counterexamples: cxs,
  };
}
