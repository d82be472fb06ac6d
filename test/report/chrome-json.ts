/** A check of Perfetto traces against the Chrome trace-event JSON that Perfetto imports. */
import { expect } from 'vitest';
import type { TraceEvent } from '../../src/report/perfetto.js';

/**
 * What Perfetto's JSON importer (and chrome://tracing) expects of the Trace Event Format: each
 * event has a name, a known phase, a numeric pid; timed events a finite ts (µs); complete events a
 * duration; async b/e and flow s/f events come in pairs by (cat, id), the end not before the
 * start; metadata events name what they describe; counters have numeric args.
 */
export function assertChromeJson(trace: { traceEvents: readonly TraceEvent[]; displayTimeUnit: string }): void {
  expect(['ms', 'ns']).toContain(trace.displayTimeUnit);
  const pairs = new Map<string, { open: number[]; close: number[] }>();
  const pair = (e: TraceEvent, opens: boolean): void => {
    const key = `${e.ph === 'b' || e.ph === 'e' ? 'async' : 'flow'}:${e.cat}:${String(e.id)}`;
    const p = pairs.get(key) ?? { open: [], close: [] };
    (opens ? p.open : p.close).push(e.ts as number);
    pairs.set(key, p);
  };
  for (const e of trace.traceEvents) {
    expect(typeof e.name, JSON.stringify(e)).toBe('string');
    expect(Number.isInteger(e.pid)).toBe(true);
    expect(['M', 'X', 'i', 'b', 'e', 's', 'f', 'C']).toContain(e.ph);
    if (e.ph === 'M') {
      expect(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index']).toContain(e.name);
      expect(e.args).toBeDefined();
      continue;
    }
    expect(Number.isFinite(e.ts), JSON.stringify(e)).toBe(true);
    if (e.ph === 'X') {
      expect(Number.isInteger(e.tid)).toBe(true);
      expect(e.dur as number).toBeGreaterThanOrEqual(0);
    }
    if (e.ph === 'i') expect(['g', 'p', 't']).toContain(e.s);
    if (e.ph === 'C') for (const v of Object.values(e.args ?? {})) expect(typeof v).toBe('number');
    if (e.ph === 'b' || e.ph === 's') pair(e, true);
    if (e.ph === 'e' || e.ph === 'f') pair(e, false);
    if (e.ph === 's' || e.ph === 'f') expect(Number.isInteger(e.tid)).toBe(true);
  }
  for (const [key, p] of pairs) {
    expect(p.open.length, `${key}: one start`).toBe(1);
    expect(p.close.length, `${key}: one end`).toBe(1);
    expect(p.close[0] as number, `${key}: ends after it starts`).toBeGreaterThanOrEqual(p.open[0] as number);
  }
}
