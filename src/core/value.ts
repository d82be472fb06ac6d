/**
 * Values held in the shared store. They are plain immutable data (never mutated after being
 * written), so an execution can be replayed, compared and serialised.
 */

/** A shared location's name, e.g. `cpu1.irqs_off` or `pt.pte0.0`. */
export type Loc = string;

/** The same locations in the same order. */
export function sameLocs(a: readonly Loc[], b: readonly Loc[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export type Value =
  | null
  | boolean
  | number
  | string
  | readonly Value[]
  | { readonly [key: string]: Value };

/** An event a step reports to the property monitors, e.g. a walker reading a table page. */
export interface DomainEvent {
  readonly type: string;
  readonly [key: string]: Value;
}

/** Structural equality of two values. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valueEquals(a[i] as Value, b[i] as Value)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  const bo = b as { readonly [key: string]: Value };
  const ao = a as { readonly [key: string]: Value };
  for (const k of ak) {
    if (!(k in bo)) return false;
    if (!valueEquals(ao[k] as Value, bo[k] as Value)) return false;
  }
  return true;
}

/** Compact, deterministic rendering of a value for traces. */
export function formatValue(v: Value): string {
  return JSON.stringify(v);
}

/**
 * Location names are built by small functions (`cpu${c}.ctx`, `pt.${table}.${i}`) called on every
 * step. These wrappers hand back the same string object for the same arguments: the store's and
 * the engines' maps then hash a name once instead of building and hashing a new string per step.
 * internByIndex() serves other per-CPU constants too (frozen footprints, descriptions).
 */
export function internByIndex<T = Loc>(build: (i: number) => T): (i: number) => T {
  const cache: T[] = [];
  return (i) => (cache[i] ??= build(i));
}

export function internByKey(name: (key: string) => Loc): (key: string) => Loc {
  const cache = new Map<string, Loc>();
  return (key) => {
    let loc = cache.get(key);
    if (loc === undefined) cache.set(key, (loc = name(key)));
    return loc;
  };
}

export function internByKeyIndex(name: (key: string, i: number) => Loc): (key: string, i: number) => Loc {
  const cache = new Map<string, Loc[]>();
  return (key, i) => {
    let row = cache.get(key);
    if (row === undefined) cache.set(key, (row = []));
    return (row[i] ??= name(key, i));
  };
}
