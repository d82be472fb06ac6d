/**
 * The no-bad-pmd-populate monitor on the `pmd_install` events collapse_huge_page() emits
 * (src/model/mm/khugepaged.ts collapse_install_pmd()): each way a PMD write can be bad, and the
 * good ones. The model reaches the garbage and overwrite cases (test/model/include/linux/
 * mmap_lock.test.ts, scenarios/check/vma-lock/*); the stale case is a guard the model's locking
 * never lets happen (nobody can free the table the collapse unlinked), so it is checked here on
 * its event alone.
 */
import { describe, expect, it } from 'vitest';
import type { DomainEvent, StepRecord } from '../../src/core/index.js';
import { noBadPmdPopulate } from '../../src/invariants/no-bad-pmd-populate.js';
import { invariantById } from '../../src/invariants/index.js';

const step = {} as StepRecord;
const base = { type: 'pmd_install', cpu: 0, fn: 'pmd_populate', pmd_table: 'A.pmd', slot: 0, old: null, garbage: false, table: 'A.pte0', gen: 1, state: 'pgtable', page_gen: 1 };
const verdict = (over: Record<string, unknown>): string | null => {
  const m = noBadPmdPopulate.monitor();
  const v = m.onEvent({ ...base, ...over } as unknown as DomainEvent, step);
  return v ? v.message : null;
};

describe('no-bad-pmd-populate', () => {
  it('is registered under its id', () => {
    expect(invariantById('no-bad-pmd-populate')).toBe(noBadPmdPopulate);
  });

  it('holds for a re-populate of the live table it unlinked, and for set_pmd_at() of a THP over a none entry', () => {
    expect(verdict({})).toBeNull();
    expect(verdict({ fn: 'map_anon_folio_pmd_nopf', table: null, gen: null, state: null, page_gen: null })).toBeNull();
    expect(verdict({ type: 'walk_read' })).toBeNull();
  });

  it('is violated by pmd_populate(pmd_pgtable(_pmd)) of a none _pmd (366a4532d96f)', () => {
    expect(verdict({ garbage: true, table: null, gen: null, state: null, page_gen: null })).toMatch(/garbage table pointer/);
  });

  it('is violated when the PMD is no longer none (a fault populated it under the VMA lock)', () => {
    expect(verdict({ fn: 'map_anon_folio_pmd_nopf', old: { table: 'pfn0', gen: 1 }, table: null })).toMatch(/no longer none .*pfn0.*overwritten/);
  });

  it('is violated by a stale table: freed, or freed and reallocated (another generation)', () => {
    expect(verdict({ state: 'free' })).toMatch(/re-links A.pte0 \(gen 1\), which is now free \(gen 1\): a stale table pointer/);
    expect(verdict({ page_gen: 2 })).toMatch(/now pgtable \(gen 2\): a stale table pointer/);
  });
});
