/**
 * One point of a study, as the sweep stores it (src/sweep/record.ts is the original; this copy is
 * the contract the report codes against until the two are merged). `result` is exactly the JSON
 * document `ptlab sim|compare|check --json` prints for the point (docs/json.md).
 */
export interface PointRecord {
  study: string;
  index: number;
  key: string;
  axes: Record<string, string | number | boolean>;
  kind: 'sim' | 'compare' | 'check';
  scenario: unknown;
  result: unknown;
  ptlabVersion: string;
}
