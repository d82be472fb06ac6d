/**
 * Kernel page tables (mm/kernel_pgtable.ts, mm/vmalloc.ts): pmd_free_pte_page() with an immediate
 * or a deferred free (CONFIG_ASYNC_KERNEL_PGTABLE_FREE), the SVA IOMMU's caches, and the
 * workqueue's kworker / rescuer, driven by explicit schedules.
 */
import { describe, expect, it } from 'vitest';
import { drain, drive, events, hasThread, ipiName, mustFind, violationsOf } from '../helpers.js';
import { kernelPmdTable, kernelPteTable, kernelPudTable, kptListLoc, vmallocHugePage } from '../../../src/model/mm/kernel_pgtable.js';
import { iommuTlbLoc } from '../../../src/model/drivers/iommu/iommu-sva.js';
import { cpuLoc, ptLoc, type TlbEntry } from '../../../src/model/state.js';

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

// kernel page tables (issue #11): the kernel PUD level, pud_free_pmd_page(), and the free without
// the flush before it (x86 28ee90fe6048, before 5e0fb5df2ee8).
function pudYaml(arch: string, config: string, step = 'vmap_huge_pud'): string {
  return yaml(arch, config).replace('kernel_pt: { ptes: 2, iommu_walks: 0 }', 'kernel_pt: { ptes: 2, iommu_walks: 0, pud: true }').replace('run: [ vmap_huge ]', `run: [ ${step} ]`);
}

describe('pud_free_pmd_page()', () => {
  for (const arch of ['x86', 'arm64']) {
    it(`${arch}: clears the PUD entry, flushes every CPU's kernel walk caches, then frees the PTE and PMD tables; pud_set_huge() last`, () => {
      const { d } = drive(pudYaml(arch, '{ kernel_pt_free: immediate }'));
      // Boot: the PUD entry links the PMD table and every warm CPU caches it.
      expect(d.exec.read(ptLoc(kernelPudTable, 0))).toEqual({ table: kernelPmdTable, gen: 1 });
      expect((d.exec.read(cpuLoc.tlb(1)) as readonly TlbEntry[]).some((e) => e.level === 'pud' && e.table === kernelPmdTable)).toBe(true);
      drain(d);
      const frees = events(d.exec, 'pt_free');
      expect(frees.map((f) => [f.ev.fn, f.ev.table])).toEqual([
        ['pte_free_kernel', kernelPteTable],
        ['pmd_free', kernelPmdTable],
      ]);
      for (const f of frees) expect(f.ev.stale).toEqual([]);
      const clear = mustFind(d.exec, (r) => r.desc === `pud_clear(${kernelPudTable}[0])`, 'pud_clear');
      const flushes = events(d.exec, 'tlb_flush').filter((f) => f.ev.mm === 'kernel');
      expect(flushes.length).toBeGreaterThan(0);
      const lastFlushBeforePmdFree = flushes.filter((f) => f.step.index < frees[1]!.step.index).map((f) => f.step.index);
      expect(Math.max(...lastFlushBeforePmdFree)).toBeGreaterThan(clear);
      expect(d.exec.read(ptLoc(kernelPudTable, 0))).toEqual({ pfn: vmallocHugePage });
      for (const c of [0, 1, 2]) expect((d.exec.read(cpuLoc.tlb(c)) as readonly TlbEntry[]).filter((e) => e.mm === 'init_mm')).toEqual([]);
      expect(d.exec.violations).toEqual([]);
    });
  }

  it('x86 with kernel_pt_free_flush none: no kernel flush at all, and the frees find the CPUs still caching both tables', () => {
    const { d } = drive(pudYaml('x86', '{ kernel_pt_free: immediate, kernel_pt_free_flush: none }'));
    drain(d);
    expect(events(d.exec, 'tlb_flush').filter((f) => f.ev.mm === 'kernel')).toEqual([]);
    const frees = events(d.exec, 'pt_free');
    expect(frees.map((f) => f.ev.table)).toEqual([kernelPteTable, kernelPmdTable]);
    expect(frees[0]!.ev.stale).toEqual(expect.arrayContaining([expect.objectContaining({ cpu: 2, level: 'pmd', mm: 'init_mm' })]));
    expect(frees[1]!.ev.stale).toEqual(expect.arrayContaining([expect.objectContaining({ cpu: 1, level: 'pud', mm: 'init_mm' })]));
    expect(violationsOf(d.exec, 'no-stale-walk-cache')).not.toEqual([]);
  });

  it('pmd_free_pte_page() with kernel_pt_free_flush none frees the PTE table with no flush, on x86 and arm64', () => {
    for (const arch of ['x86', 'arm64']) {
      const { d } = drive(yaml(arch, '{ kernel_pt_free: immediate, kernel_pt_free_flush: none }'));
      drain(d);
      expect(events(d.exec, 'tlb_flush').filter((f) => f.ev.mm === 'kernel')).toEqual([]);
      expect(events(d.exec, 'pt_free')[0]!.ev.stale).not.toEqual([]);
    }
  });

  it('vmap_huge_pud without kernel_pt.pud is a scenario error', () => {
    expect(() => drive(yaml('x86', '{}').replace('run: [ vmap_huge ]', 'run: [ vmap_huge_pud ]'))).toThrow(/vmap_huge_pud needs a kernel PUD level/);
  });
});
