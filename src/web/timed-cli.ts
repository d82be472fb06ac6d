/** `ptlab replay S.yaml --schedule S --timed [--profile P] [--json]`: the schedule in time. */
import { decodeSchedule, encodeSchedule, loadScenario, replayTimed, SimConfigError, timedReplayJson, timedReplayText } from '../index.js';

export interface TimedReplayFlags {
  readonly schedule: string;
  readonly preset?: string;
  readonly set: string[];
  readonly timed?: boolean;
  readonly profile?: string;
  readonly json?: boolean;
}

/** Exit code: 0 when the schedule violates nothing the scenario does not expect, else 1 (as replay). */
export function runTimedReplay(file: string, flags: TimedReplayFlags, out: (s: string) => void): number {
  if (!flags.timed) throw new SimConfigError(`--${flags.profile !== undefined ? 'profile' : 'json'} goes with --timed`);
  const schedule = decodeSchedule(flags.schedule);
  const scenario = loadScenario(file, { ...(flags.preset !== undefined ? { preset: flags.preset } : {}), set: flags.set });
  const { timed } = replayTimed(scenario, schedule, flags.profile !== undefined ? { profile: flags.profile } : {});
  const text = encodeSchedule(schedule);
  out(flags.json ? JSON.stringify(timedReplayJson(scenario.resolved, text, timed), null, 2) : timedReplayText(scenario.resolved, text, timed));
  const unexpected = timed.exec.violations.some((v) => scenario.expect.invariants[v.property] !== 'violated');
  return unexpected ? 1 : 0;
}

