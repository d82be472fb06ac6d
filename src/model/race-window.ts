/**
 * The race window of a counterexample, in kernel terms: the step that opened it and the step
 * where it closed on a reader (the violating step). For a walker that read a freed or reused
 * page-table page (or a TLB / walk-cache entry left pointing at one), the window opens when that
 * table was unhooked from its parent entry (pmd_clear() and friends: from then on a walker that
 * already holds the pointer is the only way in) and when it was freed or reused (pagetable_free(),
 * the page handed to another user); it closes at the stale access, or at the free itself when what
 * is stale is a TLB / walk-cache entry still pointing at the table (no-stale-walk-cache).
 */
import type { StepRecord } from '../core/trace.js';
import type { Violation } from '../core/property.js';

export interface RaceWindow {
  /** The table the violation names (Violation.details.table), or null when it names none. */
  readonly table: string | null;
  /** Step that unhooked the table from its parent (last `pt_unhook` of it before the violation), or null. */
  readonly unhook: number | null;
  /**
   * Step that freed or reused it (last `pt_free` / `pt_reuse` of it up to the violation), or null. It
   * is the violating step itself when the violation is the free (a cache entry still points at it).
   */
  readonly free: number | null;
  /** The violating step. */
  readonly read: number;
}

/** Where the window of `violation` opened, found in the trace that led to it. */
export function raceWindowOf(trace: readonly StepRecord[], violation: Violation): RaceWindow {
  const t = violation.details.table;
  const table = typeof t === 'string' ? t : null;
  let unhook: number | null = null;
  let free: number | null = null;
  if (table !== null) {
    for (let i = Math.min(violation.step, trace.length - 1); i >= 0; i--) {
      for (const ev of (trace[i] as StepRecord).events) {
        if (ev.table !== table) continue;
        if (free === null && (ev.type === 'pt_free' || ev.type === 'pt_reuse')) free = i;
        if (unhook === null && ev.type === 'pt_unhook' && i < violation.step) unhook = i;
      }
      if (free !== null && unhook !== null) break;
    }
  }
  return { table, unhook, free, read: violation.step };
}
