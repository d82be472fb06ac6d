/**
 * Shared helpers for the checker tests: explore a program with one reduction and collect the
 * Mazurkiewicz traces (test/toys/trace-key.ts) and final states of its complete executions.
 */
import { Explorer } from '../../../src/engines/check/dpor.js';
import type { Reduction } from '../../../src/engines/check/index.js';
import type { Program } from '../../../src/core/index.js';
import { traceKey } from '../../toys/trace-key.js';

/**
 * Explore `p` exhaustively; the result with the trace keys and final states (as JSON) of its
 * complete executions, and the keys of those that finished (did not deadlock).
 */
export function explore(p: Program, reduction: Reduction) {
  const keys = new Set<string>();
  const finished = new Set<string>();
  const finals = new Set<string>();
  const r = new Explorer(p, {
    reduction,
    onComplete: (exec) => {
      const key = traceKey(exec.trace);
      keys.add(key);
      if (exec.finished) finished.add(key);
      finals.add(JSON.stringify(exec.snapshot()));
    },
  }).run();
  return { ...r, keys, finished, finals };
}

export const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
