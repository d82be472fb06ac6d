/** A pool worker of `ptlab sweep` and `ptlab worker`: runs one point (src/sweep/point.ts). */
import { runPoint, type PointOutcome } from './point.js';
import type { PointTask } from './study.js';

export default function (task: PointTask): PointOutcome {
  return runPoint(task);
}
