/**
 * Leaf TLB entries for data pages: zap_pte_range() queues the data pages, tlb_flush_mmu() frees
 * them after the TLB flush (mm/mmu_gather.c), and no-tlb-entry-to-freed-page reports a usable leaf
 * entry left at the free.
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../../src/engines/check/index.js';
import { cpuLoc, type TlbEntry } from '../../../src/model/state.js';
import { drain, drive, events, HEAP_AND_STACK_VMAS, load, theEvent, violationsOf } from '../helpers.js';

function yaml(arch: string, config: string, cpus: readonly string[], ptes = 1): string {
  return [
    'name: leaf-tlb-test',
    `machine: { arch: ${arch}, cpus: ${cpus.length} }`,
    `config: ${config}`,
    'mm:',
    '  A:',
    `    ptes_per_table: ${ptes}`,
    '    vmas:',
    ...HEAP_AND_STACK_VMAS,
    'cpus:',
    ...cpus.map((c) => `  - ${c}`),
    'check:',
    '  invariants: [no-tlb-entry-to-freed-page, no-stale-walk-cache]',
  ].join('\n');
}

const ZAP = '{ mm: A, run: [ { madvise_dontneed: heap } ] }';
const USER = '{ mm: A, run: [ user ] }';
const leafOf = (entries: readonly TlbEntry[], page: string): TlbEntry[] => entries.filter((e) => e.pfn === page);

describe('data pages are freed after the TLB flush', () => {
  for (const arch of ['x86', 'arm64'] as const) {
    it(`${arch}: zap_pte_range() queues every data page of the table; one free, after the flush that removed CPU1's leaf entries`, () => {
      const { d } = drive(yaml(arch, '{ preset: sync-rcu, batch_alloc: succeeds }', [ZAP, USER], 2));
      expect(leafOf(d.exec.read(cpuLoc.tlb(1)) as readonly TlbEntry[], 'A.p0.1')).toHaveLength(1);
      drain(d);
      const free = theEvent(d.exec, 'data_page_free');
      expect(free.ev).toMatchObject({ fn: 'tlb_batch_pages_flush', mm: 'A', pages: ['A.p0.0', 'A.p0.1'], stale: [] });
      const flushes = events(d.exec, 'tlb_flush');
      expect(flushes.length).toBeGreaterThan(0);
      for (const f of flushes) expect(f.step.index).toBeLessThan(free.step.index);
      // The flush removed the leaf entries of the heap; the stack's (slot 1) stay.
      const tlb1 = d.exec.read(cpuLoc.tlb(1)) as readonly TlbEntry[];
      expect(leafOf(tlb1, 'A.p0.0')).toEqual([]);
      expect(leafOf(tlb1, 'A.p0.1')).toEqual([]);
      if (arch === 'arm64') expect(leafOf(tlb1, 'A.p1.0')).toHaveLength(0); // the ASID-wide TLBI of the model removes every leaf of A
      expect(d.exec.violations).toEqual([]);
    });

    it(`${arch}: tlb_free_pages before_flush frees the pages while CPU0 (the zapping task's own CPU) and CPU1 still map them`, () => {
      const { d } = drive(yaml(arch, '{ preset: sync-rcu, batch_alloc: succeeds, tlb_free_pages: before_flush }', [ZAP, USER]));
      drain(d);
      const free = theEvent(d.exec, 'data_page_free');
      expect(free.ev.stale).toEqual([0, 1].map((cpu) => ({ cpu, mm: 'A', level: 'pte', path: '0.0', page: 'A.p0.0' })));
      const flush = events(d.exec, 'tlb_flush');
      expect(flush.some((f) => f.step.index > free.step.index)).toBe(true);
      const v = violationsOf(d.exec, 'no-tlb-entry-to-freed-page');
      expect(v).toHaveLength(1);
      expect(v[0]?.message).toContain('CPU0 (A.p0.0 at 0.0), CPU1 (A.p0.0 at 0.0)');
    });
  }

  it('x86: a lazy CPU skipped by the flush keeps its leaf entry, which is not usable: no violation', () => {
    const { d } = drive(yaml('x86', '{ preset: sync-rcu, batch_alloc: succeeds }', [ZAP, USER, '{ mm: A, lazy: true }']));
    drain(d);
    const free = theEvent(d.exec, 'data_page_free');
    expect(free.ev.stale).toEqual([]);
    // should_flush_tlb() skipped CPU2 (no table freed): it still caches A.p0.0, and is still lazy on A.
    expect(leafOf(d.exec.read(cpuLoc.tlb(2)) as readonly TlbEntry[], 'A.p0.0')).toHaveLength(1);
    expect(d.exec.read(cpuLoc.is_lazy(2))).toBe(true);
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('A');
    expect(d.exec.violations).toEqual([]);
  });

  it('x86: before_flush with a leaf entry only on a lazy CPU (cold TLBs elsewhere): nothing usable, so no violation', () => {
    const { d } = drive(yaml('x86', '{ preset: sync-rcu, batch_alloc: succeeds, tlb_free_pages: before_flush }', [
      '{ mm: A, run: [ { madvise_dontneed: heap } ], tlb: cold }', '{ mm: A, run: [ user ], tlb: cold }', '{ mm: A, lazy: true }']));
    expect(leafOf(d.exec.read(cpuLoc.tlb(2)) as readonly TlbEntry[], 'A.p0.0')).toHaveLength(1);
    drain(d);
    expect(theEvent(d.exec, 'data_page_free').ev.stale).toEqual([]);
  });

  it('x86-kvm: every interleaving with a preemptible vCPU holds; a vCPU skipped by the PV flush has KVM_VCPU_FLUSH_TLB set', () => {
    const s = load(yaml('x86-kvm', '{ preset: sync-rcu, batch_alloc: succeeds }', [ZAP, '{ mm: A, run: [ user ], vcpu_preemptible: true }']));
    const r = check(s.program);
    expect(r.exhaustive).toBe(true);
    expect(r.stats.executions).toBeGreaterThan(2);
    expect(r.verdicts.map((v) => [v.id, v.status])).toEqual([['no-tlb-entry-to-freed-page', 'holds'], ['no-stale-walk-cache', 'holds']]);
  });

  it('x86-kvm, before_flush: the checker finds the free before the flush while the vCPU runs', () => {
    const s = load(yaml('x86-kvm', '{ preset: sync-rcu, batch_alloc: succeeds, tlb_free_pages: before_flush }', [ZAP, '{ mm: A, run: [ user ], vcpu_preemptible: true }']));
    const r = check(s.program);
    expect(r.verdicts.find((v) => v.id === 'no-tlb-entry-to-freed-page')?.status).toBe('violated');
  });
});
