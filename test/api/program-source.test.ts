/**
 * A scenario's program rebuilt in worker threads (src/api/program-source.ts) explores exactly as
 * the one of the main thread: the JSON results of a split run are byte for byte those of the run
 * on one thread, for a scenario that holds and for one that is violated, and the CLI's --jobs
 * prints the same.
 */
import { describe, expect, it } from 'vitest';
import { checkScenario, compare, openScenario } from '../../src/api/index.js';
import { programSourceOf } from '../../src/api/program-source.js';
import { check } from '../../src/engines/check/index.js';
import { WorkerDelegation } from '../../src/engines/check/workers.js';
import { checkJson, reportInputOf } from '../../src/report/check.js';

const SCENARIOS = ['scenarios/check/spin/a+n2+w1.yaml', 'scenarios/check/spin/c+n2+w1.yaml', 'scenarios/check/spin/d-pv+n1+w1.yaml'];

describe('scenario programs on worker threads', () => {
  it.each(SCENARIOS)('%s: the same JSON on 2 threads as on 1', async (file) => {
    const one = checkScenario(file, { reduction: 'source-dpor', stopWhenAllViolated: true });
    const scenario = openScenario(file);
    const workers = new WorkerDelegation(scenario.program, programSourceOf(scenario), 2);
    try {
      await workers.ready();
      const result = check(scenario.program, { reduction: 'source-dpor', stopWhenAllViolated: true, stopNeedsDeadlock: scenario.expect.deadlock === true, delegation: workers });
      const two = { scenario, result, comparison: compare(scenario.expect, result), elapsedMs: 0, threads: 2 };
      expect(JSON.stringify(checkJson(reportInputOf(two)))).toBe(JSON.stringify(checkJson(reportInputOf(one))));
      expect(two.comparison.ok).toBe(true);
      // The scenario that holds is explored to the end: the worker took part.
      if (file.includes('/a+')) expect(workers.work()[1]?.executions).toBeGreaterThan(0);
    } finally {
      workers.close();
    }
  }, 60_000);

  it('leaves out what is not the scenario (callbacks, signals) from what the workers get', () => {
    const scenario = openScenario('scenarios/check/spin/a+n2+w1.yaml', { set: ['batch_alloc=fails'], onProgress: () => undefined } as never);
    const source = programSourceOf(scenario);
    expect(() => structuredClone(source)).not.toThrow();
    expect(source.args).toMatchObject({ file: 'scenarios/check/spin/a+n2+w1.yaml', overrides: { set: ['batch_alloc=fails'] } });
  });
});
