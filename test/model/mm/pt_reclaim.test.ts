/**
 * CONFIG_PT_RECLAIM (mm/pt_reclaim.c, 6375e95f381e): madvise(MADV_DONTNEED) zaps the PTEs of a
 * whole PMD range, then try_to_free_pte() clears the PMD under the PMD and PTE locks and frees the
 * emptied table through pte_free_tlb() -> tlb_remove_table(): after a grace period, batched or, when
 * the batch page cannot be allocated, with call_rcu() on the ptdesc. Driven through explicit
 * schedules against an rcu_read_lock()-only walker and GUP-fast.
 */
import { describe, expect, it } from 'vitest';
import { pageLoc, pmdHugePteLoc, ptLoc } from '../../../src/model/state.js';
import { complete, drain, drive, events, finish, HEAP_AND_STACK_VMAS, runUntilDesc, settle, theEvent, violationsOf } from '../helpers.js';

/** CPU0 madvise(MADV_DONTNEED)s heap (slot 0) of A; CPU1 runs `cpu1` (default: an RCU-only walker). */
function reclaimYaml(arch: 'x86' | 'arm64', config: string, o: { cpu1?: string; run0?: string } = {}): string {
  return [
    'name: pt-reclaim-test',
    `machine: { arch: ${arch}, cpus: 2 }`,
    `config: { ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    ...HEAP_AND_STACK_VMAS,
    'cpus:',
    `  - { mm: A, run: [ ${o.run0 ?? '{ madvise_dontneed: heap }'} ] }`,
    `  - { mm: A, run: [ ${o.cpu1 ?? '{ pte_offset_map: { slot: 0 } }'} ] }`,
    '',
  ].join('\n');
}

describe('madvise(MADV_DONTNEED) with PT_RECLAIM', () => {
  for (const [batch, fn] of [['succeeds', 'tlb_remove_table_rcu'], ['fails', '__tlb_remove_table_one_rcu']] as const) {
    it(`batch allocation ${batch}: the emptied table is unlinked at once and freed by ${fn}() after a grace period that waits for the RCU walker`, () => {
      const { d } = drive(reclaimYaml('x86', `preset: pt-reclaim, batch_alloc: ${batch}`));
      const walker = d.tid('pte_offset_map');
      const madv = d.tid('madvise_dontneed');
      d.runUntilFn(walker, 'ptep_get_lockless'); // rcu_read_lock(), PGD, PUD, PMD -> A.pte0
      complete(d, madv);
      settle(d);
      // try_to_free_pte(): PMD and PTE locks, every PTE none, pmd_clear().
      const order = d.exec.trace.filter((r) => r.fn === 'try_to_free_pte').map((r) => r.desc);
      expect(order).toEqual([
        'spin_lock(page_table_lock:A)',
        'spin_lock(ptl:A.pte0)',
        'every PTE of A.pte0 pte_none()?',
        'pmd_clear(A.pmd[0])',
        'spin_unlock(ptl:A.pte0)',
        'spin_unlock(page_table_lock:A)',
      ]);
      expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
      expect(d.exec.read(pageLoc('A.pte0'))).toMatchObject({ state: 'pgtable', gen: 1 });
      expect(events(d.exec, 'pt_free')).toEqual([]);
      // The x86 flush IPI'd CPU1, but its walker has IRQs on: only the grace period holds the free.
      expect(events(d.exec, 'ipi_received').map((e) => e.ev.cpu)).toEqual([1]);
      const cb = d.exec.threads.find((t) => t.spec.kind === 'agent');
      expect(cb && d.enabled(cb.id)).toBe(false);
      finish(d, walker);
      drain(d);
      expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', fn, stale: [] });
      expect(d.exec.violations).toEqual([]);
    });
  }

  it('without PT_RECLAIM the zap leaves the empty table linked', () => {
    const { d } = drive(reclaimYaml('x86', 'preset: sync-rcu'));
    complete(d, d.tid('madvise_dontneed'));
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ table: 'A.pte0', gen: 1 });
    expect(d.exec.read(ptLoc('A.pte0', 0))).toBeNull();
    expect(d.exec.trace.some((r) => r.fn === 'try_to_free_pte')).toBe(false);
    drain(d);
    expect(events(d.exec, 'pt_free')).toEqual([]);
    expect(d.exec.violations).toEqual([]);
  });

  it('a hypothetical immediate free (pte_free() after the flush) frees the table under the RCU walker', () => {
    const { d } = drive(reclaimYaml('x86', 'preset: pt-reclaim, pt_reclaim_free: immediate'));
    const walker = d.tid('pte_offset_map');
    d.runUntilFn(walker, 'ptep_get_lockless');
    complete(d, d.tid('madvise_dontneed'));
    settle(d);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', fn: 'pte_free' });
    expect(free.step.index).toBeLessThan(d.exec.trace.findIndex((r) => r.fn === 'tlb_finish_mmu'));
    finish(d, walker);
    expect(violationsOf(d.exec, 'no-walk-of-freed-table')[0]?.message).toBe('CPU1 ptep_get_lockless read pte[0] of A.pte0 (gen 1), which was freed');
  });

  it('the immediate free is still safe against GUP-fast on x86 (the flush IPI waits for it), not on arm64', () => {
    for (const arch of ['x86', 'arm64'] as const) {
      const { d } = drive(reclaimYaml(arch, 'preset: pt-reclaim, pt_reclaim_free: immediate', { cpu1: '{ gup_fast: { slot: 0 } }' }));
      const gup = d.tid('gup_fast');
      const madv = d.tid('madvise_dontneed');
      d.runThroughFn(gup, 'gup_fast_pmd_range');
      d.run(madv);
      if (arch === 'x86') {
        expect(d.pending(madv).fn).toBe('csd_lock_wait');
        expect(events(d.exec, 'pt_free')).toEqual([]);
        finish(d, gup);
        drain(d);
        expect(d.exec.violations).toEqual([]);
      } else {
        expect(d.done(madv)).toBe(true);
        finish(d, gup);
        expect(violationsOf(d.exec, 'no-walk-of-freed-table')).toHaveLength(1);
      }
    }
  });

  it('MADV_DONTNEED of a THP zaps the huge PMD and frees the deposited table with pte_free_defer() (zap_huge_pmd)', () => {
    const { d } = drive(reclaimYaml('arm64', 'preset: pt-reclaim', { run0: '{ collapse: { slot: 0 } }, { madvise_dontneed: heap }', cpu1: 'idle' }));
    complete(d, d.tid('khugepaged'));
    settle(d);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', fn: 'pte_free_now' });
    expect(d.exec.trace.some((r) => r.fn === 'zap_huge_pmd' && r.note === 'was maps A.thp0')).toBe(true);
    expect(d.exec.trace.some((r) => r.fn === 'try_to_free_pte')).toBe(false);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('beside a fault: the fault that read the PMD before the free re-checks it under the PTE lock, finds it cleared and faults again into a new table', () => {
    const { d } = drive(reclaimYaml('x86', 'preset: pt-reclaim', { cpu1: '{ fault: { slot: 0, page: 0 } }' }));
    const madv = d.tid('madvise_dontneed');
    const fault = d.tid('fault');
    d.runUntilFn(madv, 'try_to_free_pte'); // zap_pte_range(): every PTE of A.pte0 is none now
    runUntilDesc(d, fault, 'spin_lock(ptl:A.pte0)'); // handle_pte_fault(), pte_none: do_anonymous_page(); __pte_offset_map() read A.pte0
    complete(d, madv); // PMD cleared under ptl:A.pte0; the free waits for CPU1's rcu_read_lock()
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(events(d.exec, 'pt_free')).toEqual([]);
    complete(d, fault);
    const fns = d.exec.trace.filter((r) => r.thread === fault).map((r) => `${r.fn}: ${r.desc}`);
    const recheck = fns.indexOf('__pte_offset_map_lock: READ_ONCE(pmd[0]) in A.pmd');
    expect(recheck).toBeGreaterThan(0);
    expect(fns.slice(recheck + 1, recheck + 4)).toEqual([
      'pte_unmap_unlock: spin_unlock(ptl:A.pte0)',
      'pte_unmap_unlock: rcu_read_unlock()',
      '__pte_offset_map: rcu_read_lock()',
    ]);
    expect(fns).toContain('do_anonymous_page: pte_offset_map_lock() found no PTE table: release the folio, return 0 (the CPU faults again)');
    // The refault allocates and links a new PTE table and maps the page there.
    const pmd = d.exec.read(ptLoc('A.pmd', 0)) as { table: string };
    expect(pmd.table).not.toBe('A.pte0');
    expect(d.exec.read(ptLoc(pmd.table, 0))).toEqual({ pfn: 'A.p0.0' });
    drain(d);
    expect(events(d.exec, 'pt_free').map((f) => f.ev)).toMatchObject([{ table: 'A.pte0' }]);
    expect(d.exec.violations).toEqual([]);
  });

  it('beside a fault that maps first: try_to_free_pte() finds the table refilled and keeps it', () => {
    const { d } = drive(reclaimYaml('x86', 'preset: pt-reclaim', { cpu1: '{ fault: { slot: 0, page: 0 } }' }));
    const madv = d.tid('madvise_dontneed');
    const fault = d.tid('fault');
    d.runUntilFn(madv, 'try_to_free_pte');
    finish(d, fault);
    complete(d, madv);
    expect(d.exec.trace.some((r) => r.note === 'refilled since the zap: keep the table')).toBe(true);
    expect(d.exec.read(ptLoc('A.pte0', 0))).toEqual({ pfn: 'A.p0.0' });
    drain(d);
    expect(events(d.exec, 'pt_free')).toEqual([]);
  });
});
