/**
 * Shared helpers for the checker tests: explore a program with one reduction and collect the
 * Mazurkiewicz traces and final states of its complete executions.
 */
import { Explorer } from '../../../src/engines/check/dpor.js';
import type { Reduction } from '../../../src/engines/check/index.js';
import type { Execution, Program } from '../../../src/core/index.js';

/**
 * A canonical key of an execution's Mazurkiewicz trace: for each location, the order of the
 * conflicting accesses to it (each as thread.seq and read/write), which determines the trace.
 */
export function traceKey(exec: Execution): string {
  const seq = new Map<number, number>();
  const perLoc = new Map<string, string[]>();
  for (const r of exec.trace) {
    const n = (seq.get(r.thread) ?? 0) + 1;
    seq.set(r.thread, n);
    const tag = `${r.thread}.${n}`;
    for (const l of r.reads) perLoc.set(l, [...(perLoc.get(l) ?? []), `${tag}r`]);
    for (const [l] of r.writes) perLoc.set(l, [...(perLoc.get(l) ?? []), `${tag}w`]);
  }
  // Reads between two writes commute: sort each run of reads.
  const parts: string[] = [];
  for (const [l, acc] of [...perLoc].sort()) {
    const out: string[] = [];
    let run: string[] = [];
    for (const a of acc) {
      if (a.endsWith('r')) run.push(a);
      else {
        out.push(...run.sort(), a);
        run = [];
      }
    }
    out.push(...run.sort());
    parts.push(`${l}:${out.join(',')}`);
  }
  return parts.join(';');
}

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
      const key = traceKey(exec);
      keys.add(key);
      if (exec.finished) finished.add(key);
      finals.add(JSON.stringify(exec.snapshot()));
    },
  }).run();
  return { ...r, keys, finished, finals };
}

export const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
