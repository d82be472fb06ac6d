/**
 * One point of a study, as the sweep stores it (src/sweep/record.ts). `result` is exactly the JSON
 * document `ptlab sim|compare|check --json` prints for the point (docs/json.md).
 */
export type { PointRecord } from '../sweep/record.js';
