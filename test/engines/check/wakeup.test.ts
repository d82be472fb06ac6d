import { describe, expect, it } from 'vitest';
import type { Footprint } from '../../../src/engines/check/footprint.js';
import { insert, isInitial, weakInitial, type SeqEvent, type WakeupBranch } from '../../../src/engines/check/wakeup.js';

const fp = (reads: string[], writes: string[]): Footprint => ({ reads, writes });

/** An event of thread `thread` (its stable id too), `seq`-th of its thread, after the events whose clocks `after` lists. */
function ev(thread: number, seq: number, f: Footprint, after: ReadonlyArray<readonly number[]> = [], choice?: number): SeqEvent {
  const vc: number[] = [];
  for (const c of after) for (let i = 0; i < c.length; i++) vc[i] = Math.max(vc[i] ?? 0, c[i] ?? 0);
  vc[thread] = seq;
  return { thread, sid: thread, seq, fp: f, vc, choice };
}

const shape = (tree: readonly WakeupBranch[]): unknown => tree.map((b) => [b.choice === undefined ? b.sid : `${b.sid}:${b.choice}`, shape(b.children)]);

describe('wakeup trees', () => {
  // a: thread 1 writes x; b: thread 2 reads x after a (so a happens before b); c: thread 3 writes y.
  const a = ev(1, 1, fp([], ['x']));
  const b = ev(2, 1, fp(['x'], []), [a.vc]);
  const c = ev(3, 1, fp([], ['y']));

  it('initials: an event no earlier event of the sequence happens before', () => {
    expect(isInitial([a, b], 0)).toBe(true);
    expect(isInitial([a, b], 1)).toBe(false);
    expect(isInitial([c, a], 1)).toBe(true);
  });

  it('weak initials: an initial, or a thread whose next step commutes with the whole sequence', () => {
    expect(weakInitial(1, undefined, undefined, [a, b])).toBe(true);
    expect(weakInitial(2, undefined, undefined, [a, b])).toBe(false);
    expect(weakInitial(4, undefined, fp(['z'], ['z']), [a, b])).toBe(true);
    expect(weakInitial(4, undefined, fp(['x'], []), [a, b])).toBe(false);
    // No footprint for a thread absent from the sequence: not counted.
    expect(weakInitial(4, undefined, undefined, [a, b])).toBe(false);
    // Choose steps: the option must match unless any option will do.
    const ch = ev(5, 1, fp([], []), [], 1);
    expect(weakInitial(5, 1, undefined, [ch])).toBe(true);
    expect(weakInitial(5, 0, undefined, [ch])).toBe(false);
    expect(weakInitial(5, undefined, undefined, [ch])).toBe(true);
  });

  it('insert adds a sequence as a branch once, and shares covered prefixes', () => {
    const tree: WakeupBranch[] = [];
    insert(tree, [a, b]);
    expect(shape(tree)).toEqual([[1, [[2, []]]]]);
    // The same sequence again, or one that reorders independent events: covered.
    insert(tree, [a, b]);
    insert(tree, [c, a, b].filter((x) => x !== c));
    expect(shape(tree)).toEqual([[1, [[2, []]]]]);
    // c then a: a is an initial, so the walk enters branch 1; c commutes with 2's step, so 2 is
    // a weak initial of what is left: 1.2 followed by c is equivalent to c.a.b, covered.
    insert(tree, [c, a]);
    expect(shape(tree)).toEqual([[1, [[2, []]]]]);
    // a then a write of x by thread 3: below 1, 2's read of x does not commute with it: a new child.
    const e = ev(3, 1, fp([], ['x']), [a.vc]);
    insert(tree, [a, e]);
    expect(shape(tree)).toEqual([[1, [[2, []], [3, []]]]]);
    // A sequence starting with a step that conflicts with a: a new branch at the root.
    const d = ev(4, 1, fp(['x'], ['x']));
    insert(tree, [d]);
    expect(shape(tree)).toEqual([[1, [[2, []], [3, []]]], [4, []]]);
  });

  it('insert stops at a leaf: the exploration below it is free', () => {
    const tree: WakeupBranch[] = [{ sid: 1, choice: undefined, fp: a.fp, children: [] }];
    insert(tree, [a, b]);
    expect(shape(tree)).toEqual([[1, []]]);
  });
});
