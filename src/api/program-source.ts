/**
 * A scenario's program, rebuilt in a worker thread of a split exploration
 * (src/engines/check/workers.ts): the worker imports this module and calls scenarioProgram()
 * with the scenario's file name, its validated data and its overrides, all structured-cloneable.
 */
import type { Program } from '../core/execution.js';
import type { ProgramSource } from '../engines/check/workers.js';
import { scenarioFromData } from '../scenarios/loader.js';
import { resolveScenario, type LoadedScenario, type Overrides } from '../scenarios/resolve.js';
// Strategy files named by the scenario or --strategy load in the worker too.
import '../scenarios/strategy-file.js';

export interface ScenarioProgramArgs {
  readonly file: string;
  readonly data: unknown;
  readonly overrides: Overrides;
}

/** The program of a scenario given as data (a worker's ProgramSource). */
export function scenarioProgram(args: ScenarioProgramArgs): Program {
  return resolveScenario(scenarioFromData(args.data, args.file), args.overrides).program;
}

/** How a worker rebuilds `scenario`'s program. */
export function programSourceOf(scenario: LoadedScenario): ProgramSource {
  // The overrides alone: what else came with them (callbacks, a signal) stays on this thread.
  const { purpose, preset, set, work, maxCpus, maxSteps } = scenario.overrides;
  const overrides: Overrides = { purpose, preset, set, work, maxCpus, maxSteps };
  const args: ScenarioProgramArgs = { file: scenario.file.file, data: scenario.file.data, overrides: JSON.parse(JSON.stringify(overrides)) as Overrides };
  return { module: import.meta.url, name: 'scenarioProgram', args };
}
