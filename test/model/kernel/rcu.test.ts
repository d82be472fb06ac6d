/**
 * kernel/rcu: a grace period waits for every CPU that was inside a read-side critical section
 * (IRQs off counts) when it started. Under sync-rcu with the batch allocation failing, the
 * single-table fallback frees only after the IRQ-off GUP-fast walk ended.
 */
import { describe, expect, it } from 'vitest';
import { Driver } from '../../../src/core/index.js';
import { cpuLoc } from '../../../src/model/state.js';
import { inReader } from '../../../src/model/kernel/rcu/reader.js';
import { openScenario } from '../../../src/scenarios/resolve.js';
import { drain, drive, events, finish, load, munmapVsGupFastYaml, runUntilDesc, theEvent } from '../helpers.js';

describe('sync-rcu, batch allocation fails: the table is freed after the walker\'s quiescent state', () => {
  // Architectures whose flush does not IPI the walker, so munmap reaches the grace period while
  // GUP-fast is still IRQ-off (on x86 native and KVM the flush IPI already waits for it). INVLPGB
  // only for an mm with a global ASID (x86_global_asid: always; by the kernel's rule this 3-CPU mm
  // would take the IPI path); Hyper-V and Xen PV flush by hypercall.
  for (const arch of ['arm64', 'x86-invlpgb', 'x86-hyperv', 'x86-xen-pv'] as const) {
    it(`${arch}: the grace-period wait is not enabled while CPU1 is IRQ-off; pt_free follows local_irq_restore`, () => {
      const forceAsid: Record<string, string> = arch === 'x86-invlpgb' ? { x86_global_asid: 'always' } : {};
      const { d } = drive(munmapVsGupFastYaml({ arch, config: { preset: 'sync-rcu', batch_alloc: 'fails', ...forceAsid } }));
      const munmap = d.tid('munmap');
      const gup = d.tid('gup_fast');

      d.runThroughFn(gup, 'gup_fast_pmd_range');
      const qsBefore = (d.exec.read(cpuLoc.rcu(1)) as { qs: number }).qs;
      expect(d.exec.read(cpuLoc.rcu(1))).toEqual({ reader: true, qs: qsBefore });

      d.run(munmap);
      expect(d.done(munmap)).toBe(false);
      expect(d.pending(munmap)).toMatchObject({ fn: 'tlb_remove_table_sync_rcu', desc: expect.stringMatching(/^wait for grace period cpu\d+#\d+$/) });
      expect(d.enabled(munmap)).toBe(false);
      // The flush went out without interrupting anybody, and nothing was freed yet.
      expect(events(d.exec, 'ipi_received')).toEqual([]);
      expect(events(d.exec, 'pt_free')).toEqual([]);
      const gp = theEvent(d.exec, 'gp_start');
      expect(gp.ev).toMatchObject({ cpu: 0, fn: 'synchronize_rcu', readers: [1] });
      expect(gp.step.threadName).toBe('munmap');

      // GUP-fast's rcu_read_unlock() (pte_unmap) inside the IRQ-off region is not a quiescent state.
      d.runThroughFn(gup, 'pte_unmap');
      expect(d.exec.read(cpuLoc.rcu_nesting(1))).toBe(0);
      expect(d.exec.read(cpuLoc.rcu(1))).toEqual({ reader: true, qs: qsBefore });
      expect(d.enabled(munmap)).toBe(false);

      runUntilDesc(d, gup, 'local_irq_restore()');
      expect(d.enabled(munmap)).toBe(false);
      const restore = d.step(gup);
      expect(d.exec.read(cpuLoc.rcu(1))).toEqual({ reader: false, qs: qsBefore + 1 });
      expect(d.enabled(munmap)).toBe(true);

      finish(d, munmap);
      drain(d);
      const end = theEvent(d.exec, 'gp_end');
      const free = theEvent(d.exec, 'pt_free');
      expect(end.ev).toMatchObject({ cpu: 0, fn: 'tlb_remove_table_sync_rcu', expedited: false });
      expect(free.ev).toMatchObject({ table: 'A.pte0', gen: 1, fn: '__tlb_remove_table_one', stale: [] });
      expect(end.step.index).toBeGreaterThan(restore.index);
      expect(free.step.index).toBeGreaterThan(end.step.index);
      expect(d.exec.violations).toEqual([]);
    });
  }

  it('x86: a walker that went IRQ-off after the flush but before the grace period started is waited for', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'sync-rcu', batch_alloc: 'fails' } }));
    const munmap = d.tid('munmap');
    const gup = d.tid('gup_fast');
    // munmap flushes (CPU1 takes the IPI with IRQs on) and stops before starting the grace period.
    for (;;) {
      d.run(munmap, (p) => p.fn === 'synchronize_rcu' && p.desc.startsWith('start grace period'));
      const irq = d.exec.threads.find((t) => t.spec.kind === 'irq' && t.phase !== 'done' && d.enabled(t.id));
      if (!irq) break;
      finish(d, irq.id);
    }
    expect(d.pending(munmap).desc).toMatch(/^start grace period/);
    d.step(gup); // local_irq_save()
    d.step(munmap);
    expect(theEvent(d.exec, 'gp_start').ev.readers).toEqual([1]);
    d.run(munmap);
    expect(d.pending(munmap).desc).toMatch(/^wait for grace period cpu0#1$/);
    expect(d.enabled(munmap)).toBe(false);
    runUntilDesc(d, gup, 'local_irq_restore()');
    expect(d.enabled(munmap)).toBe(false);
    const restore = d.step(gup);
    finish(d, munmap);
    drain(d);
    expect(theEvent(d.exec, 'pt_free').step.index).toBeGreaterThan(restore.index);
    // The PMD was cleared before the flush: the late walker finds nothing.
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    expect(d.exec.violations).toEqual([]);
  });

  it('arm64: a walker that starts after the grace period began is not waited for', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'arm64', config: { preset: 'sync-rcu', batch_alloc: 'fails' } }));
    const munmap = d.tid('munmap');
    const gup = d.tid('gup_fast');
    d.runThroughFn(munmap, 'synchronize_rcu'); // might_sleep()
    d.step(munmap); // gp start: no reader
    expect(theEvent(d.exec, 'gp_start').ev.readers).toEqual([]);
    d.step(gup); // local_irq_save(): a reader now
    expect(d.enabled(munmap)).toBe(true);
    finish(d, munmap);
    drain(d);
    // The PMD entry was cleared before the grace period: GUP-fast finds nothing to walk.
    expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('synchronize_rcu_expedited()', () => {
  const yaml = (cpu1: string) =>
    [
      'name: exp',
      'machine: { arch: x86, cpus: 2 }',
      'config: { preset: sync-rcu }',
      'mm:',
      '  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }',
      'cpus:',
      '  - { run: [ { call: { fn: synchronize_rcu_expedited, context: task } } ] }',
      `  - ${cpu1}`,
      '',
    ].join('\n');

  it('IPIs a CPU that is inside a reader and waits for its quiescent state', () => {
    const d = new Driver(load(yaml('{ mm: A, run: [ { gup_fast: { slot: 0 } } ] }')).program);
    const caller = d.tid('synchronize_rcu_expedited');
    const gup = d.tid('gup_fast');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.run(caller);
    expect(theEvent(d.exec, 'gp_start').ev.readers).toEqual([1]);
    expect(theEvent(d.exec, 'smp_call').ev).toMatchObject({ func: 'rcu_exp_handler', wait: false, targets: [1] });
    expect(d.pending(caller)).toMatchObject({ fn: 'synchronize_rcu_expedited', desc: expect.stringMatching(/^wait for expedited grace period cpu\d+#\d+$/) });
    expect(d.enabled(caller)).toBe(false);
    const ipi = d.tid('IPI rcu_exp_handler CPU0->CPU1');
    expect(d.enabled(ipi)).toBe(false);
    finish(d, gup);
    // The walker's local_irq_restore() already was the quiescent state.
    expect(d.enabled(caller)).toBe(true);
    drain(d);
    expect(theEvent(d.exec, 'gp_end').ev).toMatchObject({ expedited: true });
    expect(d.exec.violations).toEqual([]);
  });

  it('sends no IPI when no CPU is inside a reader', () => {
    const d = new Driver(load(yaml('{ run: [ idle ] }')).program);
    drain(d);
    expect(theEvent(d.exec, 'gp_start').ev.readers).toEqual([]);
    expect(events(d.exec, 'smp_call')).toEqual([]);
  });
});

describe('an rcu_read_lock()-only walker (__pte_offset_map with IRQs on)', () => {
  const yaml = (preset: string) =>
    munmapVsGupFastYaml({ arch: 'x86', config: { preset, batch_alloc: 'fails' } }).replace(
      '{ gup_fast: { slot: 0 } }',
      '{ pte_offset_map: { slot: 0 } }',
    );

  /** The walker reads the PMD; then munmap runs as far as it can, every IPI handled at once. */
  function race(preset: string) {
    const { d } = drive(yaml(preset));
    const walker = d.tid('pte_offset_map');
    const munmap = d.tid('munmap');
    const walked = d.runThroughFn(walker, 'pmdp_get_lockless');
    expect(walked[0]?.desc).toBe('rcu_read_lock()');
    expect(walked.at(-1)?.note).toBe('-> A.pte0 (gen 1)');
    expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(false);
    for (let progress = true; progress && !d.done(munmap);) {
      progress = d.run(munmap).length > 0;
      for (const t of d.exec.threads) {
        if (t.spec.kind === 'irq' && t.phase !== 'done' && d.enabled(t.id)) {
          d.run(t.id);
          progress = true;
        }
      }
    }
    return { d, walker, munmap };
  }

  for (const preset of ['broadcast-ipi', 'skip-redundant-ipi', 'no-sync']) {
    it(`${preset} on x86: the IPIs are taken inside the reader, the table is freed under it`, () => {
      const { d, walker, munmap } = race(preset);
      expect(d.done(munmap)).toBe(true);
      // CPU1 took the flush IPI (and the sync IPI, where there is one) while still in rcu_read_lock().
      expect(events(d.exec, 'ipi_received').filter((e) => e.ev.cpu === 1).length).toBeGreaterThanOrEqual(1);
      expect(d.exec.read(cpuLoc.rcu_nesting(1))).toBe(1);
      expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0' });
      finish(d, walker);
      const v = events(d.exec, 'walk_read').filter((e) => e.ev.state === 'free');
      expect(v.map((e) => e.ev)).toEqual([expect.objectContaining({ walker: 'rcu_walker', cpu: 1, fn: 'ptep_get_lockless', table: 'A.pte0' })]);
      expect(d.exec.violations.map((x) => x.property)).toEqual(['no-walk-of-freed-table']);
    });
  }

  it('sync-rcu on x86: the grace period waits for rcu_read_unlock(), the IPIs do not end it', () => {
    const { d, walker, munmap } = race('sync-rcu');
    expect(d.done(munmap)).toBe(false);
    expect(d.pending(munmap)).toMatchObject({ fn: 'tlb_remove_table_sync_rcu', desc: expect.stringMatching(/^wait for grace period cpu\d+#\d+$/) });
    expect(d.enabled(munmap)).toBe(false);
    expect(events(d.exec, 'ipi_received').filter((e) => e.ev.cpu === 1)).toHaveLength(1);
    finish(d, walker);
    drain(d);
    expect(theEvent(d.exec, 'pt_free').step.index).toBeGreaterThan(
      events(d.exec, 'walk_read').filter((e) => e.ev.walker === 'rcu_walker').at(-1)?.step.index ?? Infinity,
    );
    expect(d.exec.violations).toEqual([]);
  });
});

describe('cpuN.rcu stays in step with the reader fields', () => {
  it.each([
    'scenarios/check/munmap-vs-gup-fast/broadcast-ipi+x86+batch-fails.yaml',
    'scenarios/check/munmap-vs-gup-fast/sync-rcu+x86-kvm+batch-fails.yaml',
    'scenarios/check/context/sync-rcu-under-spinlock.yaml',
    'scenarios/check/rcu-walker/sync-rcu+rcu-walker.yaml',
    'scenarios/check/fault/sync-rcu+arm64+munmap-mmap-fault-vs-gup-fast.yaml',
  ])("after every step of two executions of %s", (file) => {
    const s = openScenario(file);
    let checked = 0;
    // Walk a few executions step by step with the driver and compare at each step.
    for (const choice of [0, 1]) {
      const d = new Driver(s.program);
      for (let n = 0; n < 5000; n++) {
        const en = d.exec.enabled();
        if (en.length === 0) break;
        const t = en[(n * 7 + choice) % en.length] as number;
        const p = d.pending(t);
        d.step(t, p.kind === 'choose' ? choice % (p.options?.length ?? 1) : undefined);
        for (let c = 0; c < s.resolved.cpus; c++) {
          const fields = {
            irqs_off: d.exec.read(cpuLoc.irqs_off(c)) as boolean,
            preempt_count: d.exec.read(cpuLoc.preempt_count(c)) as number,
            rcu_nesting: d.exec.read(cpuLoc.rcu_nesting(c)) as number,
            hardirq: d.exec.read(cpuLoc.hardirq(c)) as boolean,
          };
          expect((d.exec.read(cpuLoc.rcu(c)) as { reader: boolean }).reader).toBe(inReader(fields));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
