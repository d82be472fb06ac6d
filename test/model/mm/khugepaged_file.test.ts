/**
 * mm/khugepaged.c file collapse: collapse_file() unmaps the small pages and retract_page_tables()
 * clears the PMD with pmdp_collapse_flush() and frees the PTE table with pte_free_defer(), driven
 * through explicit schedules. The table is freed only after a grace period (an RCU walker that
 * loaded the old PMD is safe), but a lazy CPU's walk cache is no RCU reader: x86's
 * flush_tlb_range() must pass freed_tables = true (3ef938c35035) for the flush to reach it.
 */
import { describe, expect, it } from 'vitest';
import { cpuLoc, pageLoc, ptLoc, type TlbEntry } from '../../../src/model/state.js';
import { complete, drain, drive, events, finish, settle, theEvent, violationsOf } from '../helpers.js';

/** CPU0 khugepaged collapses the file pages behind slot 0 of A; CPU1 runs `cpu1`. */
function fileYaml(arch: string, config: string, cpu1: string): string {
  return [
    'name: file-collapse-test',
    `machine: { arch: ${arch}, cpus: 2 }`,
    `config: { ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    '      - { name: file, start: 0, end: 1 }',
    'cpus:',
    '  - { run: [ { collapse_file: { mm: A, slot: 0 } } ] }',
    `  - ${cpu1}`,
    '',
  ].join('\n');
}

const LAZY_WARM = '{ mm: A, lazy: true, tlb: warm }';

function tlbOf(d: ReturnType<typeof drive>['d'], cpu: number): readonly TlbEntry[] {
  return d.exec.read(cpuLoc.tlb(cpu)) as readonly TlbEntry[];
}

describe('collapse_file() and retract_page_tables()', () => {
  it('unmaps the small pages, clears the PMD under both locks, and frees the table after a grace period', () => {
    const { d } = drive(fileYaml('arm64', '', '{ run: [ idle ] }'));
    const kh = d.tid('khugepaged');
    expect(d.exec.read(ptLoc('A.pte0', 0))).not.toBeNull();
    complete(d, kh);
    expect(d.exec.read(ptLoc('A.pte0', 0))).toBeNull();
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    const order = d.exec.trace.map((r) => `${r.fn}: ${r.desc}`);
    const at = (s: string) => {
      const i = order.findIndex((x) => x.includes(s));
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    // try_to_unmap() before the retraction; the PMD is cleared with the PMD lock and the PTE lock
    // held; pte_free_defer() after both are dropped.
    expect(at('try_to_unmap_one: ptep_get_and_clear(A.pte0')).toBeLessThan(at('retract_page_tables: spin_lock(page_table_lock:A)'));
    expect(at('retract_page_tables: spin_lock(page_table_lock:A)')).toBeLessThan(at('retract_page_tables: spin_lock(ptl:A.pte0)'));
    expect(at('retract_page_tables: spin_lock(ptl:A.pte0)')).toBeLessThan(at('pmdp_collapse_flush: pmdp_huge_get_and_clear(A.pmd[0])'));
    expect(at('pmdp_huge_get_and_clear(A.pmd[0])')).toBeLessThan(at('pmdp_get_lockless_sync'));
    expect(at('pmdp_get_lockless_sync')).toBeLessThan(at('retract_page_tables: spin_unlock(ptl:A.pte0)'));
    expect(at('retract_page_tables: spin_unlock(page_table_lock:A)')).toBeLessThan(at('pte_free_defer(A.pte0)'));
    expect(theEvent(d.exec, 'pt_unhook').ev).toMatchObject({ table: 'A.pte0', fn: 'retract_page_tables' });
    drain(d);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', gen: 1, stale: [] });
    expect(d.exec.read(pageLoc('A.pte0'))).toMatchObject({ state: 'free' });
    expect(d.exec.violations).toEqual([]);
  });

  it('an RCU walker that loaded the old PMD reads the intact table: the free waits for its grace period', () => {
    const { d } = drive(fileYaml('x86', '', '{ mm: A, run: [ { pte_offset_map: { slot: 0 } } ] }'));
    const walker = d.tid('pte_offset_map');
    const kh = d.tid('khugepaged');
    d.runThroughFn(walker, 'pmdp_get_lockless');
    complete(d, kh);
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(events(d.exec, 'pt_free')).toEqual([]);
    // The flush IPIs run on CPU1 inside the walker's RCU read-side section (IRQs are on).
    settle(d);
    expect(events(d.exec, 'pt_free')).toEqual([]);
    finish(d, walker);
    drain(d);
    const free = theEvent(d.exec, 'pt_free');
    const unlock = d.exec.trace.findIndex((r) => r.fn === 'pte_unmap');
    expect(free.step.index).toBeGreaterThan(unlock);
    expect(d.exec.violations).toEqual([]);
  });

  it('x86 before 3ef938c35035 (freed_tables = false): the flush skips the lazy CPU, whose walk cache keeps the freed table', () => {
    const { d } = drive(fileYaml('x86', 'x86_flush_tlb_range_freed_tables: false', LAZY_WARM));
    expect(tlbOf(d, 1).some((e) => e.table === 'A.pte0')).toBe(true);
    drain(d);
    // Neither try_to_unmap()'s batched flush nor pmdp_collapse_flush() interrupts CPU1.
    expect(events(d.exec, 'ipi_received')).toEqual([]);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
    expect(tlbOf(d, 1)).toContainEqual({ mm: 'A', level: 'pmd', path: '0', table: 'A.pte0', gen: 1, pfn: null });
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', gen: 1, stale: [{ cpu: 1, level: 'pmd', path: '0' }] });
    const v = violationsOf(d.exec, 'no-stale-walk-cache');
    expect(v).toHaveLength(1);
    expect(v[0]?.step).toBe(free.step.index);
  });

  it('x86 since 3ef938c35035 (freed_tables = true): pmdp_collapse_flush() IPIs the lazy CPU, which drops A before the free', () => {
    const { d } = drive(fileYaml('x86', 'x86_flush_tlb_range_freed_tables: true', LAZY_WARM));
    drain(d);
    const calls = events(d.exec, 'smp_call').filter((c) => c.ev.func === 'flush_tlb_func');
    // try_to_unmap()'s flush (no freed tables) skips CPU1; the PMD flush reaches it.
    expect(calls.map((c) => c.ev.targets)).toEqual([[], [1]]);
    const lazy = events(d.exec, 'tlb_flush').find((f) => f.ev.cpu === 1);
    expect(lazy?.ev).toMatchObject({ how: 'lazy-switch-to-init_mm', mm: 'A' });
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('init_mm');
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', stale: [] });
    expect(free.step.index).toBeGreaterThan(lazy?.step.index ?? Infinity);
    expect(d.exec.violations).toEqual([]);
  });

  it('arm64 ignores the knob: its flush_tlb_range() is a broadcast TLBI that is never leaf-only', () => {
    const { d } = drive(fileYaml('arm64', 'x86_flush_tlb_range_freed_tables: false', '{ mm: A, run: [ user ] }'));
    drain(d);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', stale: [] });
    expect(d.exec.violations).toEqual([]);
  });
});
