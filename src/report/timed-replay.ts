/**
 * A timed replay as text and JSON: the race window in ns, a /proc/interrupts table of the IPIs
 * each CPU took, and per CPU how long it was held up (blocked, in interrupt handlers, busy).
 */
import type { ResolvedScenario } from '../scenarios/resolve.js';
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
  lines.push(`${'CPU'.padEnd(6)}${'IPIs sent'.padStart(10)}${'in IRQ (ns)'.padStart(14)}${'blocked (ns)'.padStart(14)}${'busy (ns)'.padStart(12)}`);
  for (const c of r.cpus) lines.push(`${`CPU${c.cpu}`.padEnd(6)}${String(c.sent).padStart(10)}${String(c.irqTime).padStart(14)}${String(c.blocked).padStart(14)}${String(c.busy).padStart(12)}`);
  const ops = Object.entries(r.metrics.operations);
  if (ops.length > 0) {
    lines.push('');
    lines.push('operations (ns):');
    for (const [op, s] of ops) lines.push(`  ${op.padEnd(16)} ${s.count} x, max ${s.max}`);
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
