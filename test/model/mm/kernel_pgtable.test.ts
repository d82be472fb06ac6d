/**
 * Kernel page tables (mm/kernel_pgtable.ts, mm/vmalloc.ts): pmd_free_pte_page() with an immediate
 * or a deferred free (CONFIG_ASYNC_KERNEL_PGTABLE_FREE), the SVA IOMMU's caches, and the
 * workqueue's kworker / rescuer, driven by explicit schedules.
 */
import { describe, expect, it } from 'vitest';
import { drain, drive, events, hasThread, ipiName, violationsOf } from '../helpers.js';
import { kptListLoc } from '../../../src/model/mm/kernel_pgtable.js';
import { iommuTlbLoc } from '../../../src/model/drivers/iommu/iommu-sva.js';
import { cpuLoc, type TlbEntry } from '../../../src/model/state.js';

function yaml(arch: string, config: string, walks = 0): string {
  return [
    'name: kernel-pt-test',
    `machine: { arch: ${arch}, cpus: 3 }`,
    `config: ${config}`,
    `kernel_pt: { ptes: 2, iommu_walks: ${walks} }`,
    'mm:',
    '  B:',
    '    vmas:',
    '      - { name: data, start: 0, end: 1 }',
    'cpus:',
    '  - { run: [ vmap_huge ] }',
    '  - { run: [ idle ] }',
    '  - { mm: B, lazy: true }',
    'check:',
    '  invariants: [no-walk-of-freed-table, no-stale-walk-cache, deferred-frees-drain]',
    '',
  ].join('\n');
}

const WORKER = 'kworker/0 kernel_pgtable_work';

describe('pmd_free_pte_page() on x86', () => {
  it('flush_tlb_kernel_range() IPIs every online CPU, lazy and idle ones included, and clears their kernel entries before the free', () => {
    const { d } = drive(yaml('x86', '{ kernel_pt_free: immediate }'));
    drain(d);
    expect(hasThread(d.exec, ipiName('do_kernel_range_flush', 0, 1))).toBe(true);
    expect(hasThread(d.exec, ipiName('do_kernel_range_flush', 0, 2))).toBe(true);
    const flushes = events(d.exec, 'tlb_flush').filter((f) => f.ev.how === 'kernel-range');
    expect(flushes.map((f) => f.ev.cpu).sort()).toEqual([0, 1, 2]);
    const free = events(d.exec, 'pt_free');
    expect(free).toHaveLength(1);
    expect(free[0]?.ev.stale).toEqual([]);
    for (const f of flushes) expect(f.step.index).toBeLessThan(free[0]!.step.index);
    for (const c of [0, 1, 2]) expect((d.exec.read(cpuLoc.tlb(c)) as readonly TlbEntry[]).filter((e) => e.mm === 'init_mm')).toEqual([]);
    expect(violationsOf(d.exec, 'no-stale-walk-cache')).toEqual([]);
  });

  it('with an SVA IOMMU and an immediate free, the IOMMU still points at the freed table (§7.10)', () => {
    const { d } = drive(yaml('x86', '{ kernel_pt_free: immediate, sva: true }'));
    drain(d);
    const v = violationsOf(d.exec, 'no-stale-walk-cache');
    expect(v).toHaveLength(1);
    expect(v[0]?.details.holders).toEqual(['IOMMU']);
    expect(v[0]?.message).toContain('IOMMU');
  });
});

describe('CONFIG_ASYNC_KERNEL_PGTABLE_FREE', () => {
  it('the worker invalidates the IOMMU before it frees, and the free finds no stale entry', () => {
    const { d } = drive(yaml('x86', '{ preset: async-kernel-free, sva: true }', 1));
    const walker = d.tid('IOMMU (SVA)');
    // The device walks first: its cache holds the pointer to the PTE table (from boot and the walk).
    d.run(walker);
    expect(d.done(walker)).toBe(true);
    expect((d.exec.read(iommuTlbLoc) as readonly TlbEntry[]).length).toBe(1);
    drain(d);
    const queued = events(d.exec, 'kpt_queue');
    const inval = events(d.exec, 'iommu_invalidate');
    const free = events(d.exec, 'pt_free');
    expect(queued).toHaveLength(1);
    expect(inval).toHaveLength(1);
    expect(free).toHaveLength(1);
    expect(queued[0]!.step.index).toBeLessThan(inval[0]!.step.index);
    expect(inval[0]!.step.index).toBeLessThan(free[0]!.step.index);
    // Both on the kworker, after the task queued the page.
    const worker = d.tid(WORKER);
    expect(inval[0]!.step.thread).toBe(worker);
    expect(free[0]!.step.thread).toBe(worker);
    expect(free[0]!.ev.stale).toEqual([]);
    expect(d.exec.read(kptListLoc)).toEqual([]);
  });

  it('on system_wq, when no kworker can be created, the page stays queued (deferred-frees-drain)', () => {
    const { d } = drive(yaml('x86', '{ preset: async-kernel-free, sva: true, kworker_create: may-fail }'));
    d.runAll(1); // create_worker fails
    expect(d.exec.finished).toBe(true);
    expect(hasThread(d.exec, WORKER)).toBe(false);
    expect(events(d.exec, 'pt_free')).toHaveLength(0);
    expect(d.exec.read(kptListLoc)).toEqual(['init_mm.vmalloc_pte']);
    d.exec.end();
    expect(violationsOf(d.exec, 'deferred-frees-drain')).toHaveLength(1);
  });

  it('with WQ_MEM_RECLAIM the rescuer runs the work when kworker creation fails: nothing accumulates', () => {
    const { d } = drive(yaml('x86', '{ preset: async-kernel-free-reclaim, sva: true, kworker_create: may-fail }'));
    d.runAll(1);
    expect(d.exec.finished).toBe(true);
    expect(hasThread(d.exec, 'kernel_pgtable_wq rescuer')).toBe(true);
    const free = events(d.exec, 'pt_free');
    expect(free).toHaveLength(1);
    expect(free[0]!.step.thread).toBe(d.tid('kernel_pgtable_wq rescuer'));
    expect(d.exec.read(kptListLoc)).toEqual([]);
    d.exec.end();
    expect(d.exec.violations).toEqual([]);
  });

  it('arm64: a broadcast TLBI replaces the IPIs', () => {
    const { d } = drive(yaml('arm64', '{ preset: async-kernel-free }'));
    drain(d);
    expect(d.exec.threads.some((t) => t.spec.kind === 'irq')).toBe(false);
    expect(events(d.exec, 'tlb_flush').map((f) => f.ev.how)).toEqual(['tlbi-walk']);
    expect(events(d.exec, 'pt_free')[0]?.ev.stale).toEqual([]);
  });
});
