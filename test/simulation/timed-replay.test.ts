/** A checker's counterexample replayed in time: same steps as the untimed replay, times that follow the order, a measured window. */
import { describe, expect, it } from 'vitest';
import { check, loadScenario, replay, replayTimed } from '../../src/index.js';

const NO_SYNC = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const LAZY = 'scenarios/check/lazy-tlb/x86-freed-tables-skips-lazy.yaml';

function counterexampleOf(file: string, id: string): string {
  const run = check(file, { stopWhenAllViolated: true });
  const v = run.result.verdicts.find((x) => x.id === id);
  expect(v?.status).toBe('violated');
  const cx = v?.counterexample;
  if (!cx) throw new Error('no counterexample');
  return cx.schedule.map((s) => (s.choice === undefined ? `${s.thread}` : `${s.thread}:${s.choice}`)).join(' ');
}

describe('replayTimed', () => {
  it('runs the same steps as the untimed replay, in the same order, and finds the same violation', () => {
    const schedule = counterexampleOf(NO_SYNC, 'no-walk-of-freed-table');
    const plain = replay(NO_SYNC, schedule).exec;
    const { timed } = replayTimed(NO_SYNC, schedule);
    expect(timed.exec.trace.map((r) => `${r.thread} ${r.fn} ${r.desc}`)).toEqual(plain.trace.map((r) => `${r.thread} ${r.fn} ${r.desc}`));
    expect(timed.exec.violations).toEqual(plain.violations);
    // Dependent steps keep the schedule's order in time: a step that reads or writes a location
    // starts no earlier than an earlier step that wrote it.
    const trace = timed.exec.trace;
    for (let i = 0; i < trace.length; i++) {
      expect(timed.times[i]!.end).toBeGreaterThanOrEqual(timed.times[i]!.start);
      const touches = new Set([...trace[i]!.reads, ...trace[i]!.writes.map(([l]) => l)]);
      for (let j = 0; j < i; j++) {
        if (trace[j]!.writes.some(([l]) => touches.has(l))) expect(timed.times[i]!.start).toBeGreaterThanOrEqual(timed.times[j]!.start);
      }
    }
  });

  it('measures the window from the table\'s unhook to its free, and the stale read after it', () => {
    const schedule = counterexampleOf(NO_SYNC, 'no-walk-of-freed-table');
    const { timed } = replayTimed(NO_SYNC, schedule, { profile: 'arm64' });
    const w = timed.window;
    expect(w?.property).toBe('no-walk-of-freed-table');
    expect(w?.table).toBe('A.pte0');
    const free = timed.exec.trace[w!.steps.free!]!;
    expect(free.events.some((e) => e.type === 'pt_free' && e.table === 'A.pte0')).toBe(true);
    expect(w!.steps.unhook).toBeLessThan(w!.steps.free!);
    expect(w!.freeToRead).toBe(timed.times[w!.steps.read]!.start - timed.times[w!.steps.free!]!.start);
    // The read depends only on the free: at the earliest, it comes as the table is freed.
    expect(w!.freeToRead).toBe(0);
    expect(w!.unhookToFree).toBe(timed.times[w!.steps.free!]!.start - timed.times[w!.steps.unhook!]!.start);
    expect(w!.unhookToFree).toBeGreaterThan(0);
    expect(w!.unhookToRead).toBe(w!.unhookToFree! + w!.freeToRead!);
  });

  it('counts the IPIs each CPU took as the trace shows them, and the time the sender was blocked', () => {
    const schedule = counterexampleOf(LAZY, 'no-stale-walk-cache');
    const { timed } = replayTimed(LAZY, schedule, { profile: 'x86-2s' });
    const entries = (cpu: number): number => timed.exec.trace.filter((r) => r.kind === 'irq-entry' && r.cpu === cpu).length;
    for (const c of timed.cpus) expect(c.CAL + c.TLB).toBe(entries(c.cpu));
    expect(timed.cpus.reduce((n, c) => n + c.TLB + c.CAL, 0)).toBeGreaterThan(0);
    const sender = timed.cpus.find((c) => c.sent > 0)!;
    expect(sender.blocked).toBeGreaterThan(0);
    // The violation is the free itself (a walk cache still points at the table): a zero-length window from the free.
    expect(timed.window?.steps.free).toBe(timed.window?.steps.read);
    expect(timed.window?.freeToRead).toBe(0);
  });

  it('is deterministic, and a profile changes the times, not the steps', () => {
    const schedule = counterexampleOf(LAZY, 'no-stale-walk-cache');
    const a = replayTimed(LAZY, schedule).timed;
    const b = replayTimed(LAZY, schedule).timed;
    expect(b.times).toEqual(a.times);
    expect(b.cpus).toEqual(a.cpus);
    const slow = replayTimed(LAZY, schedule, { params: { 'ipi.delivery': 50_000 } }).timed;
    expect(slow.exec.trace.length).toBe(a.exec.trace.length);
    expect(slow.time).toBeGreaterThan(a.time);
  });

  it('refuses a schedule that does not fit the scenario, naming the step', () => {
    const s = loadScenario(NO_SYNC);
    expect(() => replayTimed(s, '0*3 7')).toThrow(/timed replay step 3: thread 7 does not exist yet/);
  });
});
