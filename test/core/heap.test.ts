/** The simulator's event heap: earliest time first, equal times in insertion order. */
import { describe, expect, it } from 'vitest';
import { EventHeap } from '../../src/core/heap.js';
import { Prng } from '../../src/core/prng.js';

function drain(h: EventHeap): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let item = h.pop(); item >= 0; item = h.pop()) out.push([h.lastTime, item]);
  return out;
}

describe('EventHeap', () => {
  it('pops -1 when empty', () => {
    const h = new EventHeap();
    expect(h.pop()).toBe(-1);
    expect(h.peekTime()).toBeUndefined();
    expect(h.size).toBe(0);
  });

  it('pops by time, then in insertion order, across growth', () => {
    const h = new EventHeap();
    const rng = new Prng(7);
    const pushed: Array<[number, number, number]> = [];
    // More than the initial capacity, with many equal times.
    for (let i = 0; i < 5000; i++) {
      const t = rng.nextInt(50);
      h.push(t, i);
      pushed.push([t, i, i]);
    }
    expect(h.size).toBe(5000);
    expect(h.peekTime()).toBe(0);
    const expected = [...pushed].sort((a, b) => a[0] - b[0] || a[2] - b[2]).map(([t, item]): [number, number] => [t, item]);
    expect(drain(h)).toEqual(expected);
  });

  it('keeps insertion order between pushes interleaved with pops', () => {
    const h = new EventHeap();
    h.push(10, 1);
    h.push(5, 2);
    expect(h.pop()).toBe(2);
    h.push(10, 3);
    h.push(10, 4);
    expect(drain(h)).toEqual([[10, 1], [10, 3], [10, 4]]);
  });

  it('says whether an entry pushed now would pop first', () => {
    const h = new EventHeap();
    expect(h.wouldPopFirst(100)).toBe(true);
    h.push(10, 1);
    expect(h.wouldPopFirst(9)).toBe(true);
    // An equal time pops after the entries already there.
    expect(h.wouldPopFirst(10)).toBe(false);
    expect(h.wouldPopFirst(11)).toBe(false);
  });

  it('rejects items that are not non-negative int32s', () => {
    const h = new EventHeap();
    expect(() => h.push(0, -1)).toThrow(RangeError);
    expect(() => h.push(0, 1.5)).toThrow(RangeError);
  });
});
