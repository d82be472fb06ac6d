/**
 * The limits an untrusted scenario is held to, wherever it runs (the CLI, the browser explorer):
 * CPUs (MAX_CPUS, checked when the scenario is resolved), steps per execution (the scenario's
 * check.max_steps), the scenario text's size, the schedule's length, and the executions of an
 * exhaustive check.
 */
export { MAX_CPUS } from '../scenarios/resolve.js';
export { MAX_SCENARIO_BYTES } from '../scenarios/loader.js';
export { MAX_SCHEDULE_STEPS } from '../core/schedule.js';

/** Executions an exhaustive check may run when --max-executions is not given. */
export const EXECUTION_LIMIT = 100_000_000;
