import { describe, expect, it } from 'vitest';
import { Driver } from '../../src/core/index.js';
import { openScenario } from '../../src/scenarios/resolve.js';
import { perfettoTrace, STEP_AXIS, type TraceEvent } from '../../src/report/perfetto.js';
import { check } from '../../src/engines/check/index.js';
import { assertChromeJson } from './chrome-json.js';

/** The round-robin execution of a scenario as a trace. */
function traceOf(file: string) {
  const s = openScenario(file);
  const d = new Driver(s.program);
  d.runAll();
  const exec = d.exec;
  const v = exec.violations[0];
  return perfettoTrace({
    title: s.resolved.name,
    trace: exec.trace,
    ...exec.threadColumns(),
    cpus: s.resolved.cpus,
    violation: v ? { step: v.step, property: v.property, message: v.message } : undefined,
  });
}

/** Complete slices on one track must nest: no slice may start inside another and end after it. */
function assertNested(events: readonly TraceEvent[]): void {
  const byTid = new Map<number, TraceEvent[]>();
  for (const e of events) if (e.ph === 'X') byTid.set(e.tid as number, [...(byTid.get(e.tid as number) ?? []), e]);
  for (const [tid, slices] of byTid) {
    const sorted = [...slices].sort((a, b) => (a.ts as number) - (b.ts as number) || (b.dur as number) - (a.dur as number));
    const stack: number[] = [];
    for (const s of sorted) {
      const start = s.ts as number;
      const end = start + (s.dur as number);
      while (stack.length && (stack[stack.length - 1] as number) <= start) stack.pop();
      if (stack.length) expect(end, `track ${tid}: ${s.name} at ${start} overlaps its parent`).toBeLessThanOrEqual(stack[stack.length - 1] as number);
      stack.push(end);
    }
  }
}

describe('perfetto trace', () => {
  const ipi = traceOf('scenarios/check/munmap-vs-gup-fast/broadcast-ipi+x86+batch-fails.yaml');
  const gp = traceOf('scenarios/check/munmap-vs-gup-fast/sync-rcu+arm64+batch-fails.yaml');
  // The checker's shortest counterexample of a use-after-free.
  const uafScenario = openScenario('scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml');
  const cx = check(uafScenario.program).verdicts.find((v) => v.counterexample)?.counterexample;
  if (!cx?.violation) throw new Error('expected a counterexample');
  const uaf = perfettoTrace({
    title: uafScenario.resolved.name,
    trace: cx.trace.slice(0, cx.violation.step + 1),
    threadNames: cx.threadNames,
    threadKinds: cx.threadKinds,
    threadCpus: cx.threadCpus,
    cpus: uafScenario.resolved.cpus,
    violation: { step: cx.violation.step, property: cx.violation.property, message: cx.violation.message },
  });

  it('names a track per CPU and per IRQ-off lane', () => {
    const names = ipi.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
    expect(names).toEqual(expect.arrayContaining(['CPU0 munmap', 'CPU1 gup_fast', 'CPU2', 'CPU0 IRQs off', 'CPU2 IRQs off']));
    expect(ipi.traceEvents.find((e) => e.name === 'process_name')?.args?.name).toContain('broadcast-ipi');
  });

  it('has one slice per step, named after the kernel function, with nested interrupt handlers', () => {
    const steps = ipi.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'irq' && e.cat !== 'irqs');
    expect(steps.length).toBeGreaterThan(40);
    expect(steps.map((e) => e.name)).toEqual(expect.arrayContaining(['tlb_remove_table_smp_sync', 'flush_tlb_func', 'gup_fast_pmd_range']));
    expect(ipi.traceEvents.some((e) => e.cat === 'irq' && String(e.name).startsWith('IPI flush_tlb_func'))).toBe(true);
    assertNested(ipi.traceEvents);
    assertNested(gp.traceEvents);
    assertNested(uaf.traceEvents);
  });

  it('draws every IPI as a flow from the sender to the handler', () => {
    const starts = ipi.traceEvents.filter((e) => e.ph === 's');
    const ends = ipi.traceEvents.filter((e) => e.ph === 'f');
    expect(starts.length).toBeGreaterThan(0);
    expect(ends.map((e) => e.id).sort()).toEqual(starts.map((e) => e.id).sort());
    for (const f of ends) {
      const s = starts.find((x) => x.id === f.id) as TraceEvent;
      expect(s.ts as number).toBeLessThanOrEqual(f.ts as number);
      expect(s.tid).not.toBe(f.tid);
    }
  });

  it('shows IRQ-off regions and grace periods as matched slices', () => {
    expect(ipi.traceEvents.some((e) => e.name === 'IRQs off' && e.tid === 1001)).toBe(true);
    const b = gp.traceEvents.filter((e) => e.ph === 'b');
    const e = gp.traceEvents.filter((x) => x.ph === 'e');
    expect(b.length).toBeGreaterThan(0);
    expect(e.map((x) => x.id).sort()).toEqual(b.map((x) => x.id).sort());
  });

  it('marks the violation with an instant event', () => {
    const mark = uaf.traceEvents.filter((e) => e.ph === 'i');
    expect(mark).toHaveLength(1);
    expect(mark[0]?.name).toBe('no-walk-of-freed-table');
    expect(String(mark[0]?.args?.message)).toContain('A.pte0');
  });

  it('is deterministic', () => {
    expect(JSON.stringify(traceOf('scenarios/check/munmap-vs-gup-fast/broadcast-ipi+x86+batch-fails.yaml'))).toBe(JSON.stringify(ipi));
  });
});

describe('perfetto trace: time axis, violation, page tables', () => {
  const s = openScenario('scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml');
  const cx = check(s.program).verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.counterexample;
  if (!cx?.violation) throw new Error('expected a counterexample');
  const steps = cx.trace.slice(0, cx.violation.step + 1);
  const t = perfettoTrace({
    title: s.resolved.name,
    trace: steps,
    threadNames: cx.threadNames,
    threadKinds: cx.threadKinds,
    threadCpus: cx.threadCpus,
    cpus: s.resolved.cpus,
    violation: { step: cx.violation.step, property: cx.violation.property, message: cx.violation.message },
  });
  const ev = t.traceEvents;
  const violating = steps[cx.violation.step];

  it('is the Chrome JSON Perfetto imports', () => {
    assertChromeJson(t);
    assertChromeJson(traceOf('scenarios/check/munmap-vs-gup-fast/sync-rcu+arm64+batch-fails.yaml'));
  });

  it("says that the checker's time axis is steps, 1 step = 1 µs", () => {
    expect(t.otherData.time_axis).toBe(STEP_AXIS);
    expect(ev.find((e) => e.name === 'process_name' && e.pid === 1)?.args?.name).toContain('1 step = 1 µs');
    expect(ev.find((e) => e.name === 'process_labels')?.args?.labels).toBe(`time axis: ${STEP_AXIS}`);
    // And it is: step i at i µs.
    for (const e of ev.filter((x) => x.ph === 'X' && x.cat === 'access')) expect(e.ts).toBe(e.args?.step);
  });

  it("marks the violation on the violating CPU's track, named for the invariant, with its step", () => {
    const marks = ev.filter((e) => e.ph === 'i');
    expect(marks).toHaveLength(1);
    expect(marks[0]).toMatchObject({ name: 'no-walk-of-freed-table', s: 't', tid: violating?.cpu, ts: cx.violation?.step });
    expect(marks[0]?.args).toMatchObject({ invariant: 'no-walk-of-freed-table', step: cx.violation?.step, fn: violating?.fn });
    expect(String(marks[0]?.args?.message)).toContain('A.pte0');
  });

  it("draws each table's life on the page tables' process, from the trace's start (boot) to its free", () => {
    expect(ev.find((e) => e.name === 'process_name' && e.pid === 2)?.args?.name).toBe('page tables (allocation to free)');
    const b = ev.find((e) => e.ph === 'b' && e.cat === 'page-table' && e.name === 'A.pte0');
    const e = ev.find((x) => x.ph === 'e' && x.cat === 'page-table' && x.id === b?.id);
    expect(b).toMatchObject({ pid: 2, ts: 0 });
    expect(b?.args).toMatchObject({ page: 'A.pte0', owner: 'A', level: 'pte' });
    const freeStep = steps.findIndex((r) => r.events.some((x) => x.type === 'pt_free' && x.table === 'A.pte0'));
    expect(freeStep).toBeGreaterThan(0);
    expect(e).toMatchObject({ ts: freeStep + 1, args: { freed_by: steps[freeStep]?.events.find((x) => x.type === 'pt_free')?.fn } });
  });

  it('draws a flow from the free of the table to the stale read', () => {
    const s0 = ev.filter((e) => e.ph === 's' && e.cat === 'stale-read');
    const f0 = ev.filter((e) => e.ph === 'f' && e.cat === 'stale-read');
    expect(s0).toHaveLength(1);
    expect(f0).toHaveLength(1);
    const freeStep = steps.findIndex((r) => r.events.some((x) => x.type === 'pt_free' && x.table === 'A.pte0'));
    expect(s0[0]).toMatchObject({ name: 'stale read of A.pte0', ts: freeStep, tid: steps[freeStep]?.cpu, args: { freed_at_step: freeStep } });
    expect(f0[0]).toMatchObject({ id: s0[0]?.id, bp: 'e', ts: cx.violation?.step, tid: violating?.cpu, args: { read_at_step: cx.violation?.step, page_state: 'free' } });
    // Each end of the flow lies inside a step slice on its track (Perfetto binds it there).
    for (const end of [s0[0], f0[0]]) {
      expect(ev.some((x) => x.ph === 'X' && x.tid === end?.tid && (x.ts as number) <= (end?.ts as number) && (end?.ts as number) < (x.ts as number) + (x.dur as number))).toBe(true);
    }
  });

  it('counts the tables waiting to be freed: 1 from the unhook to the free', () => {
    const c = ev.filter((e) => e.ph === 'C');
    expect(c.every((e) => e.name === 'page tables waiting to be freed')).toBe(true);
    expect(c.map((e) => e.args?.tables)).toEqual([0, 1, 0]);
    const unhook = steps.findIndex((r) => r.events.some((x) => x.type === 'pt_unhook'));
    const free = steps.findIndex((r) => r.events.some((x) => x.type === 'pt_free'));
    expect(c.map((e) => e.ts)).toEqual([0, unhook, free]);
  });

  it('cuts what is open at the end of the trace there, saying so', () => {
    const gp = traceOf('scenarios/check/munmap-vs-gup-fast/sync-rcu+arm64+batch-fails.yaml');
    const end = Math.max(...gp.traceEvents.filter((e) => e.ph === 'X').map((e) => (e.ts as number) + (e.dur as number)));
    for (const e of gp.traceEvents.filter((x) => x.args?.open_at_trace_end === true)) expect((e.ts as number) + ((e.dur as number | undefined) ?? 0)).toBe(end);
    // Every table the execution had not freed is cut there too.
    const open = ev.filter((e) => e.ph === 'e' && e.cat === 'page-table' && e.args?.open_at_trace_end === true);
    for (const e of open) expect(e.ts).toBe(cx.violation?.step as number + 1);
  });
});
