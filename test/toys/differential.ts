/**
 * Differential testing of the checker: explore one program without reduction (every
 * interleaving: the ground truth) and with each partial-order reduction, and list where they
 * disagree. A reduction must reach the same final states (store, and which threads are stuck
 * where), give every property the same verdict, find the same deadlocks, reach the same
 * Mazurkiewicz traces, and explore each trace at most once among its complete executions (the
 * only redundant work it may do is a sleep-set blocked execution, counted apart).
 */
import type { Execution, Program } from '../../src/core/index.js';
import { Explorer, type ExploreStats } from '../../src/engines/check/dpor.js';
import type { Reduction } from '../../src/engines/check/index.js';
import { toProgram } from './program-interpreter.js';
import type { ProgramSpec } from './program-spec.js';
import { finalStateKey, traceKey } from './trace-key.js';

export type ReducedBy = Exclude<Reduction, 'none'>;
export const REDUCTIONS: readonly ReducedBy[] = ['dpor', 'source-dpor'];

export type DisagreementKind =
  /** The exploration threw. */
  | 'error'
  /** It explored more executions than there are interleavings. */
  | 'not-exhaustive'
  | 'final-states'
  | 'verdicts'
  | 'deadlocks'
  /** It missed (or invented) a Mazurkiewicz trace. */
  | 'traces'
  /** Two of its complete executions are the same trace. */
  | 'redundant'
  /**
   * Stopped at the answer (stopWhenAllViolated), it claimed a verdict the full exploration
   * contradicts, stopped with a property not yet violated, or worked more than the full run.
   */
  | 'early-stop'
  /**
   * The oracle contradicts itself: two executions with the same trace key end in different final
   * states or with different violations (the key's dependence relation misses a dependence).
   */
  | 'oracle';

export interface Disagreement {
  readonly reduction: Reduction;
  readonly kind: DisagreementKind;
  /** One line, e.g. `dpor: final states: missing {"x":1}`. */
  readonly message: string;
}

/** What one exploration found, as sets of keys. */
export interface Exploration {
  readonly stats: ExploreStats;
  readonly exhaustive: boolean;
  readonly finals: ReadonlySet<string>;
  readonly deadlocks: ReadonlySet<string>;
  readonly anyDeadlock: boolean;
  /** Property id to violated or not. */
  readonly verdicts: ReadonlyMap<string, boolean>;
  readonly traces: ReadonlySet<string>;
  /** Traces whose executions disagree on the final state or the violations (see 'oracle'). */
  readonly inconsistent: readonly string[];
}

export interface Comparison {
  /** 'none' needed more than the cap: nothing compared. */
  readonly skipped: boolean;
  readonly disagreements: readonly Disagreement[];
  /** Each exploration's statistics (absent if it threw). */
  readonly stats: Partial<Record<Reduction, ExploreStats>>;
}

export interface CompareOptions {
  /** Executions 'none' may take before the program is skipped. */
  readonly cap?: number;
  /** The reductions to compare with 'none' (both by default; none: only the oracle's self-check). */
  readonly reductions?: readonly ReducedBy[];
}

export const DEFAULT_CAP = 2000;

export function explore(program: Program, reduction: Reduction, maxExecutions: number): Exploration {
  const finals = new Set<string>();
  const deadlocks = new Set<string>();
  /** Per trace: the final state and violations of its first execution. */
  const traces = new Map<string, string>();
  const inconsistent: string[] = [];
  const onComplete = (exec: Execution): void => {
    const state = finalStateKey(exec);
    finals.add(state);
    if (!exec.finished) deadlocks.add(state);
    const key = traceKey(exec.trace);
    const outcome = `${state} violated: ${[...new Set(exec.violations.map((v) => v.property))].sort().join(' ')}`;
    const seen = traces.get(key);
    if (seen === undefined) traces.set(key, outcome);
    else if (seen !== outcome) inconsistent.push(`[${key}] ends in [${seen}] and in [${outcome}]`);
  };
  const r = new Explorer(program, { reduction, maxExecutions, onComplete }).run();
  const verdicts = new Map(program.properties.map((p) => [p.id, r.violations.has(p.id)]));
  return { stats: r.stats, exhaustive: r.exhaustive, finals, deadlocks, anyDeadlock: r.deadlock !== null, verdicts, traces: new Set(traces.keys()), inconsistent };
}

/** Explore `spec` with every reduction and list the disagreements with 'none'. */
export function compareReductions(spec: ProgramSpec, opts: CompareOptions = {}): Comparison {
  const program = toProgram(spec);
  const stats: Partial<Record<Reduction, ExploreStats>> = {};
  let truth: Exploration;
  try {
    truth = explore(program, 'none', opts.cap ?? DEFAULT_CAP);
  } catch (e) {
    return { skipped: false, disagreements: [{ reduction: 'none', kind: 'error', message: `none: threw ${errorText(e)}` }], stats };
  }
  stats.none = truth.stats;
  if (!truth.exhaustive) return { skipped: true, disagreements: [], stats };
  const disagreements: Disagreement[] = [];
  for (const message of truth.inconsistent.slice(0, 3)) disagreements.push({ reduction: 'none', kind: 'oracle', message: `none: trace ${message}` });
  for (const reduction of opts.reductions ?? REDUCTIONS) {
    const out = (kind: DisagreementKind, message: string): void => {
      disagreements.push({ reduction, kind, message: `${reduction}: ${message}` });
    };
    let got: Exploration;
    try {
      // Sleep-set exploration never has more leaves than the full tree: one more is a runaway.
      got = explore(program, reduction, truth.stats.executions + 1);
    } catch (e) {
      out('error', `threw ${errorText(e)}`);
      continue;
    }
    stats[reduction] = got.stats;
    if (!got.exhaustive) out('not-exhaustive', `more than ${truth.stats.executions} executions, as many as 'none' needs for every interleaving`);
    const finals = setDiff(truth.finals, got.finals);
    if (finals) out('final-states', `final states ${finals}`);
    for (const [id, violated] of truth.verdicts) {
      const v = got.verdicts.get(id);
      if (v !== violated) out('verdicts', `${id} ${verdict(v)}, none: ${verdict(violated)}`);
    }
    const deadlocks = setDiff(truth.deadlocks, got.deadlocks);
    if (got.anyDeadlock !== truth.anyDeadlock) out('deadlocks', `deadlock ${got.anyDeadlock ? 'found' : 'not found'}, none: ${truth.anyDeadlock ? 'found' : 'not found'}`);
    else if (deadlocks) out('deadlocks', `deadlocked states ${deadlocks}`);
    const traces = setDiff(truth.traces, got.traces);
    if (traces) out('traces', `traces ${traces}`);
    if (got.stats.complete !== got.traces.size) out('redundant', `${got.stats.complete} complete executions of ${got.traces.size} distinct traces`);
    // The same reduction stopped at the answer (ptlab check's default).
    try {
      const early = new Explorer(program, { reduction, stopWhenAllViolated: true, maxExecutions: got.stats.executions + 1 }).run();
      if (early.stats.executions > got.stats.executions) out('early-stop', `stopping at the answer took ${early.stats.executions} executions, the full run ${got.stats.executions}`);
      for (const [id, violated] of truth.verdicts) {
        const v = early.violations.has(id);
        // Stopped: every property must be violated. Not stopped: it is the full exploration.
        if (v !== violated) out('early-stop', `${id} ${v ? 'violated' : early.exhaustive ? 'holds' : 'not violated when it stopped'}, none: ${verdict(violated)}`);
      }
      if (early.stopped === 'all-violated' && program.properties.length === 0 && !truth.anyDeadlock) out('early-stop', 'stopped at a deadlock none does not find');
      if (early.exhaustive && (early.deadlock !== null) !== truth.anyDeadlock) out('early-stop', `deadlock ${early.deadlock ? 'found' : 'not found'}, none: ${truth.anyDeadlock ? 'found' : 'not found'}`);
    } catch (e) {
      out('early-stop', `threw ${errorText(e)}`);
    }
  }
  return { skipped: false, disagreements, stats };
}

function verdict(violated: boolean | undefined): string {
  return violated === undefined ? 'missing' : violated ? 'violated' : 'holds';
}

/** "missing a, b; extra c" (at most three of each), or null when the sets are equal. */
function setDiff(expected: ReadonlySet<string>, got: ReadonlySet<string>): string | null {
  const missing = [...expected].filter((k) => !got.has(k)).sort();
  const extra = [...got].filter((k) => !expected.has(k)).sort();
  if (missing.length === 0 && extra.length === 0) return null;
  const list = (what: string, keys: string[]): string =>
    keys.length === 0 ? '' : `${what} ${keys.slice(0, 3).map((k) => `[${k}]`).join(', ')}${keys.length > 3 ? ` and ${keys.length - 3} more` : ''}`;
  return [list(`missing ${missing.length} of ${expected.size}:`, missing), list(`extra ${extra.length}:`, extra)].filter((s) => s !== '').join('; ');
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
