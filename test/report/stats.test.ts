/** Replication statistics of `compare --seeds` (src/report/stats.ts) on values with known answers. */
import { describe, expect, it } from 'vitest';
import { differ, parseSeeds, summarize, tQuantile975 } from '../../src/report/stats.js';

describe('replication statistics', () => {
  it('gives the mean and the Student-t 95% interval', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7, t(7) = 2.365.
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    expect(s.variance).toBeCloseTo(32 / 7, 12);
    expect(s.ci95).toBeCloseTo(2.365 * Math.sqrt(32 / 7 / 8), 12);
    expect(summarize([3]).ci95).toBeNull();
    expect(summarize([3, 3, 3]).ci95).toBe(0);
  });

  it('looks up t quantiles, rounding the degrees of freedom down', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(9)).toBe(2.262);
    expect(tQuantile975(9.9)).toBe(2.262);
    expect(tQuantile975(35)).toBe(2.021);
    expect(tQuantile975(1e6)).toBe(1.96);
    expect(tQuantile975(0.5)).toBe(Number.POSITIVE_INFINITY);
  });

  it("tells a difference from noise with Welch's t-test", () => {
    const a = summarize([10, 11, 9, 10, 10]);
    // Far apart, little noise: differ.
    expect(differ(summarize([20, 21, 19, 20, 20]), a)).toBe(true);
    // Means 10.2 vs 10, spread 1: inside the noise.
    expect(differ(summarize([10, 12, 8, 11, 10]), a)).toBe(false);
    // Equal variances 0.5, n = 5: df = 8, t_{0.975} = 2.306.
    const x = summarize([0, 1, 2, 1, 1]); // mean 1, var 0.5
    expect(differ(summarize([2, 3, 4, 3, 3]), x)).toBe(true); // t = 2 / sqrt(0.2) = 4.47
    expect(differ(summarize([1.5, 2.5, 3.5, 2.5, 2.5]), x)).toBe(true); // t = 3.35
    expect(differ(summarize([0.9, 1.9, 2.9, 1.9, 1.9]), x)).toBe(false); // t = 2.01 < 2.306
    // Constant samples differ exactly when their means do; one value is not enough.
    expect(differ(summarize([4, 4]), summarize([4, 4]))).toBe(false);
    expect(differ(summarize([4, 4]), summarize([5, 5]))).toBe(true);
    expect(differ(summarize([4]), summarize([5, 5]))).toBeNull();
  });

  it('parses seed lists and rejects bad ones', () => {
    expect(parseSeeds('1..10')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(parseSeeds('1,4,9')).toEqual([1, 4, 9]);
    expect(parseSeeds('1..3, 10')).toEqual([1, 2, 3, 10]);
    expect(parseSeeds('3..1')).toMatch(/backwards/);
    expect(parseSeeds('1,1')).toMatch(/twice/);
    expect(parseSeeds('a')).toMatch(/expected seeds/);
    expect(parseSeeds('1..5000')).toMatch(/more than 1000/);
  });
});
