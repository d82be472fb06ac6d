/**
 * Footprints: what a step reads and writes, and when two steps conflict. The partial-order
 * reduction's notion of dependence (docs/model.md §1.3 for commuting accesses).
 */
import type { Op } from '../../core/op.js';
import type { StepRecord } from '../../core/trace.js';

/**
 * Locations a step reads and writes. Footprints are small: arrays beat sets here. A step with a
 * commutativity tag (AccessOp.commutes) also lists the locations it commutes on.
 */
export interface Footprint {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly commutes?: { readonly tag: string; readonly locs: readonly string[] };
}

export function footprintOf(p: { readonly reads: readonly string[]; readonly writes: readonly string[]; readonly op?: Op }): Footprint {
  const op = p.op;
  return { reads: p.reads, writes: p.writes, commutes: op?.kind === 'access' && op.commutes !== undefined ? { tag: op.commutes, locs: op.writes } : undefined };
}

/** An executed step's footprint: what it read, and what it actually wrote. */
export function recordFootprint(r: StepRecord): Footprint {
  const writes = r.writes.length === 0 ? [] : r.writes.map(([l]) => l);
  return { reads: r.reads, writes, commutes: r.commutes };
}

/** Do `a` and `b` commute on location `loc` (same tag, both covering it)? */
export function commuteOn(a: Footprint, b: Footprint, loc: string): boolean {
  return a.commutes !== undefined && b.commutes !== undefined && a.commutes.tag === b.commutes.tag && a.commutes.locs.includes(loc) && b.commutes.locs.includes(loc);
}

/**
 * Two steps of different threads conflict if one writes a location the other reads or writes,
 * unless the two commute on it.
 */
export function conflicts(a: Footprint, b: Footprint): boolean {
  // Without commutativity tags on both sides (most steps), no shared location commutes.
  const tagged = a.commutes !== undefined && b.commutes !== undefined;
  for (const w of a.writes) if ((b.writes.includes(w) || b.reads.includes(w)) && !(tagged && commuteOn(a, b, w))) return true;
  for (const w of b.writes) if (a.reads.includes(w) && !(tagged && commuteOn(a, b, w))) return true;
  return false;
}

