/**
 * arch/x86/hyperv/mmu.c hyperv_flush_tlb_multi(): the hypervisor flushes the target vCPUs (lazy
 * ones only with freed_tables); no guest IPI, so nothing waits for an IRQ-off walker and no lazy
 * CPU switches to init_mm. And arch/x86/xen/mmu_pv.c xen_flush_tlb_multi(), which flushes lazy
 * CPUs always: the two differ on a flush without freed_tables (the hugetlb unshare).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuLoc, type TlbEntry } from '../../../../../src/model/state.js';
import { drain, drive, events, finish, munmapVsGupFastYaml, mustFind, theEvent, violationsOf } from '../../../helpers.js';

const tlbOf = (d: ReturnType<typeof drive>['d'], cpu: number) => d.exec.read(cpuLoc.tlb(cpu)) as readonly TlbEntry[];

describe('hypercall TLB flushes: Hyper-V and Xen PV', () => {
  for (const arch of ['x86-hyperv', 'x86-xen-pv'] as const) {
    const fn = arch === 'x86-hyperv' ? 'hyperv_flush_tlb_multi' : 'xen_flush_tlb_multi';
    it(`${arch}: munmap's flush (freed_tables) flushes every vCPU of the mask, interrupts none, and does not wait for the IRQ-off walker`, () => {
      const { d } = drive(munmapVsGupFastYaml({ arch, config: { preset: 'sync-rcu', batch_alloc: 'succeeds' } }));
      const munmap = d.tid('munmap');
      const gup = d.tid('gup_fast');
      d.runThroughFn(gup, 'gup_fast_pmd_range');
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
      expect(tlbOf(d, 2).some((e) => e.table === 'A.pte0')).toBe(true);

      finish(d, munmap);
      // One hypercall for CPU0-CPU2, the lazy CPU2 included (freed_tables); no IPI at all.
      const flush = events(d.exec, 'tlb_flush').filter((e) => e.ev.how === 'hypercall');
      expect(flush).toHaveLength(1);
      expect(flush[0]?.step.fn).toBe(fn);
      expect(flush[0]?.ev).toMatchObject({ cpu: 0, mm: 'A', cpus: [0, 1, 2] });
      expect(events(d.exec, 'smp_call')).toEqual([]);
      expect(events(d.exec, 'ipi_received')).toEqual([]);
      // munmap finished while CPU1 is still IRQ-off in its walk: the flush waited for nobody.
      expect(d.done(munmap)).toBe(true);
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
      for (const c of [1, 2]) expect(tlbOf(d, c).filter((e) => e.mm === 'A')).toEqual([]);
      // The lazy CPU was flushed by the hypervisor, not switched to init_mm by flush_tlb_func().
      expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('A');
      expect(d.exec.read(cpuLoc.is_lazy(2))).toBe(true);
      // RCU table free is what protects the walker: the callback waits for its IRQ-off section.
      const cb = d.tid('rcu callback tlb_remove_table_rcu');
      expect(d.enabled(cb)).toBe(false);
      expect(events(d.exec, 'pt_free')).toEqual([]);
      finish(d, gup);
      drain(d);
      const restore = mustFind(d.exec, (r) => r.threadName === 'gup_fast' && r.desc.startsWith('local_irq_restore'), "GUP-fast's local_irq_restore()");
      expect(theEvent(d.exec, 'pt_free').step.index).toBeGreaterThan(restore);
      expect(d.exec.violations).toEqual([]);
    });
  }

  // The hugetlb unshare flush has freed_tables clear (mainline x86 tlb_flush()): Hyper-V leaves
  // the lazy CPU out, Xen flushes it.
  for (const [arch, file, lazyFlushed] of [
    ['x86-hyperv', 'scenarios/check/hugetlb/batched+hyperv-lazy-flush.yaml', false],
    ['x86-xen-pv', 'scenarios/check/hugetlb/batched+xen-pv-lazy-flush.yaml', true],
  ] as const) {
    it(`${arch}: a flush without freed_tables ${lazyFlushed ? 'still flushes' : 'skips'} the lazy CPU`, () => {
      const { s, d } = drive(readFileSync(file, 'utf8'));
      expect(s.resolved.arch).toBe(arch);
      expect(s.kernel.config.x86_tlb_flush_unshared_tables).toBe(false);
      const staleBefore = tlbOf(d, 2).filter((e) => e.table === 'F.pmd0');
      expect(staleBefore).toHaveLength(1);
      const munmap = d.tid('munmap');
      d.run(munmap);
      // The unshare flush went out; munmap now waits in tlb_remove_table_sync_one(), whose empty
      // IPI to the lazy CPU invalidates nothing.
      expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait' });
      const flush = events(d.exec, 'tlb_flush').filter((e) => e.ev.how === 'hypercall');
      expect(flush.map((e) => e.ev.cpus)).toEqual([lazyFlushed ? [0, 2] : [0]]);
      expect(tlbOf(d, 2).filter((e) => e.table === 'F.pmd0')).toEqual(lazyFlushed ? [] : staleBefore);
      expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('A');
      drain(d);
      expect(violationsOf(d.exec, 'no-stale-walk-cache')).toHaveLength(lazyFlushed ? 0 : 1);
    });
  }
});
