/**
 * Leaf TLB entries for data pages: zap_pte_range() queues the data pages, tlb_flush_mmu() frees
 * them after the TLB flush (mm/mmu_gather.c), and no-tlb-entry-to-freed-page reports a usable leaf
 * entry left at the free.
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../../src/engines/check/index.js';
import { cpuLoc, type TlbEntry } from '../../../src/model/state.js';
import { complete, drain, drive, events, HEAP_AND_STACK_VMAS, load, runUntilDesc, theEvent, violationsOf } from '../helpers.js';

function yaml(arch: string, config: string, cpus: readonly string[], ptes = 1, invariants = 'no-tlb-entry-to-freed-page, no-stale-walk-cache'): string {
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
    `  invariants: [${invariants}]`,
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

describe('two MADV_DONTNEEDs of one range (99baac21e458)', () => {
  const INV = 'no-stale-tlb-after-zap, no-tlb-entry-to-freed-page';
  // CPU0 clears the PTE and stops before its tlb_finish_mmu(); CPU1 then runs its whole madvise.
  function race(arch: string, nested: string) {
    const { d } = drive(yaml(arch, `{ preset: sync-rcu, batch_alloc: succeeds, tlb_finish_nested: ${nested} }`, [ZAP, ZAP], 1, INV));
    const [a, b] = [0, 1].map((c) => d.exec.threads.findIndex((t) => t.spec.cpu === c && t.spec.kind === 'task'));
    runUntilDesc(d, a as number, 'mm_tlb_flush_nested()');
    complete(d, b as number);
    return { d, a: a as number, b: b as number };
  }

  for (const arch of ['x86', 'arm64'] as const) {
    it(`${arch}, force_flush: the second madvise sees tlb_flush_pending 2 and flushes everything before it returns`, () => {
      const { d, a } = race(arch, 'force_flush');
      const ret = events(d.exec, 'zap_return');
      expect(ret.map((r) => [r.ev.cpu, r.ev.stale])).toEqual([[1, []]]);
      expect(events(d.exec, 'tlb_flush').filter((f) => f.step.index < (ret[0]?.step.index ?? 0)).length).toBeGreaterThan(0);
      // CPU0's TLB lost the entry to CPU1's flush, though CPU0 has not flushed yet.
      expect(leafOf(d.exec.read(cpuLoc.tlb(0)) as readonly TlbEntry[], 'A.p0.0')).toEqual([]);
      complete(d, a);
      expect(theEvent(d.exec, 'data_page_free').ev).toMatchObject({ cpu: 0, pages: ['A.p0.0'], stale: [] });
      expect(d.exec.violations).toEqual([]);
    });

    it(`${arch}, none (before 99baac21e458): the second madvise flushes nothing and returns with both TLBs stale`, () => {
      const { d, a } = race(arch, 'none');
      const ret = theEvent(d.exec, 'zap_return');
      expect(ret.ev.cpu).toBe(1);
      expect(ret.ev.stale).toEqual([0, 1].map((cpu) => ({ cpu, mm: 'A', level: 'pte', path: '0.0', page: 'A.p0.0' })));
      expect(events(d.exec, 'tlb_flush')).toEqual([]);
      expect(violationsOf(d.exec, 'no-stale-tlb-after-zap')).toHaveLength(1);
      // The page is freed only after CPU0's own flush: no use-after-free of the page.
      complete(d, a);
      expect(theEvent(d.exec, 'data_page_free').ev.stale).toEqual([]);
      expect(violationsOf(d.exec, 'no-tlb-entry-to-freed-page')).toEqual([]);
    });
  }

  it('the return check and the free step exist only when their invariant is checked', () => {
    const { d } = drive(yaml('x86', '{ preset: sync-rcu, batch_alloc: succeeds }', [ZAP, USER], 1, 'no-stale-walk-cache'));
    drain(d);
    expect(events(d.exec, 'zap_return')).toEqual([]);
    expect(events(d.exec, 'data_page_free')).toEqual([]);
    expect(d.exec.trace.some((r) => r.desc.startsWith('free_pages_and_swap_cache') || r.desc.startsWith('returns'))).toBe(false);
  });
});

describe('KVM host record_steal_time() and the guest flag (b043138246a4, CVE-2019-3016)', () => {
  const CPUS = [ZAP, '{ mm: A, run: [ user ], vcpu_preemptible: true }'];
  // The host deschedules vCPU1 and (copy_writeback) copies steal_time; CPU0's madvise runs up to the
  // free; the host resumes vCPU1; CPU0 frees.
  function race(mode: string) {
    const { d } = drive(yaml('x86-kvm', `{ preset: sync-rcu, batch_alloc: succeeds, kvm_steal_time_flush: ${mode} }`, CPUS));
    const host = d.exec.threads.findIndex((t) => t.spec.name === 'host vCPU1');
    const zap = d.exec.threads.findIndex((t) => t.spec.cpu === 0 && t.spec.kind === 'task');
    d.step(host, 1); // preempted
    d.step(host); // kvm_sched_out
    if (mode === 'copy_writeback') {
      expect(d.pending(host).desc).toBe('kvm_read_guest_cached(vCPU1 steal_time)');
      d.step(host);
    }
    runUntilDesc(d, zap, 'free_pages_and_swap_cache');
    expect(theEvent(d.exec, 'pv_flush_skip').ev.skipped).toEqual([1]);
    d.step(host); // record_steal_time: resume
    complete(d, zap);
    return d;
  }

  it('xchg: the resume sees KVM_VCPU_FLUSH_TLB and flushes vCPU1 before it runs', () => {
    const d = race('xchg');
    expect(theEvent(d.exec, 'vcpu_resumed').ev.flushed).toBe(true);
    expect(theEvent(d.exec, 'data_page_free').ev.stale).toEqual([]);
    expect(d.exec.violations).toEqual([]);
  });

  it('copy_writeback: the copy predates the flag, the write-back clears it, vCPU1 runs on the freed page', () => {
    const d = race('copy_writeback');
    expect(theEvent(d.exec, 'vcpu_resumed').ev.flushed).toBe(false);
    expect(d.exec.read(cpuLoc.steal_time(1))).toEqual({ preempted: false, flush: false });
    expect(theEvent(d.exec, 'data_page_free').ev.stale).toEqual([{ cpu: 1, mm: 'A', level: 'pte', path: '0.0', page: 'A.p0.0' }]);
    expect(violationsOf(d.exec, 'no-tlb-entry-to-freed-page')).toHaveLength(1);
  });
});

describe('munmap() under the read-held mmap_lock against MADV_DONTNEED (7a30df49f63a)', () => {
  const MUNMAP_VS_MADVISE = ['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, run: [ { madvise_dontneed: stack } ] }'];
  const verdict = (nested: string): string | undefined => {
    const s = load(yaml('arm64', `{ preset: sync-rcu, batch_alloc: succeeds, tlb_finish_nested: ${nested} }`, MUNMAP_VS_MADVISE, 1, 'no-stale-walk-cache'));
    const r = check(s.program);
    expect(r.exhaustive).toBe(true);
    return r.verdicts[0]?.status;
  };

  it('reset_range (99baac21e458 .. 7a30df49f63a) forgets munmap\'s freed tables when nested: a leaf-only TLBI, a stale walk cache', () => {
    expect(verdict('reset_range')).toBe('violated');
  });

  it('force_flush (7a30df49f63a on) holds, and so does the kernel before 99baac21e458, which never reset the range', () => {
    expect(verdict('force_flush')).toBe('holds');
    expect(verdict('none')).toBe('holds');
  });
});
