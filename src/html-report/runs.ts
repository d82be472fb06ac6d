/**
 * One `ptlab sim` or `ptlab compare` run as PointRecords, for `--html`: the same documents
 * `--json` prints, as a study of one point named after the scenario.
 */
import { readFileSync } from 'node:fs';
import { compareJson, type CompareRun as CompareRunInput } from '../report/compare.js';
import { simJson } from '../report/sim.js';
import type { ResolvedScenario } from '../scenarios/resolve.js';
import type { SimRun } from '../simulation/run.js';
import type { PointRecord } from './record.js';

/** The package's version, as results record it. */
export function ptlabVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** A `ptlab sim` run as one record. */
export function simRecord(scenario: ResolvedScenario, run: SimRun): PointRecord {
  return { study: scenario.name, index: 0, key: 'sim', axes: {}, kind: 'sim', scenario, result: simJson(scenario, run), ptlabVersion: ptlabVersion() };
}

/** A `ptlab compare` run (every strategy and seed) as one record. */
export function compareRecord(runs: readonly CompareRunInput[]): PointRecord {
  const first = runs[0];
  if (!first) throw new Error('compareRecord: no runs');
  const scenario = first.scenario.resolved;
  return { study: scenario.name, index: 0, key: 'compare', axes: {}, kind: 'compare', scenario, result: compareJson(runs), ptlabVersion: ptlabVersion() };
}
