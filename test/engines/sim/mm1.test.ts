/** The simulator engine on an M/M/1 queue, against the queue's closed-form answers. */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../../src/engines/sim/engine.js';
import { mm1 } from '../../../src/engines/sim/mm1.js';

function run(meanArrival: number, meanService: number, until: number, seed = 1) {
  const q = mm1(meanArrival, meanService);
  const r = simulate(q.program, { until, seed, timing: q.timing, observers: [q.observer] });
  return { r, stats: q.observer.stats(r.time) };
}

describe('M/M/1 on the simulator engine', () => {
  // λ = 1/µs; W = 1/(µ − λ); L = ρ/(1 − ρ). About 200,000 and 300,000 customers: the sample means
  // are within 1% for these seeds, the bounds allow 3%.
  it.each([
    { service: 500, until: 2e8, rho: 0.5, w: 1000, l: 1 },
    { service: 750, until: 3e8, rho: 0.75, w: 3000, l: 3 },
  ])('matches utilisation, time in system and customers in system at ρ = $rho', ({ service, until, rho, w, l }) => {
    const { r, stats } = run(1000, service, until);
    expect(r.stop).toBe('until');
    expect(stats.served).toBeGreaterThan(until / 1000 * 0.97);
    expect(Math.abs(stats.utilisation - rho) / rho).toBeLessThan(0.03);
    expect(Math.abs(stats.meanSojourn - w) / w).toBeLessThan(0.03);
    expect(Math.abs(stats.meanInSystem - l) / l).toBeLessThan(0.03);
    // Little's law holds on the sample itself: L = λW.
    expect(Math.abs(stats.meanInSystem - stats.meanSojourn / 1000) / l).toBeLessThan(0.01);
  });

  it('serves at rate µ with the server always busy when overloaded, however long the queue grows', () => {
    // ρ = 1.25: the queue grows by one customer per 5 µs, to about 20,000 by the end.
    const { stats } = run(1000, 1250, 1e8);
    expect(stats.utilisation).toBeGreaterThan(0.999);
    expect(Math.abs(stats.served - 80_000) / 80_000).toBeLessThan(0.02);
    // N(t) = t/5000 on average, so its time average over 100 ms is about 10,000.
    expect(Math.abs(stats.meanInSystem - 10_000) / 10_000).toBeLessThan(0.03);
  });

  it('gives the same figures for a seed and other figures for another seed', () => {
    expect(run(1000, 500, 2e7, 5).stats).toEqual(run(1000, 500, 2e7, 5).stats);
    expect(run(1000, 500, 2e7, 5).stats).not.toEqual(run(1000, 500, 2e7, 6).stats);
  });

  it('rejects mean times that are not positive', () => {
    expect(() => mm1(0, 500)).toThrow(/positive mean times/);
    expect(() => mm1(1000, Number.NaN)).toThrow(/positive mean times/);
  });
});
