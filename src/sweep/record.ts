/**
 * A point's record in a sweep's store, and the reader the report codes against: one record per
 * point of a study, ordered by index.
 */
import Database from 'better-sqlite3';

export interface PointRecord {
  /** The study's name. */
  study: string;
  /** The point's place in the study's cross product (the first axis outermost). */
  index: number;
  /** Stable key: the axes as `name=value` joined by commas (`strategy=sync-rcu,cpus=64,seed=1`). */
  key: string;
  axes: Record<string, string | number | boolean>;
  kind: 'sim' | 'compare' | 'check';
  /** The point's resolved scenario (as results echo it: ResolvedScenario). */
  scenario: unknown;
  /** The JSON document `ptlab sim|compare|check --json` prints for the point (ptlab.sim/1, ptlab.compare/2, ptlab.check/2). */
  result: unknown;
  ptlabVersion: string;
}

interface Row {
  study: string;
  idx: number;
  key: string;
  axes: string;
  kind: 'sim' | 'compare' | 'check';
  scenario: string;
  result: string;
  ptlab_version: string;
}

/** Every record of the store at `path` (of every study in it), ordered by study and index. */
export function readRecords(path: string): PointRecord[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT study, idx, key, axes, kind, scenario, result, ptlab_version FROM points ORDER BY study, idx').all() as Row[];
    return rows.map((r) => ({
      study: r.study,
      index: r.idx,
      key: r.key,
      axes: JSON.parse(r.axes) as PointRecord['axes'],
      kind: r.kind,
      scenario: JSON.parse(r.scenario) as unknown,
      result: JSON.parse(r.result) as unknown,
      ptlabVersion: r.ptlab_version,
    }));
  } finally {
    db.close();
  }
}
