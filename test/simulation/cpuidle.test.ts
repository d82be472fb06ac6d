import { describe, expect, it } from 'vitest';
import { MenuGovernor, typicalInterval, type IdleState } from '../../src/simulation/cpuidle.js';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../../src/simulation/run.js';

// intel_idle skx_cstates[] after the POLL state, in ns.
const SKX: IdleState[] = [
  { name: 'POLL', exit: 0, residency: 0, polling: true },
  { name: 'C1', exit: 2_000, residency: 2_000 },
  { name: 'C1E', exit: 10_000, residency: 20_000 },
  { name: 'C6', exit: 133_000, residency: 600_000 },
];
const TICK = 1_000_000;
const name = (g: MenuGovernor, next: number): string => (SKX[g.select(next)] as IdleState).name;

describe('menu governor on the skx table', () => {
  it('chooses by the next timer: 1 ms -> C6, 100 µs -> C1E, 10 µs -> C1, 1 µs -> POLL', () => {
    expect(name(new MenuGovernor(SKX, TICK), 1_000_000)).toBe('C6');
    expect(name(new MenuGovernor(SKX, TICK), 100_000)).toBe('C1E');
    expect(name(new MenuGovernor(SKX, TICK), 10_000)).toBe('C1');
    expect(name(new MenuGovernor(SKX, TICK), 1_000)).toBe('POLL');
  });

  it('a CPU with its tick running, woken by IPIs every 170 µs, learns a shallow state despite no timer', () => {
    const g = new MenuGovernor(SKX, TICK);
    g.select(500_000); // a task's 500 µs timer: C1E (tick kept: below a tick)
    for (let i = 0; i < 8; i++) {
      g.update(170_000);
      expect(g.tickStopped).toBe(false);
      g.select(1_000_000_000);
      g.tickStopped = false; // a task ran in between (tick_nohz_idle_exit)
    }
    expect(typicalInterval(g.intervals, Infinity)).toBe(170_000);
    expect(name(g, 1_000_000_000)).toBe('C1E');
  });

  it('with the tick stopped, the same IPI history does not pull the CPU out of C6 (menu_select tick-stopped branch)', () => {
    const g = new MenuGovernor(SKX, TICK);
    expect(name(g, 1_000_000_000)).toBe('C6');
    expect(g.tickStopped).toBe(true);
    for (let i = 0; i < 8; i++) {
      g.update(170_000);
      expect(name(g, 1_000_000_000)).toBe('C6');
    }
  });

  it('arm64 (WFI does not poll): a timer closer than cpu-sleep\'s residency picks WFI and stops the tick', () => {
    const PSCI: IdleState[] = [
      { name: 'WFI', exit: 1_000, residency: 1_000 },
      { name: 'cpu-sleep', exit: 280_000, residency: 2_000_000 },
    ];
    const g = new MenuGovernor(PSCI, 4_000_000);
    expect(g.select(1_000_000)).toBe(0);
    expect(g.tickStopped).toBe(true);
    expect(new MenuGovernor(PSCI, 4_000_000).select(10_000_000)).toBe(1);
  });

  it('get_typical_interval drops outliers above (keeping a tight lower half) and needs enough samples', () => {
    expect(typicalInterval([100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 5_000_000], Infinity)).toBe(100_000);
    // After dropping the 900 µs samples, the 10 µs ones have stddev 0 <= 20 µs: menu uses them.
    expect(typicalInterval([10_000, 900_000, 10_000, 900_000, 10_000, 900_000, 10_000, 900_000], Infinity)).toBe(10_000);
    // No sample below the prediction: nothing to lower it to.
    expect(typicalInterval([100_000, 100_000, 100_000, 100_000, 100_000, 100_000], 50_000)).toBe(Infinity);
    expect(typicalInterval([100_000], Infinity)).toBe(Infinity);
  });
});

const timerCpu = (interval: string, extra = ''): string => `name: idle
machine: { arch: x86, cpus: 2 }
cpus:
  - { run: [ { cyclictest: { interval: ${interval} } } ], repeat: forever${extra} }
  - {}
sim:
  duration: 50ms
`;
const run = (text: string) => {
  const s = scenarioFromText(text, 'x.yaml', { purpose: 'sim' });
  return simulateScenario(s, simConfigOf(s));
};

describe('idle-state residency of a CPU woken by a timer', () => {
  it('at 1 kHz the CPU sleeps in C6 (1 ms >= 600 µs target residency), at 10 kHz in C1E (100 µs < 600 µs)', () => {
    const k1 = run(timerCpu('1ms')).metrics.cpuidle?.[0];
    const k10 = run(timerCpu('100us')).metrics.cpuidle?.[0];
    expect(k1?.policy).toBe('menu');
    expect(Object.keys(k1?.states ?? {})).toEqual(['C6']);
    expect(Object.keys(k10?.states ?? {})).toEqual(['C1E']);
    // About 44 periods of 1 ms + 136 µs wakeup, 430 of 100 µs + 13 µs.
    expect(k1?.states.C6?.usage).toBeGreaterThanOrEqual(40);
    expect(k10?.states.C1E?.usage).toBeGreaterThanOrEqual(400);
  });

  it('the wakeup latency pays the chosen state: C6 exit 133 µs at 1 kHz, C1E 10 µs at 10 kHz', () => {
    // Plus IRQ entry/exit 0.8 µs and the context switch 2 µs.
    expect(run(timerCpu('1ms')).metrics.wakeups['0']?.min).toBe(135_800);
    expect(run(timerCpu('100us')).metrics.wakeups['0']?.min).toBe(12_800);
  });

  it('a pinned cstate is still honoured, and idle: poll pays no exit', () => {
    const pinned = run(timerCpu('1ms', ', cstate: C1'));
    expect(pinned.metrics.cpuidle?.[0]?.policy).toBe('C1');
    expect(Object.keys(pinned.metrics.cpuidle?.[0]?.states ?? {})).toEqual(['C1']);
    expect(pinned.metrics.wakeups['0']?.min).toBe(4_800);
    const poll = run(timerCpu('1ms', ', idle: poll'));
    expect(poll.metrics.cpuidle?.[0]?.policy).toBe('poll');
    expect(Object.keys(poll.metrics.cpuidle?.[0]?.states ?? {})).toEqual(['POLL']);
    expect(poll.metrics.wakeups['0']?.min).toBe(2_800);
  });

  it('isolated: true is recorded on the resolved CPU; idle: poll with a pinned cstate is an error at the key', () => {
    const s = scenarioFromText(timerCpu('1ms', ', isolated: true'), 'x.yaml', { purpose: 'sim' });
    expect(s.resolved.cpu[0]?.isolated).toBe(true);
    expect(s.resolved.cpu[1]?.isolated).toBe(false);
    expect(() => scenarioFromText(timerCpu('1ms', ', idle: poll, cstate: C6'), 'x.yaml', { purpose: 'sim' })).toThrow(/x\.yaml:4:\d+.*idle: poll never enters a C-state/s);
  });
});
