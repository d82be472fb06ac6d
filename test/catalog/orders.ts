/**
 * The orders of a scenario's `cpus:` list the order-independence test checks: every permutation
 * up to EXHAUSTIVE_CPUS CPUs, and above that a deterministic sample of SAMPLED_ORDERS: the list
 * as written, reversed, and seeded random permutations (the seed comes from the scenario's name,
 * so each scenario always gets the same sample and different scenarios get different ones).
 *
 * An order lists the written CPUs in their new order: `[2, 0, 1]` makes the third entry CPU0
 * (src/scenarios/permute.ts).
 */
import { Prng } from '../../src/core/index.js';

/** Scenarios with at most this many CPUs are checked under every permutation (4! = 24). */
export const EXHAUSTIVE_CPUS = 4;
/** Orders checked for a larger scenario, the written one included. */
export const SAMPLED_ORDERS = 8;

/** Every permutation of 0..n-1, in lexicographic order (the identity first). */
export function allOrders(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  const tails = allOrders(n - 1);
  return Array.from({ length: n }, (_, first) => tails.map((tail) => [first, ...tail.map((x) => (x >= first ? x + 1 : x))])).flat();
}

/** A 32-bit FNV-1a hash of `text`: the sample's seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A uniform random permutation of 0..n-1 (Fisher-Yates). */
function shuffled(n: number, prng: Prng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

/**
 * The orders to check for a scenario of `n` CPUs named `name`: all of them up to EXHAUSTIVE_CPUS,
 * else the written order, its reverse and distinct seeded random ones, SAMPLED_ORDERS in all.
 * The written order always comes first.
 */
export function cpuOrders(n: number, name: string): number[][] {
  if (n <= EXHAUSTIVE_CPUS) return allOrders(n);
  const identity = Array.from({ length: n }, (_, i) => i);
  const orders = [identity, [...identity].reverse()];
  const seen = new Set(orders.map((o) => o.join(',')));
  const prng = new Prng(fnv1a(name));
  while (orders.length < SAMPLED_ORDERS) {
    const o = shuffled(n, prng);
    if (seen.has(o.join(','))) continue;
    seen.add(o.join(','));
    orders.push(o);
  }
  return orders;
}
