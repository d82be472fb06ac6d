/**
 * PMD migration entries (issue #11): mm/huge_memory.c set_pmd_migration_entry(),
 * remove_migration_pmd(), __split_huge_pmd_locked() on a migration entry (3a5a8d343e1c), arm64's
 * pmd_mkinvalid() on a swap PMD (e783331c7720), and what GUP-fast and the fault path make of the
 * entry, driven through explicit schedules.
 */
import { describe, expect, it } from 'vitest';
import type { Driver } from '../../../src/core/index.js';
import { ptLoc } from '../../../src/model/state.js';
import { drain, drive, events, finish, load, settle, theEvent, violationsOf } from '../helpers.js';

/** CPU0, a task of A, collapses slot 0 and migrates the THP (splitting it meanwhile if `split`); CPU1 runs `cpu1`. */
function migrateYaml(arch: string, config: string, split: boolean, cpu1 = '{ gup_fast: { slot: 0 } }'): string {
  return [
    'name: migrate-test',
    `machine: { arch: ${arch}, cpus: 2 }`,
    `config: { ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    '      - { name: heap, start: 0, end: 1 }',
    'cpus:',
    `  - { mm: A, run: [ { collapse: { slot: 0 } }, { migrate_thp: { slot: 0, split: ${split} } } ] }`,
    `  - { mm: A, run: [ ${cpu1} ] }`,
    'check:',
    '  invariants: [no-present-swap-pmd, gup-fast-pins-own-pages, no-walk-of-freed-table, no-walk-of-reused-table]',
    '',
  ].join('\n');
}

/**
 * Step task `tid` (and, when it waits for them, IPI handlers and other non-task threads) until its
 * next step's description starts with `desc`; that step is not performed.
 */
function runTo(d: Driver, tid: number, desc: string): void {
  for (let n = 0; n < 10_000; n++) {
    if (d.done(tid)) throw new Error(`finished before '${desc}'`);
    if (d.enabled(tid)) {
      if (d.pending(tid).desc.startsWith(desc)) {
        // Let interrupt handlers still running on other CPUs end, so their tasks can run.
        settle(d);
        return;
      }
      d.step(tid, d.pending(tid).kind === 'choose' ? 0 : undefined);
      continue;
    }
    const helper = d.exec.enabled().find((t) => d.exec.thread(t).spec.kind !== 'task');
    if (helper === undefined) throw new Error(`blocked at ${d.pending(tid).fn} before '${desc}'`);
    d.step(helper, d.pending(helper).kind === 'choose' ? 0 : undefined);
  }
  throw new Error(`no '${desc}'`);
}

const PMD = ptLoc('A.pmd', 0);

describe('set_pmd_migration_entry() and remove_migration_pmd()', () => {
  it('replace the THP with a migration entry after pmdp_invalidate() and its flush, then map it again', () => {
    const { d } = drive(migrateYaml('arm64', '', false, 'idle'));
    const mig = d.tid('khugepaged');
    runTo(d, mig, 'set_pmd_at(A.pmd[0], swp_entry_to_pmd');
    // pmdp_invalidate() has run (and flushed): the THP is invalid, not yet a migration entry.
    expect(d.exec.read(PMD)).toEqual({ pfn: 'A.thp0', invalid: true });
    const fns = d.exec.trace.map((r) => r.fn);
    expect(fns.lastIndexOf('__flush_tlb_range')).toBeGreaterThan(fns.lastIndexOf('pmdp_invalidate'));
    runTo(d, mig, 'set_pmd_at(A.pmd[0], mk_huge_pmd');
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0' });
    drain(d);
    expect(d.exec.read(PMD)).toEqual({ pfn: 'A.thp0' });
    expect(d.exec.violations).toEqual([]);
  });
});

describe('__split_huge_pmd_locked() on a migration entry', () => {
  it('present_only (3a5a8d343e1c): no pmdp_invalidate(), PTE migration entries, no walker sees it present', () => {
    const { d } = drive(migrateYaml('arm64', 'split_pmd_invalidate: present_only, arm64_pmd_mkinvalid: always', true));
    const mig = d.tid('khugepaged');
    runTo(d, mig, 'spin_lock(page_table_lock:A)');
    runTo(d, mig, 'read A.pmd[0]');
    runTo(d, mig, 'pmd_populate(A.pmd[0]');
    const split = d.exec.trace.filter((r) => r.index > d.exec.trace.findIndex((x) => x.fn === '__split_huge_pmd'));
    expect(split.map((r) => r.fn)).not.toContain('pmdp_invalidate');
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0' });
    expect(d.exec.read(ptLoc('A.pte0', 0))).toEqual({ migration: 'A.thp0.0' });
    // GUP-fast now: !pmd_present(), nothing pinned, nothing reported.
    finish(d, d.tid('gup_fast'));
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: [] });
    expect(events(d.exec, 'swap_pmd_present')).toEqual([]);
    drain(d);
    // remove_migration_pmd() finds a table and leaves it (PTE migration entries are not restored).
    expect(d.exec.read(PMD)).toMatchObject({ table: 'A.pte0' });
    expect(d.exec.violations).toEqual([]);
  });

  it('always + arm64 pmd_mkinvalid() always: the migration entry turns present-invalid and GUP-fast reads it as a leaf', () => {
    const { d } = drive(migrateYaml('arm64', 'split_pmd_invalidate: always, arm64_pmd_mkinvalid: always', true));
    const mig = d.tid('khugepaged');
    runTo(d, mig, 'pgtable_trans_huge_withdraw');
    // Past set_pmd_migration_entry()'s own pmdp_invalidate(): this is the split's.
    expect(d.exec.trace.filter((r) => r.fn === 'pmdp_invalidate')).toHaveLength(2);
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0', invalid: true });
    finish(d, d.tid('gup_fast'));
    // pmd_access_permitted() fails (PMD_SECT_VALID clear): nothing pinned, but the read is reported.
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: [] });
    expect(theEvent(d.exec, 'swap_pmd_present').ev).toMatchObject({ mm: 'A', migration: 'A.thp0' });
    expect(violationsOf(d.exec, 'no-present-swap-pmd')).toHaveLength(1);
    expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toEqual([]);
    drain(d);
    // The split still took the migration path (is_pmd_migration_entry(old_pmd)).
    expect(d.exec.read(ptLoc('A.pte0', 0))).toEqual({ migration: 'A.thp0.0' });
  });

  it('always + arm64 pmd_mkinvalid() valid_only (e783331c7720): pmdp_invalidate() leaves the swap PMD', () => {
    const { d } = drive(migrateYaml('arm64', 'split_pmd_invalidate: always, arm64_pmd_mkinvalid: valid_only', true));
    runTo(d, d.tid('khugepaged'), 'pgtable_trans_huge_withdraw');
    expect(d.exec.trace.filter((r) => r.fn === 'pmdp_invalidate')).toHaveLength(2);
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0' });
    finish(d, d.tid('gup_fast'));
    expect(events(d.exec, 'swap_pmd_present')).toEqual([]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('always on x86: pmd_mkinvalid() leaves the swap PMD not present, whatever arm64_pmd_mkinvalid says', () => {
    const { d } = drive(migrateYaml('x86', 'split_pmd_invalidate: always, arm64_pmd_mkinvalid: always', true));
    runTo(d, d.tid('khugepaged'), 'pgtable_trans_huge_withdraw');
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0' });
    finish(d, d.tid('gup_fast'));
    expect(events(d.exec, 'swap_pmd_present')).toEqual([]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('the fault path on a PMD migration entry', () => {
  it('pmd_migration_entry_wait(): the fault waits until the THP is mapped again, then faults again', () => {
    const { d } = drive(migrateYaml('arm64', '', false, '{ fault: { slot: 0, page: 0 } }'));
    const mig = d.tid('khugepaged');
    runTo(d, mig, 'set_pmd_at(A.pmd[0], mk_huge_pmd');
    expect(d.exec.read(PMD)).toEqual({ migration: 'A.thp0' });
    const fault = d.tid('fault');
    d.run(fault);
    expect(d.done(fault)).toBe(false);
    expect(d.pending(fault).fn).toBe('pmd_migration_entry_wait');
    expect(d.enabled(fault)).toBe(false);
    drain(d);
    // After the wait the fault returned 0 and faulted again: the THP maps the address.
    const waits = d.exec.trace.filter((r) => r.fn === 'pmd_migration_entry_wait');
    expect(waits).toHaveLength(1);
    expect(d.exec.trace.filter((r) => r.fn === 'handle_pte_fault').length).toBe(2);
    expect(d.exec.read(PMD)).toEqual({ pfn: 'A.thp0' });
    expect(d.exec.violations).toEqual([]);
  });
});

describe('the migrate_thp step', () => {
  it('rejects bad input with the place in the file', () => {
    const bad = migrateYaml('arm64', '', false).replace('{ migrate_thp: { slot: 0, split: false } }', '{ migrate_thp: { slot: 0, split: maybe } }');
    expect(() => load(bad)).toThrow(/test\.yaml:\d+:\d+/);
    const outside = migrateYaml('arm64', '', false).replace('{ migrate_thp: { slot: 0, split: false } }', '{ migrate_thp: { slot: 3 } }');
    expect(() => load(outside)).toThrow(/slot 3 is not inside a VMA of A/);
  });
});
