/** Scenario validation of hugetlbfs files, hugetlb mappings and their steps. */
import { describe, expect, it } from 'vitest';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { ScenarioError } from '../../src/scenarios/loader.js';

function scenario(mm: string, run: string, files = 'hugetlbfs:\n  F: { tables: 2, pages: 2 }\n'): string {
  return `name: h
machine: { arch: x86, cpus: 1 }
${files}mm:
  A: { vmas: [ { name: text, start: 0, end: 1 } ], ${mm} }
cpus:
  - { mm: A, run: [ ${run} ] }
`;
}

function messages(text: string): string[] {
  try {
    scenarioFromText(text, 'x.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues.map((i) => i.message);
    throw e;
  }
  return [];
}

describe('hugetlb in scenarios', () => {
  it('accepts a mapping of a defined file, its munmap/mmap by name, and the hugetlb steps', () => {
    const s = scenarioFromText(scenario('hugetlb: { name: shm, file: F }', '{ gup_fast_hugetlb: { table: 1, page: 1 } }, { munmap: shm }, { mmap: shm }, { hugetlb_reuse: { table: 0 } }'));
    expect(s.kernel.hugetlbfs?.get('F')).toEqual({ name: 'F', tables: 2, pages: 2 });
    expect(s.kernel.mms.get('A')?.hugetlb).toEqual({ name: 'shm', file: 'F', mapped: true });
    expect(s.resolved.cpu[0]?.run).toEqual([
      'gup_fast of hugetlb table 1, page 1', 'munmap(shm)', 'mmap(shm)', 'reuse hugetlb table 0 once exclusive (a THP at page 0)',
    ]);
  });

  it('rejects an unknown file, a name clash, out-of-range tables and pages, and hugetlb steps without a mapping', () => {
    expect(messages(scenario('hugetlb: { name: shm, file: G }', 'idle'))).toEqual([expect.stringMatching(/unknown hugetlbfs file 'G'/)]);
    expect(messages(scenario('hugetlb: { name: text, file: F }', 'idle'))).toEqual([expect.stringMatching(/VMA name 'text' is used twice/)]);
    expect(messages(scenario('hugetlb: { name: shm, file: F }', '{ gup_fast_hugetlb: { table: 2 } }'))).toEqual([expect.stringMatching(/table 2 is beyond the 2 PMD table/)]);
    expect(messages(scenario('hugetlb: { name: shm, file: F }', '{ hugetlb_reuse: { page: 2 } }'))).toEqual([expect.stringMatching(/page 2 is beyond the 2 huge page/)]);
    expect(messages(scenario('ptes_per_table: 1', '{ gup_fast_hugetlb: { table: 0 } }'))).toEqual([expect.stringMatching(/has no hugetlb mapping/)]);
  });
});
