/**
 * "Did you mean": the closest known name to a misspelt one (Levenshtein distance, through
 * fastest-levenshtein), when it is close enough to be a likely typo.
 */
import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

/** ` (did you mean 'x'?)`, or '' when no candidate is within a third of its length (at least 2 edits). */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const list = [...candidates];
  if (list.length === 0) return '';
  const best = closest(word, list);
  return distance(word, best) <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/** The keys an object schema takes at `path` within `schema` (through optionals, defaults, arrays, records, unions), or []. */
export function keysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  const unwrap = (s: z.ZodType): z.ZodType[] => {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) return unwrap(s.def.innerType as z.ZodType);
    if (s instanceof z.ZodPipe) return unwrap(s.def.in as z.ZodType);
    if (s instanceof z.ZodLazy) return unwrap(s.def.getter() as z.ZodType);
    if (s instanceof z.ZodUnion) return (s.def.options as z.ZodType[]).flatMap(unwrap);
    return [s];
  };
  let at = unwrap(schema);
  for (const seg of path) {
    const next: z.ZodType[] = [];
    for (const s of at) {
      if (s instanceof z.ZodObject && typeof seg === 'string' && seg in s.shape) next.push(...unwrap(s.shape[seg] as z.ZodType));
      else if (s instanceof z.ZodArray && typeof seg === 'number') next.push(...unwrap(s.element as z.ZodType));
      else if (s instanceof z.ZodRecord) next.push(...unwrap(s.def.valueType as z.ZodType));
    }
    at = next;
  }
  return [...new Set(at.flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : [])))];
}
