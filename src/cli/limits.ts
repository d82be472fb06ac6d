/**
 * The limits a run is held to, each with a message and exit 2 when reached, and a flag to move
 * it: CPUs (--max-cpus; checked when the scenario is loaded, at its position), steps per
 * execution (--max-steps; the scenario's check.max_steps), executions of an exhaustive check
 * (--max-executions, which then gives a bounded verdict instead), and memory (--max-memory).
 */
import { EXECUTION_LIMIT, MAX_CPUS } from '../api/limits.js';

export { EXECUTION_LIMIT, MAX_CPUS };
/** Resident memory, in MB, a run may reach when --max-memory is not given. */
export const MEMORY_LIMIT_MB = 4096;

/** A limit reached: exit 2 with the message. */
export class LimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LimitError';
  }
}

/**
 * A function to call as a run progresses: it throws LimitError once the process's resident
 * memory is past `mb` (looked at every 256 calls, or on every call with `always`).
 */
export function memoryGuard(label: string, mb = MEMORY_LIMIT_MB, rss: () => number = () => process.memoryUsage.rss()): (always?: boolean) => void {
  let calls = 0;
  return (always = false) => {
    if (!always && ++calls % 256 !== 0) return;
    const used = rss() / 2 ** 20;
    if (used > mb) throw new LimitError(`${label}: stopped at ${Math.round(used)} MB of memory, past the limit of ${mb} MB (--max-memory MB to raise it)`);
  };
}

/** The error of an exhaustive or bounded check of `file` that reached EXECUTION_LIMIT without --max-executions. */
export function executionLimitError(file: string): LimitError {
  return new LimitError(`${file}: stopped at the limit of ${EXECUTION_LIMIT.toLocaleString('en-US')} executions (--max-executions N for a bounded run, --random N for a random one)`);
}
