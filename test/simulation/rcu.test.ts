/**
 * Tree RCU grace periods in the simulator: their length emerges from HZ, jiffies_till_first_fqs
 * and whether a CPU is in dyntick-idle (only the FQS scan reports it) or takes the tick (it
 * reports within one jiffy); callers in the same window share one.
 */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../../src/simulation/run.js';

/** CPU0 munmaps a VMA with two PTE tables once (sync-rcu: one synchronize_rcu() per table); the other CPUs idle, or loop on their own mm. */
function machine(cpus: number, others: 'idle' | 'busy', seed = 1): string {
  const other = others === 'idle' ? '  - { cstate: C1 }' : '  - { mm: B, run: [ { touch: data } ], repeat: forever }';
  return `name: rcu-gp-length
machine: { arch: x86, cpus: ${cpus} }
config: { preset: sync-rcu, batch_alloc: may-fail }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 2 }
      - { name: stack, start: 2, end: 3 }
  B:
    vmas:
      - { name: data, start: 0, end: 1 }
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
${Array.from({ length: cpus - 1 }, () => other).join('\n')}
sim:
  duration: ${others === 'idle' ? '50ms' : '4ms'}
  alloc_fail_rate: 1
  seed: ${seed}
`;
}

function run(text: string) {
  const s = scenarioFromText(text, 'x.yaml', { purpose: 'sim' });
  return simulateScenario(s, simConfigOf(s));
}

describe('grace-period length (x86-2s: HZ=1000, jiffies_till_first_fqs 3)', () => {
  it('idle machine: the first FQS scan ends it, 2–3 jiffies after the start', () => {
    for (const seed of [1, 2, 3]) {
      const m = run(machine(8, 'idle', seed)).metrics;
      expect(m.gracePeriods.count).toBe(2);
      const d = m.gracePeriods.duration;
      expect(d?.count).toBe(2);
      expect(d?.min).toBeGreaterThanOrEqual(2_000_000);
      expect(d?.max).toBeLessThanOrEqual(3_010_000);
      // Each synchronize_rcu() waits for its grace period plus the GP kthread's wakeup.
      expect(m.rcu.syncWait?.count).toBe(2);
      expect(m.rcu.syncWait?.min).toBeGreaterThan(d?.min ?? 0);
    }
  });

  it('busy machine (every CPU takes the tick): each CPU reports at its next tick, within one jiffy', () => {
    for (const seed of [1, 2, 3]) {
      const m = run(machine(4, 'busy', seed)).metrics;
      const d = m.gracePeriods.duration;
      expect(d?.count).toBe(2);
      expect(d?.max).toBeLessThanOrEqual(1_010_000);
    }
  });

  it('callers share grace periods: one munmap per CPU, each freeing two tables by synchronize_rcu(), need fewer grace periods than calls', () => {
    const text = machine(4, 'idle').replace(/ {2}- \{ cstate: C1 \}\n/g, '').replace('  - { mm: A, run: [ { munmap: heap } ] }', ['  - { mm: A, run: [ { munmap: heap } ] }', '  - { mm: C, run: [ { munmap: heap } ] }', '  - { mm: D, run: [ { munmap: heap } ] }', '  - { cstate: C1 }'].join('\n'))
      .replace('  B:', ['  C:', '    vmas:', '      - { name: heap, start: 0, end: 2 }', '      - { name: stack, start: 2, end: 3 }', '  D:', '    vmas:', '      - { name: heap, start: 0, end: 2 }', '      - { name: stack, start: 2, end: 3 }', '  B:'].join('\n'));
    const m = run(text).metrics;
    expect(m.rcu.syncWait?.count).toBe(6);
    expect(m.gracePeriods.count).toBeLessThan(6);
    expect(m.rcu.syncCallersPerGp?.max).toBeGreaterThan(1);
  });
});
