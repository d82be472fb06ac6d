/**
 * kernel/smp.c: cross-CPU calls. A target with IRQs off holds off the IPI and hence the sender's
 * csd_lock_wait(); smp_call_function() reaches every other online CPU; calling it with IRQs off
 * is reported, and two CPUs doing it to each other deadlock.
 */
import { describe, expect, it } from 'vitest';
import { cpuLoc, csdLoc } from '../../../src/model/state.js';
import { drain, drive, events, finish, hasThread, ipiName, load, munmapVsGupFastYaml, runUntilDesc, theEvent, violationsOf } from '../helpers.js';
import { Driver } from '../../../src/core/index.js';

describe('an IRQ-off walker delays the flush IPI', () => {
  for (const preset of ['broadcast-ipi', 'sync-rcu', 'no-sync']) {
    it(`x86 ${preset}: csd_lock_wait for CPU1 is blocked until GUP-fast's local_irq_restore`, () => {
      const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset, batch_alloc: 'fails' } }));
      const munmap = d.tid('munmap');
      const gup = d.tid('gup_fast');

      // GUP-fast: local_irq_save(), PGD, PUD, then the PMD entry pointing at A.pte0.
      const walked = d.runThroughFn(gup, 'gup_fast_pmd_range');
      expect(walked[0]).toMatchObject({ fn: 'gup_fast', desc: 'local_irq_save()' });
      expect(walked.at(-1)?.events[0]).toMatchObject({ type: 'walk_read', table: 'A.pmd', entry: { table: 'A.pte0', gen: 1 } });
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);

      // munmap runs until it blocks: in csd_lock_wait for CPU1, the flush IPI not yet taken.
      d.run(munmap);
      expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU1 to run the IPI' });
      expect(d.enabled(munmap)).toBe(false);
      expect(d.exec.read(csdLoc(0, 1))).toBe('flush_tlb_func');
      const ipi1 = d.tid(ipiName('flush_tlb_func', 0, 1));
      expect(d.pending(ipi1).kind).toBe('irq-entry');
      expect(d.enabled(ipi1)).toBe(false);
      expect(events(d.exec, 'pt_free')).toEqual([]);

      // The IPI to the lazy CPU2 does not help.
      finish(d, d.tid(ipiName('flush_tlb_func', 0, 2)));
      expect(d.enabled(munmap)).toBe(false);

      // GUP-fast finishes its walk (the PTE was already zapped: it pins nothing), still IRQ-off.
      runUntilDesc(d, gup, 'local_irq_restore()');
      expect(d.enabled(munmap)).toBe(false);
      expect(d.enabled(ipi1)).toBe(false);
      const restore = d.step(gup);
      expect(restore.fn).toBe('gup_fast');
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(false);

      // Now the interrupt can be taken; the sender still waits until the handler released the csd.
      expect(d.enabled(ipi1)).toBe(true);
      expect(d.enabled(munmap)).toBe(false);
      d.step(ipi1); // irq entry: the CPU's task is held off
      expect(d.enabled(gup)).toBe(false);
      d.run(ipi1, (p) => p.fn === 'csd_unlock');
      expect(d.enabled(munmap)).toBe(false);
      d.step(ipi1); // csd_unlock
      expect(d.exec.read(csdLoc(0, 1))).toBeNull();
      expect(d.enabled(munmap)).toBe(true);
      finish(d, ipi1);
      const handled = events(d.exec, 'tlb_flush').find((e) => e.ev.cpu === 1);
      expect(handled?.step.index).toBeGreaterThan(restore.index);

      // (broadcast-ipi then sends the sync IPI and waits again: let everything finish.)
      drain(d);
      const free = theEvent(d.exec, 'pt_free');
      expect(free.step.index).toBeGreaterThan(handled?.step.index ?? Infinity);
      expect(d.exec.violations).toEqual([]);
      expect(theEvent(d.exec, 'gup_fast_done').ev.pages).toEqual([]);
    });
  }
});

const callYaml = (cpus: readonly string[]) =>
  [
    'name: smp-test',
    `machine: { arch: x86, cpus: ${cpus.length} }`,
    'config: { preset: broadcast-ipi }',
    'cpus:',
    ...cpus.map((c) => `  - ${c}`),
    '',
  ].join('\n');

describe('smp_call_function(wait) via tlb_remove_table_sync_one()', () => {
  it('IPIs every other online CPU (idle, user, running nothing), not itself, and waits for each', () => {
    const s = load(callYaml([
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: task } } ] }',
      '{ run: [ idle ] }',
      '{ mm: null }',
      '{ run: [ user ] }',
    ]));
    const d = new Driver(s.program);
    const caller = d.tid('tlb_remove_table_sync_one');
    d.run(caller);
    const call = theEvent(d.exec, 'smp_call');
    expect(call.ev).toMatchObject({ cpu: 0, fn: 'tlb_remove_table_sync_one', func: 'tlb_remove_table_smp_sync', wait: true, irqs_off: false, in_task: true, targets: [1, 2, 3] });
    for (const t of [1, 2, 3]) expect(hasThread(d.exec, ipiName('tlb_remove_table_smp_sync', 0, t))).toBe(true);
    expect(hasThread(d.exec, ipiName('tlb_remove_table_smp_sync', 0, 0))).toBe(false);
    // No local run of the handler either (smp_call_function() has no SCF_RUN_LOCAL).
    expect(d.exec.trace.some((r) => r.fn === 'tlb_remove_table_smp_sync' && r.cpu === 0)).toBe(false);
    expect(d.pending(caller)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU1 to run the IPI' });
    expect(d.enabled(caller)).toBe(false);

    // Handle CPU3's and CPU2's IPIs first: the sender still waits for CPU1.
    finish(d, d.tid(ipiName('tlb_remove_table_smp_sync', 0, 3)));
    finish(d, d.tid(ipiName('tlb_remove_table_smp_sync', 0, 2)));
    expect(d.enabled(caller)).toBe(false);
    finish(d, d.tid(ipiName('tlb_remove_table_smp_sync', 0, 1)));
    finish(d, caller);
    drain(d);
    expect(events(d.exec, 'ipi_received').map((e) => e.ev.cpu).sort()).toEqual([1, 2, 3]);
    expect(d.exec.violations).toEqual([]);
  });

  it('with IRQs disabled it is reported by no-ipi-wait-with-irqs-off', () => {
    const s = load(callYaml([
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: irqs_off } } ] }',
      '{ run: [ idle ] }',
    ]));
    const d = new Driver(s.program);
    drain(d); // one such CPU alone does not deadlock: CPU1 takes the IPI
    const v = violationsOf(d.exec, 'no-ipi-wait-with-irqs-off');
    expect(v).toHaveLength(1);
    expect(v[0]?.details).toMatchObject({ cpu: 0, fn: 'tlb_remove_table_sync_one', func: 'tlb_remove_table_smp_sync', wait: true, irqs_off: true });
    expect(v[0]?.message).toContain('with IRQs disabled');
  });

  it('from task context it is not reported', () => {
    const s = load(callYaml([
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: task } } ] }',
      '{ run: [ idle ] }',
    ]));
    const d = new Driver(s.program);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('two CPUs doing it with IRQs off to each other deadlock', () => {
    const s = load(callYaml([
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: irqs_off } } ] }',
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: irqs_off } } ] }',
    ]));
    const d = new Driver(s.program);
    d.runAll();
    expect(d.exec.deadlocked).toBe(true);
    expect(d.exec.finished).toBe(false);
    const stuck = d.exec.blocked().map((t) => `${d.exec.thread(t).spec.name}@${d.pending(t).fn}`).sort();
    expect(stuck).toEqual([
      `${ipiName('tlb_remove_table_smp_sync', 0, 1)}@irq_entry`,
      `${ipiName('tlb_remove_table_smp_sync', 1, 0)}@irq_entry`,
      'tlb_remove_table_sync_one@csd_lock_wait',
      'tlb_remove_table_sync_one@csd_lock_wait',
    ]);
    expect(violationsOf(d.exec, 'no-ipi-wait-with-irqs-off').map((v) => v.details.cpu).sort()).toEqual([0, 1]);
    expect(d.exec.read(cpuLoc.irqs_off(0))).toBe(true);
    expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
  });

  it('from a spinlock (preemption off, IRQs on) the IPI is neither reported nor deadlocks', () => {
    const s = load(callYaml([
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: spinlock } } ] }',
      '{ run: [ { call: { fn: tlb_remove_table_sync_one, context: spinlock } } ] }',
    ]));
    const d = new Driver(s.program);
    drain(d);
    expect(d.exec.violations).toEqual([]);
    expect(events(d.exec, 'ipi_received').map((e) => `${e.ev.src}->${e.ev.cpu}`).sort()).toEqual(['0->1', '1->0']);
  });
});
