/** Timed replay in the API: a checker's schedule, replayed in the simulator on a machine profile. */
import type { Schedule } from '../core/schedule.js';
import type { LoadedScenario } from '../scenarios/resolve.js';
import type { SimConfig } from '../simulation/run.js';
import { replayTimedScenario, type TimedReplay } from '../simulation/timed-replay.js';

export type { TimedReplay, TimedWindow, TimedCpu } from '../simulation/timed-replay.js';

/**
 * Re-execute a loaded scenario (loaded for checking: the schedule's thread ids are the checker's)
 * along `schedule`, timing each step on the profile of `sim` (default: the scenario's `sim:`
 * section, else the arch's default profile).
 */
export function replayTimedLoaded(scenario: LoadedScenario, schedule: Schedule, sim: Partial<SimConfig> = {}): TimedReplay {
  return replayTimedScenario(scenario, schedule, sim);
}
