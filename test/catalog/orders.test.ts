/** The CPU orders the order-independence test checks (orders.ts). */
import { describe, expect, it } from 'vitest';
import { isPermutation } from '../../src/scenarios/permute.js';
import { allOrders, cpuOrders, EXHAUSTIVE_CPUS, SAMPLED_ORDERS } from './orders.js';

const key = (o: readonly number[]): string => o.join(',');

describe('cpuOrders', () => {
  it.each([1, 2, 3, 4])('gives all %i! permutations up to EXHAUSTIVE_CPUS, distinct, the written order first', (n) => {
    const orders = cpuOrders(n, 'x.yaml');
    const factorial = [1, 1, 2, 6, 24][n] as number;
    expect(orders).toHaveLength(factorial);
    expect(new Set(orders.map(key)).size).toBe(factorial);
    expect(orders.every((o) => isPermutation(o, n))).toBe(true);
    expect(orders[0]).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(orders.map(key)).toEqual([...orders.map(key)].sort());
  });

  it.each([5, 8, 64])('samples SAMPLED_ORDERS distinct permutations of %i CPUs: written, reversed, seeded', (n) => {
    expect(n).toBeGreaterThan(EXHAUSTIVE_CPUS);
    const orders = cpuOrders(n, 'a.yaml');
    expect(orders).toHaveLength(SAMPLED_ORDERS);
    expect(new Set(orders.map(key)).size).toBe(SAMPLED_ORDERS);
    expect(orders.every((o) => isPermutation(o, n))).toBe(true);
    expect(orders[0]).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(orders[1]).toEqual(Array.from({ length: n }, (_, i) => n - 1 - i));
    // Deterministic per scenario, different across scenarios.
    expect(cpuOrders(n, 'a.yaml')).toEqual(orders);
    expect(cpuOrders(n, 'b.yaml').slice(2)).not.toEqual(orders.slice(2));
  });

  it('allOrders(0) is the empty order', () => {
    expect(allOrders(0)).toEqual([[]]);
  });
});
