/** The simulator's traces: the Perfetto window and the text trace of a violation, with the checker's table names. */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from './capture.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIM_AXIS, type TraceEvent } from '../../src/report/perfetto.js';
import { assertChromeJson } from '../report/chrome-json.js';

const stderr = captureStderr();


interface Trace {
  traceEvents: TraceEvent[];
  displayTimeUnit: string;
  otherData: { [key: string]: unknown };
}

const tmp = (name: string): string => join(mkdtempSync(join(tmpdir(), 'ptlab-sim-trace-')), name);

describe('sim --perfetto', () => {
  it('covers a whole grace period by default (they outlast the old 1 ms window)', async () => {
    const file = tmp('gp.json');
    expect((await runCli('sim', 'scenarios/sim/munmap-under-pressure.yaml', '--duration', '5ms', '--perfetto', file, '--no-timing')).code).toBe(0);
    const t = JSON.parse(readFileSync(file, 'utf8')) as Trace;
    assertChromeJson(t);
    expect(t.otherData.time_axis).toBe(SIM_AXIS);
    const [from, to] = t.otherData.window_ns as [number, number];
    expect(from).toBe(0);
    expect(to).toBeGreaterThan(1_000_000);
    const gps = t.traceEvents.filter((e) => e.cat === 'rcu' && e.ph === 'b');
    const whole = gps.filter((b) => t.traceEvents.some((e) => e.ph === 'e' && e.id === b.id && e.args?.open_at_trace_end === undefined));
    expect(whole.length).toBeGreaterThanOrEqual(1);
    const end = t.traceEvents.find((e) => e.ph === 'e' && e.id === whole[0]?.id) as TraceEvent;
    // Longer than the old default window, and inside this one.
    expect((end.ts as number) - (whole[0]?.ts as number)).toBeGreaterThan(1000);
    expect(end.ts as number).toBeLessThanOrEqual(to / 1000);
    // A grace period still running at the end is cut there, and says so.
    for (const e of t.traceEvents.filter((x) => x.cat === 'rcu' && x.ph === 'e' && x.args?.open_at_trace_end === true)) expect(e.args?.note).toContain('still open');
  }, 60_000);

  it('marks the violation it found, with the steps before it, the stale read and the tables', async () => {
    const file = tmp('bug.json');
    // Seed 6 breaks it at 484 µs, after a window of 100 µs.
    const r = await runCli('sim', 'scenarios/sim/no-sync-arm64-bug-hunt.yaml', '--duration', '1ms', '--seed', '6', '--perfetto', file, '--window', '100us', '--no-timing');
    expect(r.code).toBe(1);
    expect(stderr.text).toBe('');
    const t = JSON.parse(readFileSync(file, 'utf8')) as Trace;
    assertChromeJson(t);
    const ev = t.traceEvents;
    const mark = ev.filter((e) => e.ph === 'i');
    expect(mark).toHaveLength(1);
    expect(mark[0]).toMatchObject({ name: 'no-walk-of-reused-table', cat: 'violation', s: 't' });
    const step = mark[0]?.args?.step as number;
    // On the track of the CPU whose step broke it, at that step's time.
    const slice = ev.find((e) => e.ph === 'X' && e.cat !== 'irq' && e.args?.step === step) as TraceEvent;
    expect(mark[0]).toMatchObject({ tid: slice.tid, ts: slice.ts });
    expect(String(mark[0]?.args?.message)).toMatch(/read A\.pte0@pfn\d+ as gen \d+, but it was reused/);
    // The window, then the steps before the violation (after a gap), as the metadata says.
    const [, windowEnd] = t.otherData.window_ns as [number, number];
    const [vFrom] = t.otherData.violation_steps_ns as [number, number];
    expect(vFrom).toBeGreaterThan(windowEnd);
    // A grace period open at the gap is cut there, saying so.
    expect(ev.some((e) => e.cat === 'rcu' && e.ph === 'e' && e.args?.open_at_trace_gap === true)).toBe(true);
    // The flow from the table's free to the stale read.
    const s = ev.find((e) => e.ph === 's' && e.cat === 'stale-read') as TraceEvent;
    const f = ev.find((e) => e.ph === 'f' && e.cat === 'stale-read' && e.id === s.id) as TraceEvent;
    expect(f).toMatchObject({ ts: slice.ts, tid: slice.tid, args: { read_at_step: step } });
    expect(s.ts as number).toBeLessThan(f.ts as number);
    expect(s.name).toMatch(/^stale read of A\.pte0@pfn\d+$/);
    // Table lives, named as the checker names tables; the counter of tables waiting to be freed.
    const lives = ev.filter((e) => e.ph === 'b' && e.cat === 'page-table');
    expect(lives.length).toBeGreaterThan(10);
    for (const l of lives) expect(l.name).toMatch(/^A\.pte0(@pfn\d+)?$/);
    expect(ev.filter((e) => e.ph === 'C' && e.name === 'page tables waiting to be freed').length).toBeGreaterThan(5);
  }, 120_000);
});

describe("sim's text trace", () => {
  it("names tables as the checker does: A.pte0, and A.pte0@pfnN for a fresh page linked as A.pte0", async () => {
    const r = await runCli('sim', 'scenarios/sim/no-sync-arm64-bug-hunt.yaml', '--duration', '1ms', '--seed', '6', '--no-timing');
    const violation = r.out.split('\n').find((l) => l.startsWith('VIOLATION')) as string;
    expect(violation).toMatch(/read A\.pte0@pfn\d+ as gen \d+/);
    const trace = r.out.slice(r.out.indexOf('--- the last'));
    expect(trace).toMatch(/spin_lock\(ptl:A\.pte0@pfn\d+\)/);
    expect(trace).toMatch(/pmd_clear\(A\.pmd\[0\]\)/);
  }, 60_000);
});
