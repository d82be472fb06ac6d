/**
 * A timed replay as text and JSON: the race window in ns, a /proc/interrupts table of the IPIs
 * each CPU took, and per CPU how long it was held up (blocked, in interrupt handlers, busy).
 */
import type { ResolvedScenario } from '../scenarios/resolve.js';
import { renderTable } from './table.js';
import type { TimedReplay } from '../simulation/timed-replay.js';
import { procInterrupts } from './sim.js';

const ns = (x: number | null): string => (x === null ? '-' : `${x.toLocaleString('en-US')} ns`);

export function timedReplayText(scenario: ResolvedScenario, schedule: string, r: TimedReplay): string {
  const lines: string[] = [];
  lines.push(`${scenario.name}: timed replay of ${r.exec.trace.length} steps on profile ${r.sim.profile} (seed ${r.sim.seed}): ${ns(r.time)}`);
  lines.push(`schedule: ${schedule}`);
  lines.push('');
  const w = r.window;
  if (w) {
    lines.push(`${w.property} at step ${w.steps.read} (${ns(w.at.read)}): ${w.message}`);
    if (w.table !== null) {
      lines.push(`race window on ${w.table}:`);
      lines.push(`  unhooked at step ${w.steps.unhook ?? '-'} (${ns(w.at.unhook)}), freed/reused at step ${w.steps.free ?? '-'} (${ns(w.at.free)}), violation at step ${w.steps.read} (${ns(w.at.read)})`);
      lines.push(`  window (unhook -> free): ${ns(w.unhookToFree)}; free -> violation: ${ns(w.freeToRead)}; unhook -> violation: ${ns(w.unhookToRead)}`);
    } else lines.push('race window: the violation names no table (no free to measure from)');
  } else lines.push('no invariant violated: no race window');
  lines.push('');
  lines.push('IPIs received:');
  lines.push(procInterrupts(r.metrics));
  lines.push('');
  const right = { align: 'right' } as const;
  lines.push(...renderTable([['CPU', 'IPIs sent', 'in IRQ (ns)', 'blocked (ns)', 'busy (ns)'], ...r.cpus.map((c) => [`CPU${c.cpu}`, String(c.sent), String(c.irqTime), String(c.blocked), String(c.busy)])], { columns: [{}, right, right, right, right] }));
  const ops = Object.entries(r.metrics.operations);
  if (ops.length > 0) {
    lines.push('');
    lines.push('operations (ns):');
    lines.push(...renderTable(ops.map(([op, s]) => [op, `${s.count} x, max ${s.max}`]), { columns: [{ width: 16 }, {}], gap: ' ', indent: '  ' }));
  }
  return lines.join('\n');
}

/** The `ptlab.timed-replay/1` JSON document. */
export function timedReplayJson(scenario: ResolvedScenario, schedule: string, r: TimedReplay): unknown {
  return {
    schema: 'ptlab.timed-replay/1',
    scenario,
    schedule,
    sim: r.sim,
    time_ns: r.time,
    window: r.window,
    cpus: r.cpus,
    interrupts: r.metrics.interrupts,
    operations: r.metrics.operations,
    steps: r.exec.trace.map((rec, i) => ({ index: i, thread: rec.thread, cpu: rec.cpu, fn: rec.fn, desc: rec.desc, start_ns: r.times[i]?.start ?? 0, end_ns: r.times[i]?.end ?? 0 })),
  };
}
