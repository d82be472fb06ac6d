/**
 * A worker of `check --catalog --jobs N`: checks one scenario and returns its catalog row (and
 * its JSON result), as the single-threaded loop in main.ts does.
 */
import { checkScenario } from '../api/index.js';
import type { CheckOptions } from '../engines/check/index.js';
import { checkJson, reportInputOf, verdictSummary, type CatalogRow } from '../report/check.js';
import type { Overrides } from '../scenarios/resolve.js';

export interface CatalogTask {
  readonly file: string;
  readonly opts: CheckOptions & Overrides;
  readonly json: boolean;
}

export interface CatalogOutcome {
  readonly row: CatalogRow;
  readonly json: unknown;
}

/** One scenario's row (and JSON result when asked for). */
export function catalogRow(task: CatalogTask, onProgress?: CheckOptions['onProgress']): CatalogOutcome {
  const run = checkScenario(task.file, { ...task.opts, onProgress });
  const c = run.comparison;
  const row: CatalogRow = {
    file: task.file,
    expected: verdictSummary(c.rows, c.deadlock.expected, 'expected'),
    got: verdictSummary(c.rows, c.deadlock.got, 'got'),
    ok: c.ok,
    executions: run.result.stats.executions,
    exhaustive: run.result.exhaustive,
    elapsedMs: run.elapsedMs,
  };
  const json = task.json ? checkJson(reportInputOf(run)) : null;
  return { row, json };
}

export default function (task: CatalogTask): CatalogOutcome {
  return catalogRow(task);
}
