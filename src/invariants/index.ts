/** The named invariants (kernel.md §6), by id. Scenarios choose which to check. */
import type { Property } from '../core/index.js';
import { gupFastPinsOwnPages } from './gup-fast-pins-own-pages.js';
import { noIpiWithIrqsOff } from './no-ipi-with-irqs-off.js';
import { noSleepInAtomic } from './no-sleep-in-atomic.js';
import { noStaleWalkCache } from './no-stale-walk-cache.js';
import { noWalkOfFreedTable } from './no-walk-of-freed-table.js';
import { noWalkOfReusedTable } from './no-walk-of-reused-table.js';
import { noGupFastPinOfCollapsedPage } from './no-gup-fast-pin-of-collapsed-page.js';
import { deferredFreesDrain } from './deferred-frees-drain.js';
import { noBadPmdPopulate } from './no-bad-pmd-populate.js';
import { noTlbEntryToFreedPage } from './no-tlb-entry-to-freed-page.js';
import { noStaleTlbAfterZap } from './no-stale-tlb-after-zap.js';
import { noPresentSwapPmd } from './no-present-swap-pmd.js';

export const INVARIANTS: readonly Property[] = [
  noWalkOfFreedTable,
  noWalkOfReusedTable,
  noStaleWalkCache,
  noSleepInAtomic,
  noIpiWithIrqsOff,
  gupFastPinsOwnPages,
  noGupFastPinOfCollapsedPage,
  deferredFreesDrain,
  // per-VMA locks (issue #11)
  noBadPmdPopulate,
  noTlbEntryToFreedPage,
  noStaleTlbAfterZap,
  // split and migration entries (issue #11)
  noPresentSwapPmd,
];

export const INVARIANT_IDS: readonly string[] = INVARIANTS.map((p) => p.id);

export function invariantById(id: string): Property | undefined {
  return INVARIANTS.find((p) => p.id === id);
}
