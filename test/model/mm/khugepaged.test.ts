/**
 * mm/khugepaged.c collapse_huge_page() and mm/huge_memory.c (split, zap of a THP), driven through
 * explicit schedules: the walker sync after pmdp_collapse_flush() (2ba99c5e0881) waits for an
 * IRQ-off GUP-fast before anything is deposited; the split reuses the deposited table; the v8 skip
 * elides the sync only on x86 bare metal; GUP-fast's PMD re-check (70cbc3cc78a9) closes the pin
 * race with khugepaged's refcount check.
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../../src/engines/check/index.js';
import { ARCH_IDS, type ArchId } from '../../../src/model/config.js';
import { cpuLoc, folioLoc, pageLoc, pmdHugePteLoc, ptLoc } from '../../../src/model/state.js';
import { complete, drain, drive, events, finish, hasThread, ipiName, load, theEvent, violationsOf } from '../helpers.js';

type Arch = ArchId;

/**
 * CPU0 khugepaged collapses slot 0 of A; CPU1 runs GUP-fast on slot 0; CPU2, a task of A, runs
 * `cpu2` (default: a split of slot 0); optionally CPU3 is lazy on A.
 */
function collapseYaml(arch: Arch, config: string, o: { cpu2?: string; lazy?: boolean; vmas?: string; gup?: string; khugepaged?: string } = {}): string {
  return [
    'name: collapse-test',
    `machine: { arch: ${arch}, cpus: ${o.lazy ? 4 : 3} }`,
    `config: { ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    o.vmas ?? '      - { name: heap, start: 0, end: 1 }',
    'cpus:',
    `  - { run: [ ${o.khugepaged ?? '{ collapse: { mm: A, slot: 0 } }'} ] }`,
    `  - { mm: A, run: [ ${o.gup ?? '{ gup_fast: { slot: 0 } }'} ] }`,
    `  - { mm: A, run: [ ${o.cpu2 ?? '{ split: 0 }'} ] }`,
    ...(o.lazy ? ['  - { mm: A, lazy: true }'] : []),
    '',
  ].join('\n');
}

describe('collapse_huge_page(): unlink, flush, sync, isolate, copy, deposit', () => {
  it('without a walker, the old PTE table is deposited (kept, not freed) and a huge PMD installed', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    complete(d, d.tid('khugepaged'));
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ pfn: 'A.thp0' });
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual(['A.pte0']);
    expect(d.exec.read(pageLoc('A.pte0'))).toEqual({ state: 'pgtable', gen: 1, owner: 'A', level: 'pte' });
    expect(d.exec.read(ptLoc('A.pte0', 0))).toBeNull();
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 0, state: 'freed' });
    expect(events(d.exec, 'pt_free')).toEqual([]);
    // The sync is a broadcast to every other online CPU, after the flush, before the isolation.
    const order = d.exec.trace.map((r) => r.fn);
    const flush = order.indexOf('__flush_tlb_range');
    const sync = order.indexOf('smp_call_function_many_cond');
    const isolate = order.indexOf('__collapse_huge_page_isolate');
    expect(flush).toBeGreaterThan(order.indexOf('pmdp_collapse_flush'));
    expect(sync).toBeGreaterThan(flush);
    expect(isolate).toBeGreaterThan(sync);
    expect(events(d.exec, 'smp_call').map((e) => [e.ev.func, e.ev.targets])).toEqual([['tlb_remove_table_smp_sync', [1, 2]]]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('the sync IPI waits for an IRQ-off GUP-fast before anything is deposited', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    const gup = d.tid('gup_fast');
    const kh = d.tid('khugepaged');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
    d.run(kh);
    // khugepaged cleared the PMD and flushed, then blocks in the sync until CPU1 takes the IPI.
    expect(d.pending(kh).fn).toBe('csd_lock_wait');
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    const ipi = d.tid(ipiName('tlb_remove_table_smp_sync', 0, 1));
    expect(d.enabled(ipi)).toBe(false);
    expect(d.enabled(kh)).toBe(false);
    // GUP-fast reads the unlinked (still intact) table; its PMD re-check sees the cleared PMD.
    finish(d, gup);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: [], collapsing: [] });
    complete(d, kh);
    const deposit = d.exec.trace.findIndex((r) => r.fn === 'pgtable_trans_huge_deposit');
    expect(deposit).toBeGreaterThan(theEvent(d.exec, 'gup_fast_done').step.index);
    const onCpu1 = events(d.exec, 'ipi_received').find((e) => e.ev.cpu === 1);
    expect(onCpu1?.step.index).toBeGreaterThan(theEvent(d.exec, 'gup_fast_done').step.index);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ pfn: 'A.thp0' });
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('a pin GUP-fast took before the PMD was cleared makes the collapse give up (SCAN_PAGE_COUNT) and re-link the table', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    const gup = d.tid('gup_fast');
    const kh = d.tid('khugepaged');
    d.runUntilFn(gup, 'pte_unmap'); // read, grab, both re-checks: A.p0.0 is pinned
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 1, state: 'mapped' });
    d.run(kh);
    expect(d.pending(kh).fn).toBe('csd_lock_wait');
    finish(d, gup);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: ['A.p0.0'], collapsing: [] });
    complete(d, kh);
    expect(d.exec.trace.some((r) => r.fn === '__collapse_huge_page_isolate' && r.note?.includes('SCAN_PAGE_COUNT'))).toBe(true);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ table: 'A.pte0', gen: 1 });
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 1, state: 'mapped' });
    drain(d);
    expect(d.exec.trace.some((r) => r.fn === 'split_huge_pmd' && r.desc.includes('nothing to split'))).toBe(true);
    expect(d.exec.violations).toEqual([]);
  });

  it('a GUP-fast that starts after the PMD was cleared finds nothing and does not hold up the collapse', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    const kh = d.tid('khugepaged');
    d.runThroughFn(kh, 'pmdp_collapse_flush');
    finish(d, d.tid('gup_fast'));
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    complete(d, kh);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ pfn: 'A.thp0' });
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('with synchronize_rcu() (S4) khugepaged sleeps in a grace period that waits for the IRQ-off walker, and interrupts nobody', () => {
    const { d } = drive(collapseYaml('arm64', 'preset: rcu-everywhere'));
    const gup = d.tid('gup_fast');
    const kh = d.tid('khugepaged');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.run(kh);
    expect(d.pending(kh).desc).toMatch(/^wait for grace period/);
    expect(theEvent(d.exec, 'gp_start').ev.readers).toEqual([1]);
    finish(d, gup);
    drain(d);
    expect(events(d.exec, 'smp_call')).toEqual([]);
    expect(events(d.exec, 'ipi_received')).toEqual([]);
    expect(events(d.exec, 'might_sleep').filter((e) => e.ev.fn === 'synchronize_rcu').map((e) => e.ev)).toEqual([
      expect.objectContaining({ cpu: 0, locks_held: [], preempt_count: 0, irqs_off: false }),
    ]);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('the split reuses the deposited table', () => {
  it('__split_huge_pmd() withdraws A.pte0, refills it with the THP subpages at a new generation, and links it again', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    complete(d, d.tid('khugepaged'));
    complete(d, d.tid('split'));
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    expect(d.exec.read(pageLoc('A.pte0'))).toEqual({ state: 'pgtable', gen: 2, owner: 'A', level: 'pte' });
    expect(d.exec.read(ptLoc('A.pte0', 0))).toEqual({ pfn: 'A.thp0.0' });
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ table: 'A.pte0', gen: 2 });
    const reuse = theEvent(d.exec, 'pt_reuse');
    expect(reuse.ev).toMatchObject({ table: 'A.pte0', gen: 1, now_gen: 2, stale: [] });
    // pmdp_invalidate() (with its flush) comes before the withdrawal.
    const inval = d.exec.trace.findIndex((r) => r.fn === 'pmdp_invalidate');
    expect(inval).toBeGreaterThanOrEqual(0);
    expect(inval).toBeLessThan(reuse.step.index);
    drain(d);
    // A GUP-fast after the split pins the subpage through the refilled table.
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual(['A.thp0.0']);
    expect(d.exec.violations).toEqual([]);
  });

  it('without the sync (before 2ba99c5e0881), a GUP-fast that loaded the old PMD reads the refilled table (I-2)', () => {
    const { s, d } = drive(collapseYaml('arm64', 'collapse_sync: none'));
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    complete(d, d.tid('khugepaged'));
    complete(d, d.tid('split'));
    finish(d, gup);
    const v = violationsOf(d.exec, 'no-walk-of-reused-table');
    expect(v[0]?.message).toBe('CPU1 gup_fast_pte_range read A.pte0 as gen 1, but it was reused (gen 2, now a pte table of A)');
    // The PMD re-check passes: the PMD links the same page again (ABA on pmd_val()).
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual(['A.thp0.0']);
    expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toEqual([]);
    // The checker finds it too; with the sync it does not.
    expect(check(s.program).verdicts.find((x) => x.id === 'no-walk-of-reused-table')?.status).toBe('violated');
    expect(check(load(collapseYaml('arm64', 'collapse_sync: sync_one')).program).verdicts.every((x) => x.status === 'holds')).toBe(true);
  });

  it('pmd_huge_pte is per PMD table: a split of slot 1 can withdraw the table slot 0 deposited, and a stale walker then pins another address', () => {
    const vmas = '      - { name: heap, start: 0, end: 2 }';
    const yaml = (recheck: boolean) =>
      collapseYaml('arm64', `collapse_sync: none, gup_fast_pmd_recheck: ${recheck}`, {
        vmas,
        khugepaged: '{ collapse: { mm: A, slot: 1 } }, { collapse: { mm: A, slot: 0 } }',
        cpu2: '{ split: 1 }',
      });
    for (const recheck of [false, true]) {
      const { d } = drive(yaml(recheck));
      const gup = d.tid('gup_fast');
      d.runThroughFn(gup, 'gup_fast_pmd_range'); // PMD[0] -> A.pte0
      complete(d, d.tid('khugepaged'));
      // Deposits: A.pte1 (slot 1), then A.pte0 (slot 0): withdrawal order [A.pte0, A.pte1].
      expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual(['A.pte0', 'A.pte1']);
      complete(d, d.tid('split'));
      expect(d.exec.read(ptLoc('A.pmd', 1))).toEqual({ table: 'A.pte0', gen: 2 });
      expect(d.exec.read(ptLoc('A.pte0', 0))).toEqual({ pfn: 'A.thp1.0' });
      finish(d, gup);
      expect(violationsOf(d.exec, 'no-walk-of-reused-table')).toHaveLength(recheck ? 1 : 2);
      const done = theEvent(d.exec, 'gup_fast_done').ev;
      if (recheck) {
        // PMD[0] is now A.thp0's huge PMD: the re-check drops the folio.
        expect(done.pages).toEqual([]);
        expect(d.exec.trace.some((r) => r.fn === 'gup_put_folio' && r.desc === 'entry changed: drop A.thp1.0')).toBe(true);
        expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toEqual([]);
      } else {
        expect(done.pages).toEqual(['A.thp1.0']);
        expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')[0]?.message).toBe('CPU1 gup_fast for A pinned A.thp1.0 (expected A.p0.0): A does not map it there');
      }
    }
  });

  it('munmap of the THP frees the deposited table with pte_free_defer() (zap_deposited_table): the grace period waits for a walker that outlived the collapse', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: none', { cpu2: '{ munmap: heap }', vmas: '      - { name: heap, start: 0, end: 1 }\n      - { name: stack, start: 1, end: 2 }' }));
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'gup_fast_pmd_range'); // PMD[0] -> A.pte0, IRQs off
    complete(d, d.tid('khugepaged'));
    complete(d, d.tid('munmap'));
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    expect(d.exec.trace.some((r) => r.fn === 'zap_deposited_table' && r.desc === 'pte_free_defer(A.pte0)')).toBe(true);
    // Withdrawn, queued with call_rcu(), not freed: CPU1 is inside an IRQ-off region.
    expect(events(d.exec, 'pt_free')).toEqual([]);
    const cb = d.tid('rcu callback pte_free_now');
    expect(d.enabled(cb)).toBe(false);
    finish(d, gup);
    drain(d);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', fn: 'pte_free_now' });
    expect(theEvent(d.exec, 'pt_free').step.index).toBeGreaterThan(theEvent(d.exec, 'gup_fast_done').step.index);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('tlb_remove_table_sync_one() after pmdp_collapse_flush() with the v8 skip', () => {
  for (const arch of ARCH_IDS) {
    const skips = arch === 'x86' || arch === 'x86-kvm-nopv';
    it(`${arch}: ${skips ? 'skipped (the collapse flush reached every CPU of the mm, lazy ones too)' : 'the sync IPI is sent'}`, () => {
      const { d } = drive(collapseYaml(arch, 'preset: skip-redundant-ipi', { lazy: true }));
      complete(d, d.tid('khugepaged'));
      drain(d);
      const syncCalls = events(d.exec, 'smp_call').filter((e) => e.ev.func === 'tlb_remove_table_smp_sync');
      if (skips) {
        expect(events(d.exec, 'sync_skipped').map((e) => e.ev.fn)).toEqual(['tlb_remove_table_sync_one']);
        expect(syncCalls).toEqual([]);
        // The collapse flush reached every CPU of mm_cpumask(A), the lazy CPU3 included.
        const flushCall = events(d.exec, 'smp_call').find((e) => e.ev.func === 'flush_tlb_func');
        expect(flushCall?.ev.targets).toEqual([1, 2, 3]);
        expect(d.exec.read(cpuLoc.loaded_mm(3))).toBe('init_mm');
      } else {
        expect(events(d.exec, 'sync_skipped')).toEqual([]);
        expect(syncCalls.map((e) => e.ev.targets)).toEqual([[1, 2, 3]]);
      }
      expect(d.exec.violations).toEqual([]);
    });
  }

  it('x86: skipping is safe because the collapse flush waits for the IRQ-off walker', () => {
    const { d } = drive(collapseYaml('x86', 'preset: skip-redundant-ipi'));
    const gup = d.tid('gup_fast');
    const kh = d.tid('khugepaged');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.run(kh);
    expect(d.pending(kh).fn).toBe('csd_lock_wait');
    expect(hasThread(d.exec, ipiName('flush_tlb_func', 0, 1))).toBe(true);
    expect(d.exec.read(pmdHugePteLoc('A.pmd'))).toEqual([]);
    finish(d, gup);
    drain(d);
    expect(theEvent(d.exec, 'sync_skipped').step.index).toBeGreaterThan(theEvent(d.exec, 'gup_fast_done').step.index);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('GUP-fast against khugepaged\'s refcount check (70cbc3cc78a9)', () => {
  const yaml = (recheck: boolean) =>
    [
      'name: pin-race',
      'machine: { arch: arm64, cpus: 2 }',
      `config: { collapse_sync: none, gup_fast_pmd_recheck: ${recheck} }`,
      'mm:',
      '  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }',
      'cpus:',
      '  - { run: [ { collapse: { mm: A, slot: 0 } } ] }',
      '  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }',
      '',
    ].join('\n');

  /** GUP-fast reads the PMD and the PTE; khugepaged isolates A.p0.0; GUP-fast grabs it and re-checks. */
  function race(recheck: boolean) {
    const { d } = drive(yaml(recheck));
    const gup = d.tid('gup_fast');
    const kh = d.tid('khugepaged');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.runThroughFn(gup, 'pte_offset_map');
    d.runThroughFn(gup, 'gup_fast_pte_range'); // READ_ONCE(pte[0]): A.p0.0
    d.runUntilFn(kh, '__collapse_huge_page_copy');
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 0, state: 'isolated' });
    finish(d, gup);
    complete(d, kh);
    return d;
  }

  it('without the PMD re-check GUP-fast keeps a pin on the small page khugepaged copied and released', () => {
    const d = race(false);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: ['A.p0.0'], collapsing: ['A.p0.0'] });
    expect(d.exec.read(ptLoc('A.pmd', 0))).toEqual({ pfn: 'A.thp0' });
    // The folio survives, unmapped, with GUP's reference: writes through the pin are lost.
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 1, state: 'isolated' });
    expect(violationsOf(d.exec, 'no-gup-fast-pin-of-collapsed-page')[0]?.message).toBe(
      'CPU1 gup_fast for A pinned A.p0.0 after khugepaged isolated it for a collapse: the pin outlives the mapping, writes through it are lost',
    );
    expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toEqual([]);
  });

  it('with the PMD re-check GUP-fast sees the cleared PMD and drops the folio, which khugepaged then frees', () => {
    const d = race(true);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: [], collapsing: [] });
    expect(d.exec.trace.some((r) => r.fn === 'gup_put_folio' && r.desc === 'entry changed: drop A.p0.0')).toBe(true);
    expect(d.exec.read(folioLoc('A.p0.0'))).toEqual({ pins: 0, state: 'freed' });
    expect(d.exec.violations).toEqual([]);
  });
});

describe('GUP-fast on a huge PMD (gup_fast_pmd_leaf)', () => {
  it('grabs the THP folio, re-checks the PMD and returns the subpages', () => {
    const { d } = drive(collapseYaml('x86', 'collapse_sync: sync_one', { gup: '{ gup_fast: { slot: 0, pages: 1 } }' }));
    complete(d, d.tid('khugepaged'));
    finish(d, d.tid('gup_fast'));
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: ['A.thp0.0'], huge: ['A.thp0.0'] });
    expect(d.exec.read(folioLoc('A.thp0'))).toEqual({ pins: 1, state: 'mapped' });
    expect(d.exec.trace.filter((r) => r.fn === 'gup_fast_pmd_leaf').map((r) => r.note)).toEqual(['maps A.thp0']);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('a split between the grab and the re-check makes GUP-fast drop the folio; an invalidated PMD is not walked', () => {
    const { d } = drive(collapseYaml('arm64', 'collapse_sync: sync_one'));
    complete(d, d.tid('khugepaged'));
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'try_grab_folio_fast');
    complete(d, d.tid('split'));
    finish(d, gup);
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    expect(d.exec.trace.some((r) => r.fn === 'gup_put_folio' && r.desc === 'huge PMD changed: drop A.thp0.0')).toBe(true);
    expect(d.exec.read(folioLoc('A.thp0'))).toEqual({ pins: 0, state: 'mapped' });
    expect(d.exec.violations).toEqual([]);
  });
});
