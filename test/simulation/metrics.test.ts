/**
 * SimMetrics' latency summaries (src/simulation/metrics.ts): percentiles come from HDR histogram
 * buckets, whose upper bound can lie above every value recorded.
 */
import { describe, expect, it } from 'vitest';
import { histogram, latencyStats } from '../../src/simulation/metrics.js';

describe('latencyStats', () => {
  it('never puts a percentile above the max (issue #12: "p50 8004 µs, max 8000 µs")', () => {
    const h = histogram();
    h.recordValue(8_000_000);
    // The bucket that holds 8 ms at 3 significant digits ends above 8 ms.
    expect(h.getValueAtPercentile(50)).toBeGreaterThan(8_000_000);
    const s = latencyStats(h);
    expect([s.min, s.p50, s.p99, s.max]).toEqual([8_000_000, 8_000_000, 8_000_000, 8_000_000]);
  });

  it('keeps percentiles inside [min, max] and ordered, within the histogram precision', () => {
    const h = histogram();
    for (let v = 4_960_000; v <= 4_973_000; v += 1_000) h.recordValue(v);
    const s = latencyStats(h);
    expect(s.min).toBe(4_960_000);
    expect(s.max).toBe(4_973_000);
    expect(s.p50).toBeGreaterThanOrEqual(s.min);
    expect(s.p50).toBeLessThanOrEqual(s.p99);
    expect(s.p99).toBeLessThanOrEqual(s.max);
    expect(Math.abs(s.p50 - 4_966_000)).toBeLessThanOrEqual(4_966_000 * 0.001 + 1_000);
  });

  it('summarises an empty histogram as zeros', () => {
    expect(latencyStats(histogram())).toEqual({ count: 0, last: 0, min: 0, avg: 0, p50: 0, p99: 0, max: 0 });
  });
});
