/**
 * Running one point of a study through the library API: the JSON document `ptlab sim|compare|
 * check --json` prints for it (the same options as the command's defaults), and its resolved
 * scenario. Used by the pool's workers and by `ptlab worker`.
 */
import { check, checkReport, compareReport, compareStrategies, loadScenario, simReport, simulate } from '../index.js';
import { EXECUTION_LIMIT } from '../cli/limits.js';
import type { PointTask } from './study.js';

export interface PointOutcome {
  /** The result document, as JSON text. */
  readonly result: string;
  /** The resolved scenario, as JSON text. */
  readonly scenario: string;
  readonly elapsedMs: number;
}

/** A point that failed: its message (the sweep stops and says which point). */
export class PointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PointError';
  }
}

export function runPoint(task: PointTask): PointOutcome {
  const t0 = performance.now();
  const common = { set: [...task.set], name: task.label, ...(task.maxCpus !== undefined ? { maxCpus: task.maxCpus } : {}) };
  const withPreset = { ...common, ...(task.preset !== undefined ? { preset: task.preset } : {}) };
  let doc: unknown;
  const resolved = loadScenario(task.scenario, { ...withPreset, purpose: task.kind === 'check' ? 'check' : 'sim' }).resolved;
  if (task.kind === 'sim') {
    const work = (task.scenario as { sim?: { work?: number } }).sim?.work;
    doc = simReport(simulate(task.scenario, { ...withPreset, ...(work !== undefined ? { work } : {}) }));
  } else if (task.kind === 'compare') {
    const c = task.compare ?? { fixedTime: false };
    doc = compareReport(compareStrategies(task.scenario, c.strategies, { ...common, fixedTime: c.fixedTime, ...(c.seeds ? { seeds: c.seeds } : {}) }));
  } else {
    const limited = task.maxExecutions === undefined;
    // As `ptlab check --json` does: source-set DPOR (here on the point's one thread: the same results), stopping at the answer.
    const run = check(task.scenario, { ...withPreset, reduction: 'source-dpor', stopWhenAllViolated: true, maxExecutions: task.maxExecutions ?? EXECUTION_LIMIT });
    if (limited && run.result.stopped === 'max-executions') throw new PointError(`${task.label}: stopped at the limit of ${EXECUTION_LIMIT.toLocaleString('en-US')} executions (check.max_executions in the study for a bounded run)`);
    doc = checkReport(run);
  }
  return { result: JSON.stringify(doc), scenario: JSON.stringify(resolved), elapsedMs: performance.now() - t0 };
}
