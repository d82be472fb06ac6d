/**
 * A small study built through the library API, as the sweep would store it: one sim point per
 * strategy × CPU count × seed of munmap-under-pressure (fixed work: 2 rounds of each workload CPU's list), and one
 * check point per strategy × arch × batch allocation of the munmap-vs-gup-fast catalog.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { checkScenario, simScenario } from '../../src/api/index.js';
import type { ScenarioInput } from '../../src/scenarios/schema.js';
import { checkJson, reportInputOf } from '../../src/report/check.js';
import { simJson } from '../../src/report/sim.js';
import type { PointRecord } from '../../src/html-report/record.js';
import { ptlabVersion } from '../../src/html-report/runs.js';

export const STRATEGIES = ['broadcast-ipi', 'sync-rcu', 'skip-redundant-ipi'] as const;
export const CPU_COUNTS = [12, 16] as const;
export const SEEDS = [1, 2] as const;
export const CHECK_STRATEGIES = ['no-sync', 'sync-rcu', 'skip-redundant-ipi'] as const;
export const CHECK_ARCHES = ['arm64', 'x86'] as const;
export const CHECK_BATCH = ['fails', 'succeeds'] as const;

const SIM_FILE = 'scenarios/sim/munmap-under-pressure.yaml';

/** munmap-under-pressure on `cpus` CPUs: its idle CPUs (the `{}` lines at the end) trimmed. */
function scenarioOn(cpus: number): ScenarioInput {
  const data = parse(readFileSync(SIM_FILE, 'utf8')) as { machine: { cpus: number }; cpus: unknown[] };
  const drop = data.cpus.length - cpus;
  if (drop < 0 || data.cpus.slice(cpus).some((c) => JSON.stringify(c) !== '{}')) throw new Error(`cannot trim ${SIM_FILE} to ${cpus} CPUs`);
  return { ...data, machine: { ...data.machine, cpus }, cpus: data.cpus.slice(0, cpus) } as unknown as ScenarioInput;
}

export function simRecords(): PointRecord[] {
  const out: PointRecord[] = [];
  for (const cpus of CPU_COUNTS) {
    const scenario = scenarioOn(cpus);
    for (const strategy of STRATEGIES) {
      for (const seed of SEEDS) {
        const { scenario: s, run } = simScenario(scenario, { preset: strategy, name: SIM_FILE }, { seed, work: 2 });
        const axes = { strategy, cpus, seed };
        out.push({ study: 'munmap-cost', index: out.length, key: JSON.stringify(axes), axes, kind: 'sim', scenario: s.resolved, result: simJson(s.resolved, run), ptlabVersion: ptlabVersion() });
      }
    }
  }
  return out;
}

export function checkRecords(): PointRecord[] {
  const out: PointRecord[] = [];
  for (const strategy of CHECK_STRATEGIES) {
    for (const arch of CHECK_ARCHES) {
      for (const batch of CHECK_BATCH) {
        const file = `scenarios/check/munmap-vs-gup-fast/${strategy}+${arch}+batch-${batch}.yaml`;
        const run = checkScenario(file, { stopWhenAllViolated: true });
        const axes = { strategy, arch, batch_alloc: batch };
        out.push({ study: 'munmap-verdicts', index: out.length, key: JSON.stringify(axes), axes, kind: 'check', scenario: run.scenario.resolved, result: checkJson(reportInputOf(run)), ptlabVersion: ptlabVersion() });
      }
    }
  }
  return out;
}
