/**
 * arch/x86/mm/tlb.c: native_flush_tlb_multi() with freed_tables reaches lazy CPUs, which switch
 * to init_mm; without it the lazy CPU keeps a walk-cache entry to the freed table. Also the
 * tlb_table_flush_implies_ipi_broadcast() static key per arch and per knob value.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archOps } from '../../../../src/model/arch/index.js';
import { ARCH_IDS, DEFAULT_CONFIG, type ArchId, type KernelConfig } from '../../../../src/model/config.js';
import type { Kernel } from '../../../../src/model/kernel.js';
import { mm_active_cpus_exceeds, should_flush_tlb, x86_tlb_table_flush_implies_ipi_broadcast, type flush_tlb_info } from '../../../../src/model/arch/x86/mm/tlb.js';
import { strategyById } from '../../../../src/strategies/index.js';
import { tlb_table_flush_implies_ipi_broadcast } from '../../../../src/model/include/asm-generic/tlb.js';
import { cpuLoc, mmLoc, type TlbEntry } from '../../../../src/model/state.js';
import { drain, drive, events, finish, hasThread, ipiName, munmapVsGupFastYaml, theEvent, violationsOf } from '../../helpers.js';

const FLUSH = 'flush_tlb_func';

function tlbOf(d: ReturnType<typeof drive>['d'], cpu: number): readonly TlbEntry[] {
  return d.exec.read(cpuLoc.tlb(cpu)) as readonly TlbEntry[];
}

describe('native_flush_tlb_multi() with freed_tables', () => {
  // CPU1 (GUP-fast on A) only runs once munmap is done; CPU2 is lazy on A with a warm walk cache.
  const yaml = (lazyIpi: boolean) =>
    munmapVsGupFastYaml({
      arch: 'x86',
      config: { preset: 'sync-rcu', batch_alloc: 'fails', x86_freed_tables_ipi_lazy: lazyIpi },
    });

  it('IPIs the lazy CPU too, waits for it, and the lazy CPU switches to init_mm', () => {
    const { d } = drive(yaml(true));
    const munmap = d.tid('munmap');
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('A');
    expect(d.exec.read(cpuLoc.is_lazy(2))).toBe(true);
    expect(tlbOf(d, 2).some((e) => e.table === 'A.pte0')).toBe(true);

    // The flush decision: on_each_cpu_mask() over the whole mm_cpumask, the lazy CPU included.
    d.runThroughFn(munmap, 'smp_call_function_many_cond');
    const call = theEvent(d.exec, 'smp_call').ev;
    expect(call).toMatchObject({ cpu: 0, fn: 'native_flush_tlb_multi', func: FLUSH, wait: true, targets: [1, 2] });

    // munmap queues both IPIs, flushes locally, then waits for CPU1 and CPU2.
    d.run(munmap);
    expect(d.pending(munmap).fn).toBe('csd_lock_wait');
    expect(hasThread(d.exec, ipiName(FLUSH, 0, 2))).toBe(true);
    const ipi1 = d.tid(ipiName(FLUSH, 0, 1));
    const ipi2 = d.tid(ipiName(FLUSH, 0, 2));
    expect(d.exec.thread(ipi2).spec).toMatchObject({ cpu: 2, kind: 'irq' });
    finish(d, ipi1);
    d.run(munmap);
    // Still waiting: for CPU2, the lazy one.
    expect(d.done(munmap)).toBe(false);
    expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU2 to run the IPI' });
    expect(d.enabled(munmap)).toBe(false);
    // No table has been freed yet.
    expect(events(d.exec, 'pt_free')).toHaveLength(0);

    finish(d, ipi2);
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('init_mm');
    expect(d.exec.read(cpuLoc.is_lazy(2))).toBe(false);
    expect(tlbOf(d, 2).filter((e) => e.mm === 'A')).toEqual([]);
    const lazyFlush = events(d.exec, 'tlb_flush').find((f) => f.ev.cpu === 2);
    expect(lazyFlush?.ev).toMatchObject({ how: 'lazy-switch-to-init_mm', mm: 'A' });
    expect(lazyFlush?.step.threadName).toBe(ipiName(FLUSH, 0, 2));
    // The lazy CPU keeps its bit in mm_cpumask (it is trimmed by a later flush).
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1, 2]);

    drain(d);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', gen: 1, stale: [] });
    expect(free.step.index).toBeGreaterThan(lazyFlush?.step.index ?? Infinity);
    expect(d.exec.violations).toEqual([]);
  });

  it('without x86_freed_tables_ipi_lazy, should_flush_tlb() skips the lazy CPU and its walk cache keeps the freed table', () => {
    const { d } = drive(yaml(false));
    const munmap = d.tid('munmap');
    d.runThroughFn(munmap, 'smp_call_function_many_cond');
    const call = theEvent(d.exec, 'smp_call').ev;
    // Only CPU1 (non-lazy, has A loaded) passes should_flush_tlb().
    expect(call).toMatchObject({ fn: 'native_flush_tlb_multi', func: FLUSH, targets: [1] });
    drain(d);

    expect(hasThread(d.exec, ipiName(FLUSH, 0, 2))).toBe(false);
    expect(events(d.exec, 'ipi_received').map((e) => e.ev.cpu)).toEqual([1]);
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('A');
    expect(d.exec.read(cpuLoc.is_lazy(2))).toBe(true);
    expect(tlbOf(d, 2)).toContainEqual({ mm: 'A', level: 'pmd', path: '0', table: 'A.pte0', gen: 1, pfn: null });

    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ table: 'A.pte0', gen: 1, stale: [{ cpu: 2, level: 'pmd', path: '0' }] });
    const v = violationsOf(d.exec, 'no-stale-walk-cache');
    expect(v).toHaveLength(1);
    expect(v[0]?.step).toBe(free.step.index);
    expect(v[0]?.message).toContain('A.pte0');
    expect(v[0]?.message).toContain('CPU2 (pmd entry)');
    expect(v[0]?.details).toMatchObject({ table: 'A.pte0', gen: 1, stale: [{ cpu: 2, level: 'pmd', path: '0' }] });
    // The software walker was never harmed here: only the walk-cache rule breaks.
    expect(violationsOf(d.exec, 'no-walk-of-freed-table')).toEqual([]);
  });

  it('with batched freeing the one freed_tables flush (at tlb_finish_mmu) also wakes the lazy CPU', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'sync-rcu', batch_alloc: 'succeeds' } }));
    drain(d);
    const calls = events(d.exec, 'smp_call').filter((c) => c.ev.func === FLUSH);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.step.fn).toBe('smp_call_function_many_cond');
    expect(calls[0]?.ev.targets).toEqual([1, 2]);
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('init_mm');
    expect(d.exec.violations).toEqual([]);
  });
});

describe('should_flush_tlb() (the cond_func of a flush without freed_tables)', () => {
  const info = (mm: string | null): flush_tlb_info => ({ mm, freed_tables: false, initiating_cpu: 0 });
  it('skips a lazy CPU first, even for a kernel (mm == NULL) flush', () => {
    expect(should_flush_tlb(info('A')).test(2, [true, 'A'])).toBe(false);
    expect(should_flush_tlb(info(null)).test(2, [true, 'A'])).toBe(false);
  });
  it('flushes every non-lazy CPU for a kernel flush, and only CPUs running the mm otherwise', () => {
    expect(should_flush_tlb(info(null)).test(1, [false, 'init_mm'])).toBe(true);
    expect(should_flush_tlb(info('A')).test(1, [false, 'A'])).toBe(true);
    expect(should_flush_tlb(info('A')).test(1, [false, 'B'])).toBe(false);
    expect(should_flush_tlb(info('A')).test(1, [false, 'init_mm'])).toBe(false);
  });
  it('reads is_lazy and loaded_mm of the target', () => {
    expect(should_flush_tlb(info('A')).reads(3)).toEqual([cpuLoc.is_lazy(3), cpuLoc.loaded_mm(3)]);
  });
});

describe('tlb_table_flush_implies_ipi_broadcast()', () => {
  const kernel = (arch: ArchId, implies: KernelConfig['implies_ipi_broadcast']): Kernel => ({
    arch: archOps(arch),
    config: { ...DEFAULT_CONFIG, implies_ipi_broadcast: implies },
    nr_cpus: 2,
    mms: new Map(),
    preemptible_vcpus: [],
    user_mm_cpus: [],
  });

  const expected: Record<KernelConfig['implies_ipi_broadcast'], Record<ArchId, boolean>> = {
    // v8 2/2: only bare-metal x86 without INVLPGB.
    // A KVM guest without PV TLB flush keeps native_flush_tlb_multi(), so the key is on there
    // too; Hyper-V's and Xen's hypercall flushes never set it.
    v8: { x86: true, 'x86-invlpgb': false, 'x86-kvm': false, arm64: false, 'x86-kvm-nopv': true, 'x86-hyperv': false, 'x86-xen-pv': false },
    // v4 3/3: KVM's PV flush claims it too (rejected: it skips preempted vCPUs).
    'v4-kvm-claims': { x86: true, 'x86-invlpgb': false, 'x86-kvm': true, arm64: false, 'x86-kvm-nopv': true, 'x86-hyperv': false, 'x86-xen-pv': false },
    false: { x86: false, 'x86-invlpgb': false, 'x86-kvm': false, arm64: false, 'x86-kvm-nopv': false, 'x86-hyperv': false, 'x86-xen-pv': false },
    // Counterfactual: every x86 backend claims it; arm64's own hook stays false, the generic
    // tlb_table_flush_implies_ipi_broadcast() answers true for it (tested below).
    always: { x86: true, 'x86-invlpgb': true, 'x86-kvm': true, arm64: false, 'x86-kvm-nopv': true, 'x86-hyperv': true, 'x86-xen-pv': true },
  };

  it('always: the generic tlb_table_flush_implies_ipi_broadcast() is true on every arch, arm64 included', () => {
    for (const arch of ARCH_IDS) {
      const k = kernel(arch, 'always');
      expect(tlb_table_flush_implies_ipi_broadcast({ k, cpu: 0, comm: 't', mm: null, context: 'task' })).toBe(true);
    }
    const k = kernel('arm64', 'v8');
    expect(tlb_table_flush_implies_ipi_broadcast({ k, cpu: 0, comm: 't', mm: null, context: 'task' })).toBe(false);
  });

  for (const implies of ['v8', 'v4-kvm-claims', 'false', 'always'] as const) {
    for (const arch of ARCH_IDS) {
      it(`${implies} on ${arch}: ${expected[implies][arch]}`, () => {
        const k = kernel(arch, implies);
        expect(k.arch.tlb_table_flush_implies_ipi_broadcast(k)).toBe(expected[implies][arch]);
        if (arch !== 'arm64') {
          // The x86 backends all use the x86 hook.
          expect(k.arch.tlb_table_flush_implies_ipi_broadcast).toBe(x86_tlb_table_flush_implies_ipi_broadcast);
          expect(x86_tlb_table_flush_implies_ipi_broadcast(k)).toBe(expected[implies][arch]);
        }
      });
    }
  }

  it('the scenario resolver wires the preset into the booted kernel', () => {
    const { s } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'skip-redundant-ipi' } }));
    expect(s.kernel.config).toMatchObject({ skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8' });
    expect(s.kernel.arch.tlb_table_flush_implies_ipi_broadcast(s.kernel)).toBe(true);
  });
});

// x86 defaults and guests (issue #11)
describe('x86 tlb_flush() as merged', () => {
  it('passes freed_tables only by default; the v8 presets OR in unshared_tables', () => {
    expect(DEFAULT_CONFIG.x86_tlb_flush_unshared_tables).toBe(false);
    for (const id of ['skip-redundant-ipi', 'hugetlb-batched-skip']) {
      expect(strategyById(id)?.knobs).toMatchObject({ x86_tlb_flush_unshared_tables: true, skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8' });
    }
    for (const id of ['hugetlb-batched', 'sync-rcu', 'broadcast-ipi']) expect(strategyById(id)?.knobs.x86_tlb_flush_unshared_tables).toBeUndefined();
  });
});

describe('INVLPGB: a global ASID only for an mm active on 4 or more CPUs (consider_global_asid())', () => {
  const FOUR = 'scenarios/check/history/invlpgb-global-asid-on-4-cpus-without-rcu-table-free.yaml';
  const THREE = 'scenarios/check/history/invlpgb-global-asid-on-3-cpus-without-rcu-table-free.yaml';
  const withKnob = (file: string, value?: KernelConfig['x86_global_asid']) => {
    const text = readFileSync(file, 'utf8');
    return value ? text.replace('config: { table_free: page, batch_alloc: succeeds }', `config: { table_free: page, batch_alloc: succeeds, x86_global_asid: ${value} }`) : text;
  };
  /** How each of munmap's flushes went: 'ipi' (flush_tlb_func by smp_call) or 'invlpgb'. */
  const flushes = (d: ReturnType<typeof drive>['d']) =>
    d.exec.trace
      .filter((r) => r.threadName === 'munmap' && (r.fn === 'broadcast_tlb_flush' || (r.fn === 'flush_tlb_mm_range' && r.desc.startsWith('cpumask_any_but'))))
      .map((r) => (r.fn === 'broadcast_tlb_flush' ? 'invlpgb' : 'ipi'));

  it('mm_active_cpus_exceeds() counts CPUs of the mask with the mm loaded and not lazy', () => {
    const loaded = ['A', 'A', 'A', 'A'];
    expect(mm_active_cpus_exceeds('A', [0, 1, 2, 3], loaded, [false, false, false, false], 3)).toBe(true);
    expect(mm_active_cpus_exceeds('A', [0, 1, 2, 3], loaded, [false, false, false, true], 3)).toBe(false);
    expect(mm_active_cpus_exceeds('A', [0, 1, 2, 3], ['A', 'A', 'B', 'A'], [false, false, false, false], 3)).toBe(false);
    expect(mm_active_cpus_exceeds('A', [0, 1, 2], ['A', 'A', 'A'], [false, false, false], 3)).toBe(false);
  });

  it('4 active CPUs: the first flush IPIs, consider_global_asid() assigns, the second flush is INVLPGB', () => {
    const { s, d } = drive(withKnob(FOUR));
    expect(s.kernel.config.x86_global_asid).toBe('kernel');
    expect(d.exec.read(mmLoc.global_asid('A'))).toBe(false);
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    drain(d);
    expect(flushes(d)).toEqual(['ipi', 'invlpgb']);
    const assign = theEvent(d.exec, 'global_asid');
    expect(assign.ev).toMatchObject({ cpu: 0, mm: 'A' });
    expect(assign.step.fn).toBe('consider_global_asid');
    expect(d.exec.read(mmLoc.global_asid('A'))).toBe(true);
    expect(events(d.exec, 'tlb_flush').filter((e) => e.ev.how === 'invlpgb')).toHaveLength(1);
  });

  it('3 active CPUs (one lazy): no global ASID, both flushes are waited IPIs', () => {
    const { d } = drive(withKnob(THREE));
    drain(d);
    expect(flushes(d)).toEqual(['ipi', 'ipi']);
    expect(events(d.exec, 'global_asid')).toEqual([]);
    const considered = d.exec.trace.filter((r) => r.fn === 'consider_global_asid');
    expect(considered).toHaveLength(2);
    expect(d.exec.read(mmLoc.global_asid('A'))).toBe(false);
    expect(d.exec.violations).toEqual([]);
  });

  it("x86_global_asid forces either way: 'never' keeps the IPI path on 4 CPUs, 'always' broadcasts from the first flush", () => {
    const never = drive(withKnob(FOUR, 'never')).d;
    drain(never);
    expect(flushes(never)).toEqual(['ipi', 'ipi']);
    expect(never.exec.trace.some((r) => r.fn === 'consider_global_asid')).toBe(false);
    const always = drive(withKnob(THREE, 'always')).d;
    expect(always.exec.read(mmLoc.global_asid('A'))).toBe(true);
    drain(always);
    expect(flushes(always)).toEqual(['invlpgb', 'invlpgb']);
  });

  it('an mm on fewer than 4 CPUs takes the IPI path, yet v8 does not skip the sync: the static key is off on an INVLPGB CPU', () => {
    const { s, d } = drive(munmapVsGupFastYaml({ arch: 'x86-invlpgb', config: { preset: 'skip-redundant-ipi', batch_alloc: 'fails' } }));
    expect(s.kernel.arch.tlb_table_flush_implies_ipi_broadcast(s.kernel)).toBe(false);
    drain(d);
    expect(flushes(d)).toEqual(['ipi']);
    expect(events(d.exec, 'smp_call').find((c) => c.ev.func === FLUSH)?.ev).toMatchObject({ fn: 'native_flush_tlb_multi', targets: [1, 2] });
    expect(events(d.exec, 'sync_skipped')).toEqual([]);
    expect(events(d.exec, 'gp_start').map((e) => e.ev.fn)).toEqual(['synchronize_rcu']);
    expect(d.exec.violations).toEqual([]);
  });
});
