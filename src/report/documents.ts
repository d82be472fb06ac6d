/**
 * The JSON documents `ptlab sim --json` (`ptlab.sim/1`) and `ptlab compare --json`
 * (`ptlab.compare/2`) print, built from the API's runs (docs/json.md). Moved out of the CLI so
 * that the HTML report (and the sweep's store) hold exactly what the CLI prints.
 */
import type { LoadedScenario, ResolvedScenario } from '../scenarios/resolve.js';
import type { SimRun } from '../simulation/run.js';
import { compareStats, type CompareGroup } from './compare.js';

/** `ptlab.sim/1`: one simulation run. */
export function simJson(s: ResolvedScenario, run: SimRun): unknown {
  return {
    schema: 'ptlab.sim/1',
    scenario: s,
    sim: run.sim,
    time_ns: run.result.time,
    steps: run.result.steps,
    stop: run.result.stop,
    complete: run.complete,
    metrics: run.metrics,
    violations: run.result.violations,
  };
}

/** One run of a comparison, as compareScenario() returns them. */
export interface CompareRunInput {
  readonly strategy: string;
  readonly seed: number;
  readonly scenario: LoadedScenario;
  readonly run: SimRun;
}

/** The strategies' runs grouped for the summary rows, in the order the runs came. */
export function compareGroups(runs: readonly CompareRunInput[]): CompareGroup[] {
  const ids = [...new Set(runs.map((r) => r.strategy))];
  return ids.map((strategy) => ({
    strategy,
    runs: runs.filter((r) => r.strategy === strategy).map((r) => ({ strategy, metrics: r.run.metrics, violations: r.run.result.violations.length, time: r.run.result.time })),
  }));
}

/** `ptlab.compare/2`: every run of a comparison and the summary rows the text prints. */
export function compareJson(runs: readonly CompareRunInput[]): unknown {
  const first = runs[0];
  if (!first) throw new Error('compareJson: no runs');
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const strategyIds = [...new Set(runs.map((r) => r.strategy))];
  const work = first.run.sim.work;
  return {
    schema: 'ptlab.compare/2',
    mode: work !== null ? { work, time_limit_ns: first.run.sim.duration } : { duration_ns: first.run.sim.duration },
    seeds,
    strategies: strategyIds,
    rows: compareStats(first.scenario.resolved, compareGroups(runs)).map((r) => ({
      label: r.label,
      cells: Object.fromEntries(r.cells.map((c, i) => [strategyIds[i], { values: c.values, mean: c.summary?.mean ?? null, ci95: c.summary?.ci95 ?? null, differs_from_first: c.differsFromFirst }])),
    })),
    runs: runs.map((r) => ({ strategy: r.strategy, seed: r.seed, ...(simJson(r.scenario.resolved, r.run) as object) })),
  };
}
