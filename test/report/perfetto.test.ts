import { describe, expect, it } from 'vitest';
import { Driver } from '../../src/core/index.js';
import { openScenario } from '../../src/scenarios/resolve.js';
import { perfettoTrace, type TraceEvent } from '../../src/report/perfetto.js';
import { check } from '../../src/engines/check/index.js';

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
