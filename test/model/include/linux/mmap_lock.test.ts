/**
 * Per-VMA locks (CONFIG_PER_VMA_LOCK, include/linux/mmap_lock.h): a fault under
 * lock_vma_under_rcu() and its fallback to the mmap_lock, munmap's vma_start_write(), khugepaged's
 * vma_start_write() (before or after check_pmd_still_valid(), or none) against MADV_DONTNEED under
 * the VMA read lock with PT_RECLAIM and against a fault, and the no-bad-pmd-populate invariant.
 * Driven through explicit schedules.
 */
import { describe, expect, it } from 'vitest';
import { ptLoc, vmaLoc } from '../../../../src/model/state.js';
import { complete, drain, drive, events, finish, runUntilDesc, settle, violationsOf } from '../../helpers.js';

function yaml(config: string, cpus: readonly string[], vmas = ['      - { name: heap, start: 0, end: 1 }', '      - { name: stack, start: 1, end: 2 }']): string {
  return [
    'name: vma-lock-test',
    `machine: { arch: arm64, cpus: ${cpus.length} }`,
    `config: { ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    ...vmas,
    'cpus:',
    ...cpus.map((c) => `  - ${c}`),
    '',
  ].join('\n');
}

const HEAP_ONLY = ['      - { name: heap, start: 0, end: 1 }'];
const FAULT = '{ mm: A, run: [ { fault: { slot: 0, page: 0 } } ] }';
const MUNMAP = '{ mm: A, run: [ { munmap: heap } ] }';

describe('a page fault under the VMA lock (lock_vma_under_rcu())', () => {
  it('takes the VMA read lock, never the mmap_lock, and drops it at the end', () => {
    const { d } = drive(yaml('batch_alloc: fails', [FAULT]));
    const fault = d.tid('fault');
    d.runUntilFn(fault, 'pud_alloc');
    expect(d.exec.read(vmaLoc.vm_lock('A', 'heap'))).toEqual({ writer: null, readers: 1 });
    const recs = finish(d, fault);
    expect(recs.map((r) => r.desc)).toContain('vma_end_read(heap)');
    expect(d.exec.trace.some((r) => r.desc.startsWith('mmap_read_lock'))).toBe(false);
    expect(d.exec.read(vmaLoc.vm_lock('A', 'heap'))).toEqual({ writer: null, readers: 0 });
  });

  it('falls back to the mmap_lock when munmap has write-locked the VMA, and then finds it gone (SIGSEGV)', () => {
    const { d } = drive(yaml('batch_alloc: fails', [MUNMAP, FAULT]));
    const munmap = d.tid('munmap');
    const fault = d.tid('fault');
    d.runThroughFn(munmap, 'vms_gather_munmap_vmas'); // mmap_write_lock(), vma_start_write(heap)
    expect(d.exec.read(vmaLoc.vm_lock('A', 'heap'))).toMatchObject({ readers: 0 });
    const start = d.run(fault);
    expect(start.find((r) => r.fn === 'lock_vma_under_rcu')?.note).toMatch(/write-locked by .*fall back to the mmap_lock/);
    expect(d.enabled(fault)).toBe(false); // mmap_read_lock() waits for the writer
    complete(d, munmap);
    settle(d);
    const rest = finish(d, fault);
    expect(rest.map((r) => r.desc)).toContain('mmap_read_lock(A)');
    expect(rest.find((r) => r.fn === 'lock_mm_and_find_vma' && r.desc.startsWith('find_vma'))?.note).toMatch(/bad_area/);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('with per_vma_lock off, takes the mmap_lock as before v6.4', () => {
    const { d } = drive(yaml('batch_alloc: fails, per_vma_lock: false', [FAULT]));
    const recs = finish(d, d.tid('fault'));
    expect(recs.map((r) => r.desc)).toContain('mmap_read_lock(A)');
    expect(recs.some((r) => r.fn === 'lock_vma_under_rcu')).toBe(false);
  });
});

describe('munmap: vma_start_write() before the detach', () => {
  it('waits for a fault that holds the VMA read lock, so the fault never walks a freed table', () => {
    const { d } = drive(yaml('batch_alloc: fails', [MUNMAP, FAULT], HEAP_ONLY));
    const munmap = d.tid('munmap');
    const fault = d.tid('fault');
    d.runUntilFn(fault, 'pmd_alloc'); // VMA read-locked, PGD entry read
    runUntilDesc(d, munmap, 'vma_start_write(heap): wait for readers');
    expect(d.enabled(munmap)).toBe(false);
    expect(d.exec.read(vmaLoc.vm_lock('A', 'heap'))).toMatchObject({ readers: 1 });
    finish(d, fault);
    complete(d, munmap);
    drain(d);
    expect(violationsOf(d.exec, 'no-walk-of-freed-table')).toEqual([]);
  });

  it('without it (munmap_vma_start_write: false) the VMA-locked fault reads the PUD table munmap freed', () => {
    const { d } = drive(yaml('batch_alloc: fails, munmap_vma_start_write: false', [MUNMAP, FAULT], HEAP_ONLY));
    const munmap = d.tid('munmap');
    const fault = d.tid('fault');
    d.runUntilFn(fault, 'pmd_alloc'); // VMA read-locked, PGD entry read: -> A.pud
    complete(d, munmap); // detaches, frees PTE, PMD and PUD tables after a grace period
    settle(d);
    expect(events(d.exec, 'pt_free').map((e) => e.ev.table)).toEqual(expect.arrayContaining(['A.pud', 'A.pmd', 'A.pte0']));
    d.step(fault); // READ_ONCE(pud[0]) in A.pud
    const v = violationsOf(d.exec, 'no-walk-of-freed-table');
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toBe('CPU1 pmd_alloc read pud[0] of A.pud (gen 1), which was freed');
  });
});

describe('khugepaged: vma_start_write() in collapse_huge_page() against MADV_DONTNEED under the VMA lock (PT_RECLAIM)', () => {
  const cpus = ['{ run: [ { collapse: { mm: A, slot: 0 } } ] }', '{ mm: A, run: [ { madvise_dontneed: heap } ] }'];

  it('after check_pmd_still_valid() (v6.4 .. 366a4532d96f): PT_RECLAIM frees the table in between, and the failure path pmd_populate()s garbage', () => {
    const { d } = drive(yaml('preset: pt-reclaim, collapse_vma_start_write: after_check', cpus));
    const kh = d.tid('khugepaged');
    const madv = d.tid('madvise_dontneed');
    runUntilDesc(d, kh, 'vma_start_write(heap)'); // check_pmd_state() saw A.pte0
    expect(d.exec.trace.find((r) => r.fn === 'check_pmd_state')?.note).toBe('-> A.pte0 (gen 1)');
    complete(d, madv); // lock_vma_under_rcu() succeeds: nothing has write-locked heap
    settle(d);
    expect(d.exec.trace.some((r) => r.fn === 'madvise_lock' || r.desc === 'mmap_read_lock(A)')).toBe(false);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    complete(d, kh);
    const [v] = violationsOf(d.exec, 'no-bad-pmd-populate');
    expect(v?.message).toMatch(/pmd_populate\(pmd_pgtable\(_pmd\)\) of a none _pmd, a garbage table pointer/);
    const ev = events(d.exec, 'pmd_install');
    expect(ev.map((e) => e.ev.garbage)).toEqual([true]);
    drain(d);
  });

  it('before check_pmd_still_valid() (366a4532d96f): the collapse waits for MADV_DONTNEED, then finds no PTE table', () => {
    const { d } = drive(yaml('preset: pt-reclaim, collapse_vma_start_write: before_check', cpus));
    const kh = d.tid('khugepaged');
    const madv = d.tid('madvise_dontneed');
    d.runUntilFn(madv, 'zap_pmd_range'); // VMA read-locked
    runUntilDesc(d, kh, 'vma_start_write(heap): wait for readers');
    expect(d.enabled(kh)).toBe(false);
    complete(d, madv);
    settle(d);
    complete(d, kh);
    expect(d.exec.trace.find((r) => r.fn === 'check_pmd_state')?.note).toBe('none');
    expect(events(d.exec, 'pmd_install')).toEqual([]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('before check_pmd_still_valid(), collapse first: MADV_DONTNEED finds the VMA write-locked and falls back to the mmap_lock', () => {
    const { d } = drive(yaml('preset: pt-reclaim, collapse_vma_start_write: before_check', cpus));
    const kh = d.tid('khugepaged');
    const madv = d.tid('madvise_dontneed');
    d.runUntilFn(kh, 'find_pmd_or_thp_or_none'); // mmap_write_lock(), vma_start_write(heap)
    d.run(madv);
    expect(d.enabled(madv)).toBe(false);
    expect(d.pending(madv).desc).toBe('mmap_read_lock(A)');
    expect(d.pending(madv).fn).toBe('try_vma_read_lock');
    complete(d, kh);
    expect(events(d.exec, 'pmd_install').map((e) => e.ev.fn)).toEqual(['map_anon_folio_pmd_nopf']);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('with MADV_DONTNEED under the mmap_lock (before a6fde7add78d), after_check is safe: the mmap write lock excludes it', () => {
    const { d } = drive(yaml('preset: pt-reclaim, collapse_vma_start_write: after_check, madvise_dontneed_lock: mmap_read', cpus));
    const kh = d.tid('khugepaged');
    const madv = d.tid('madvise_dontneed');
    runUntilDesc(d, kh, 'vma_start_write(heap)');
    d.run(madv);
    expect(d.pending(madv).desc).toBe('mmap_read_lock(A)');
    expect(d.enabled(madv)).toBe(false);
    complete(d, kh);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('khugepaged without vma_start_write() against a fault under the VMA lock', () => {
  it('the fault populates the PMD the collapse cleared, and set_pmd_at() of the THP overwrites it', () => {
    const cpus = ['{ run: [ { collapse: { mm: A, slot: 0 } } ] }', '{ mm: A, run: [ { madvise_dontneed: heap }, { fault: { slot: 0, page: 0 } } ] }'];
    const { d } = drive(yaml('collapse_vma_start_write: none, madvise_dontneed_lock: mmap_read', cpus, HEAP_ONLY));
    const kh = d.tid('khugepaged');
    const cpu1 = d.tid('madvise_dontneed');
    d.runUntilFn(cpu1, 'lock_vma_under_rcu'); // MADV_DONTNEED done: every PTE none
    d.runUntilFn(kh, 'tlb_remove_table_sync_one'); // pmdp_collapse_flush(), PMD lock dropped
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    d.runUntilFn(cpu1, 'alloc_anon_folio'); // the fault read a none PMD and populated a new table
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ table: 'pfn0', gen: 1 });
    complete(d, kh);
    const [v] = violationsOf(d.exec, 'no-bad-pmd-populate');
    expect(v?.message).toMatch(/map_anon_folio_pmd_nopf on A.pmd\[0\]: the PMD was no longer none/);
    drain(d);
  });
});
