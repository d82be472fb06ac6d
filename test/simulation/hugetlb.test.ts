/**
 * hugetlb fork + exit in the simulator (the shape of scenarios/sim/hugetlb-fork-exit.yaml, made
 * small): a parent shares its hugetlb PMD tables with children that share them at "fork" and
 * unshare them at exit. 1013af4f585f sends one sync broadcast per table per exit; 8ce720d5bd91
 * one per exit that leaves a table exclusive, none otherwise.
 */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { simConfigOf, simulateScenario } from '../../src/simulation/run.js';
import { compareRows } from '../../src/report/compare.js';

const TABLES = 8;
const CPUS = 16;

function text(children: number): string {
  const idle = Array.from({ length: CPUS - 1 - children }, () => '  - { cstate: C1 }').join('\n');
  const mms = Array.from({ length: children }, (_, c) =>
    `  C${c}: { vmas: [ { name: heap, start: 0, end: 1, mapped: false } ], hugetlb: { name: sga, file: DB, mapped: false } }`).join('\n');
  const cpus = Array.from({ length: children }, (_, c) => `  - { mm: C${c}, run: [ { mmap: sga }, exit_mmap ], repeat: 3 }`).join('\n');
  return `name: hugetlb-fork-exit-small
machine: { arch: x86, cpus: ${CPUS} }
config: { batch_alloc: succeeds }
hugetlbfs:
  DB: { tables: ${TABLES}, pages: 1 }
mm:
  P: { vmas: [ { name: text, start: 0, end: 1 } ], hugetlb: { name: sga, file: DB } }
${mms}
cpus:
  - { mm: P, run: [ { gup_fast_hugetlb: { table: 1 } } ] }
${cpus}
${idle}
sim:
  duration: 1s
`;
}

function run(preset: string, children: number) {
  const s = scenarioFromText(text(children), 'hugetlb-fork-exit-small', { purpose: 'sim', preset });
  const r = simulateScenario(s, simConfigOf(s));
  expect(r.result.violations).toEqual([]);
  expect(r.metrics.operations.exit_mmap?.count).toBe(3 * children);
  return { s, r, syncs: r.metrics.smpCalls.tlb_remove_table_smp_sync ?? 0 };
}

describe('hugetlb fork + exit', () => {
  it('per_table_ipi: one broadcast to every other CPU per unshared table per exit; batched: one per exit that leaves the parent alone', () => {
    const perTable = run('hugetlb-per-table-ipi', 1);
    const batched = run('hugetlb-batched', 1);
    expect(perTable.syncs).toBe(3 * TABLES);
    expect(perTable.r.metrics.interrupts.reduce((a, i) => a + i.CAL, 0)).toBe(3 * TABLES * (CPUS - 1));
    expect(batched.syncs).toBe(3);
    expect(batched.r.metrics.operations.exit_mmap!.avg).toBeLessThan(perTable.r.metrics.operations.exit_mmap!.avg / 4);
    const rows = compareRows(perTable.s.resolved, [perTable, batched].map((c, i) => ({ strategy: i ? 'hugetlb-batched' : 'hugetlb-per-table-ipi', metrics: c.r.metrics, violations: 0, time: c.r.result.time })));
    expect(rows.find((r) => r[0] === 'sync IPI broadcasts per munmap/exit')?.slice(1)).toEqual([`${TABLES}.0`, '1.0']);
  });

  it('batched, two children: an exit while the other child still shares the tables sends no broadcast', () => {
    const batched = run('hugetlb-batched', 2);
    expect(batched.syncs).toBeGreaterThanOrEqual(1);
    expect(batched.syncs).toBeLessThan(6);
    const perTable = run('hugetlb-per-table-ipi', 2);
    expect(perTable.syncs).toBe(6 * TABLES);
  });
});
