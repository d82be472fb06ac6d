/**
 * Writes the small instances of bench/spin-scenarios.ts into scenarios/check/spin/ (the catalog
 * test explores each exhaustively): one per row of the Promela anchor, N=2 walkers, W=1 walk,
 * except d-pv at N=1 (its N=2 space is millions of executions: docs/performance.md).
 *
 *   npx tsx bench/spin-catalog.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPIN_ROWS, spinCatalogFile, spinCatalogSize, spinScenarioYaml } from './spin-scenarios.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios', 'check', 'spin');
mkdirSync(dir, { recursive: true });
for (const row of SPIN_ROWS) {
  const [n, w] = spinCatalogSize(row);
  const file = join(dir, spinCatalogFile(row));
  writeFileSync(file, spinScenarioYaml(row, n, w));
  console.log(file);
}
