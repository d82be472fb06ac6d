/**
 * Wakeup trees, for optimal dynamic partial-order reduction (Abdulla, Aronis, Jonsson and
 * Sagonas, "Source Sets: A Foundation for Optimal Dynamic Partial Order Reduction", JACM 64(4),
 * 2017, Algorithm 2 and section 6.1).
 *
 * Source-set DPOR remembers, at a node, only the first thread of each reversal it must explore;
 * following that thread may lead into an execution where every enabled thread is asleep (a
 * "sleep-set blocked" execution: redundant work). A wakeup tree remembers the whole sequence that
 * reverses a race (the events that do not depend on the earlier step, then the later step), and
 * the exploration follows it, so that no execution is sleep-set blocked and each Mazurkiewicz
 * trace is explored once.
 *
 * A tree is an ordered list of branches; a branch is a step (a thread, and for a `choose` step the
 * option taken) with the footprint it had when it was recorded, and its subtree. The leftmost
 * branch is explored first.
 *
 * Sequences come from different executions, in which a spawned thread can have another id (ids
 * follow creation order, and two threads may spawn in either order): trees and the comparisons
 * between sequences name a thread by its stable id (`sid`), the same in every execution. Vector
 * clocks, which only relate events of one execution, stay indexed by id.
 */
import { conflicts, type Footprint } from './footprint.js';

/** An event of the current execution, as the trees see it. */
export interface SeqEvent {
  /** The thread's id in the execution the event comes from (what vector clocks are indexed by). */
  readonly thread: number;
  /**
   * The thread's stable id: the same thread in every execution. An initial thread's is its index;
   * a spawned thread's is interned from its creator's stable id and the creator's step that
   * spawned it (Explorer).
   */
  readonly sid: number;
  /** For a `choose` step, the option taken. */
  readonly choice: number | undefined;
  readonly fp: Footprint;
  /** Vector clock (for each thread, how many of its events happen before or are this one). */
  readonly vc: readonly number[];
  /** This event's position in its thread (1-based). */
  readonly seq: number;
}

export interface WakeupBranch {
  /** The stable id of the thread that takes this step (SeqEvent.sid). */
  readonly sid: number;
  readonly choice: number | undefined;
  /**
   * Null only for the branch a node starts with when its tree is empty, while the exploration
   * takes it: its footprint is then that of the step the path took there, and the Explorer fills
   * it in from the path before anything reads it (Explorer.reverseRaces()).
   */
  fp: Footprint | null;
  readonly children: WakeupBranch[];
}

/** Does `e` happen before (or equal) the point whose clock is `vc`? */
export function hb(e: SeqEvent, vc: readonly number[]): boolean {
  return (vc[e.thread] ?? 0) >= e.seq;
}

/** Is w[a] an initial of w: no earlier event of w happens before it? */
export function isInitial(w: readonly SeqEvent[], a: number): boolean {
  const x = w[a] as SeqEvent;
  for (let b = 0; b < a; b++) if (hb(w[b] as SeqEvent, x.vc)) return false;
  return true;
}

/**
 * Is the step (of the thread with stable id `sid`, option `choice`, footprint `fp`) a weak initial
 * of `w` (JACM Definition 6.1: w can be reordered to start with it, or it commutes with all of w)?
 * With `choice` undefined, any option of the thread's step matches (a thread asleep after all its
 * options were explored). Without a footprint, a thread that has no event in `w` does not count.
 */
export function weakInitial(sid: number, choice: number | undefined, fp: Footprint | undefined, w: readonly SeqEvent[]): boolean {
  for (let a = 0; a < w.length; a++) {
    const x = w[a] as SeqEvent;
    if (x.sid !== sid) continue;
    if (choice !== undefined && x.choice !== choice) return false;
    return isInitial(w, a);
  }
  if (fp === undefined) return false;
  for (const x of w) if (conflicts(fp, x.fp)) return false;
  return true;
}

/**
 * insert[E](v, wut) (JACM section 6.1): descend along the leftmost branches whose step is a weak
 * initial of what is left of `v` (removing that thread's first event from it); if a leaf is
 * reached, or nothing is left, an explored-to-be sequence already covers `v`; otherwise `v`'s rest
 * becomes the rightmost new branch there.
 */
export function insert(tree: WakeupBranch[], v: readonly SeqEvent[]): void {
  let children = tree;
  let w = v;
  for (;;) {
    let found: WakeupBranch | undefined;
    for (const u of children) {
      if (u.fp === null) throw new Error('wakeup tree: a branch without its footprint');
      if (weakInitial(u.sid, u.choice, u.fp, w)) {
        found = u;
        break;
      }
    }
    if (found === undefined) {
      children.push(chain(w));
      return;
    }
    if (found.children.length === 0) return;
    w = without(w, found.sid);
    if (w.length === 0) return;
    children = found.children;
  }
}

/** `w` without the first event of the thread with stable id `sid` (`w` itself if it has none). */
function without(w: readonly SeqEvent[], sid: number): readonly SeqEvent[] {
  let k = 0;
  while (k < w.length && (w[k] as SeqEvent).sid !== sid) k++;
  if (k === w.length) return w;
  const out = new Array<SeqEvent>(w.length - 1);
  for (let i = 0; i < k; i++) out[i] = w[i] as SeqEvent;
  for (let i = k + 1; i < w.length; i++) out[i - 1] = w[i] as SeqEvent;
  return out;
}

/** The sequence `w` as a chain of branches. */
function chain(w: readonly SeqEvent[]): WakeupBranch {
  let node: WakeupBranch | undefined;
  for (let i = w.length - 1; i >= 0; i--) {
    const x = w[i] as SeqEvent;
    node = { sid: x.sid, choice: x.choice, fp: x.fp, children: node ? [node] : [] };
  }
  if (!node) throw new Error('wakeup tree: empty sequence');
  return node;
}
