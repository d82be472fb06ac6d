/** The engines' PRNG against the reference implementation's output (scripts/prng-reference.c). */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/core/prng.js';

const draw = (p: Prng, n: number): number[] => Array.from({ length: n }, () => p.nextU32());

describe('Prng: xoshiro128**', () => {
  it('gives the reference next() outputs from the state {1, 2, 3, 4}', () => {
    expect(draw(Prng.fromState(1, 2, 3, 4), 8)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it('seeds its state with fmix32 over a Weyl sequence, as the reference program does for seed 42', () => {
    expect(draw(new Prng(42), 8)).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290, 65323186, 1112262688]);
  });

  it('draws floats in [0, 1) and integers in [0, n) from those outputs', () => {
    const p = Prng.fromState(1, 2, 3, 4);
    expect(p.nextFloat()).toBe(11520 / 4294967296);
    expect(p.nextInt(10)).toBe(0);
    expect(() => p.nextInt(0)).toThrow(RangeError);
  });
});
