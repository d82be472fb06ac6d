/**
 * mm/gup.c: GUP-fast, the IRQ-off lockless walker. Without any sync on the freeing side and with
 * a flush that interrupts nobody (arm64 TLBI), it reads a freed PTE table; the schedule that
 * shows it replays to the same trace.
 */
import { describe, expect, it } from 'vitest';
import { Driver, decodeSchedule, encodeSchedule, replay } from '../../../src/core/index.js';
import { cpuLoc, pageLoc } from '../../../src/model/state.js';
import { drain, drive, events, finish, HEAP_AND_STACK_VMAS, munmapVsGupFastYaml, theEvent, violationsOf } from '../helpers.js';

const noSyncArm64 = munmapVsGupFastYaml({ arch: 'arm64', config: { preset: 'no-sync', batch_alloc: 'fails' } });

describe('no-sync on arm64, batch allocation fails', () => {
  it('GUP-fast reads the PMD, munmap runs to completion, GUP-fast reads the freed A.pte0', () => {
    const { s, d } = drive(noSyncArm64);
    const munmap = d.tid('munmap');
    const gup = d.tid('gup_fast');

    const walked = d.runThroughFn(gup, 'gup_fast_pmd_range');
    expect(walked.at(-1)?.note).toBe('-> A.pte0 (gen 1)');
    expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);

    // Nothing waits for CPU1: TLBI is a broadcast, no IPI, no sync in the fallback.
    finish(d, munmap);
    expect(events(d.exec, 'ipi_received')).toEqual([]);
    expect(events(d.exec, 'tlb_flush').map((e) => e.ev.how)).toEqual(['tlbi-walk']);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', gen: 1, fn: '__tlb_remove_table_one', stale: [] });
    expect(d.exec.read(pageLoc('A.pte0'))).toMatchObject({ state: 'free', gen: 1 });
    expect(violationsOf(d.exec, 'no-walk-of-freed-table')).toEqual([]);

    finish(d, gup);
    const v = violationsOf(d.exec, 'no-walk-of-freed-table');
    expect(v).toHaveLength(1);
    expect(v[0]?.details).toMatchObject({ cpu: 1, fn: 'gup_fast_pte_range', table: 'A.pte0', gen: 1, level: 'pte', walker: 'gup_fast' });
    expect(v[0]?.message).toBe('CPU1 gup_fast_pte_range read pte[0] of A.pte0 (gen 1), which was freed');
    const bad = d.exec.trace[v[0]?.step ?? -1];
    expect(bad?.threadName).toBe('gup_fast');
    expect(bad?.index).toBeGreaterThan(free.step.index);
    // The zapped PTE reads as none: GUP-fast pins nothing (the harm is the read itself).
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    expect(d.exec.finished).toBe(true);

    // Replaying the recorded schedule gives the same trace and the same verdicts.
    const again = replay(s.program, d.schedule);
    expect(again.trace).toEqual(d.exec.trace);
    expect(again.violations).toEqual(d.exec.violations);
    expect(again.snapshot()).toEqual(d.exec.snapshot());
    // So does its one-line form.
    const text = encodeSchedule(d.schedule);
    expect(decodeSchedule(text)).toEqual(d.schedule);
    expect(replay(s.program, decodeSchedule(text)).trace).toEqual(d.exec.trace);
  });

  it('the same race is harmless when GUP-fast runs first', () => {
    const { d } = drive(noSyncArm64);
    finish(d, d.tid('gup_fast'));
    drain(d);
    expect(d.exec.violations).toEqual([]);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ cpu: 1, mm: 'A', pages: ['A.p0.0'] });
  });

  it('replay rejects a schedule that names a blocked thread', () => {
    const { s } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'sync-rcu', batch_alloc: 'fails' } }));
    const d = new Driver(s.program);
    d.runThroughFn(d.tid('gup_fast'), 'gup_fast_pmd_range');
    d.run(d.tid('munmap')); // blocks in csd_lock_wait for CPU1
    const sched = [...d.schedule, { thread: d.tid('munmap') }];
    expect(() => replay(s.program, sched)).toThrow(/thread 0 is not enabled/);
  });
});

describe('GUP-fast re-checks', () => {
  it('drops the folio when the PMD changed between the PTE read and the re-check', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'arm64', config: { preset: 'no-sync', batch_alloc: 'fails' } }));
    const gup = d.tid('gup_fast');
    const munmap = d.tid('munmap');
    d.runThroughFn(gup, 'try_grab_folio_fast');
    // munmap zaps the PTE and clears the PMD, but does not free yet.
    d.runThroughFn(munmap, 'free_pte_range');
    finish(d, gup);
    expect(d.exec.trace.some((r) => r.fn === 'gup_put_folio' && r.desc === 'entry changed: drop A.p0.0')).toBe(true);
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('a freed PTE table reused by another mm under GUP-fast (no-sync, arm64)', () => {
  const yaml = (recheck: boolean) =>
    [
      'name: reuse-test',
      'machine: { arch: arm64, cpus: 3 }',
      `config: { preset: no-sync, batch_alloc: fails, gup_fast_pmd_recheck: ${recheck} }`,
      'mm:',
      '  A:',
      '    vmas:',
      ...HEAP_AND_STACK_VMAS,
      '  B: { vmas: [ { name: data, start: 0, end: 1 } ] }',
      'cpus:',
      '  - { mm: A, run: [ { munmap: heap } ] }',
      '  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }',
      '  - { mm: B, run: [ { reuse_table: { owner: B } } ] }',
      '',
    ].join('\n');

  function race(recheck: boolean) {
    const { d } = drive(yaml(recheck));
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    finish(d, d.tid('munmap'));
    finish(d, d.tid('reuse_table'));
    expect(d.exec.read(pageLoc('A.pte0'))).toEqual({ state: 'pgtable', gen: 2, owner: 'B', level: 'pte' });
    finish(d, gup);
    return d;
  }

  it('GUP-fast reads the reallocated page (no-walk-of-reused-table); the PMD re-check makes it drop the folio', () => {
    const d = race(true);
    const v = violationsOf(d.exec, 'no-walk-of-reused-table');
    expect(v.length).toBeGreaterThanOrEqual(1);
    expect(v[0]?.details).toMatchObject({ cpu: 1, fn: 'gup_fast_pte_range', table: 'A.pte0', gen: 1, now_gen: 2, owner: 'B' });
    expect(v[0]?.message).toContain('now a pte table of B');
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toEqual([]);
  });

  it('without the PMD re-check GUP-fast pins a page of B (gup-fast-pins-own-pages)', () => {
    const d = race(false);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ cpu: 1, mm: 'A', pages: ['B.reused.0'] });
    const v = violationsOf(d.exec, 'gup-fast-pins-own-pages');
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toBe('CPU1 gup_fast for A pinned B.reused.0 (expected A.p0.0): A does not map it there');
  });
});
