/**
 * arch/x86/kernel/kvm.c: the PV TLB flush skips a vCPU the host preempted, setting
 * KVM_VCPU_FLUSH_TLB in its steal_time; the host flushes that vCPU's TLB when it resumes it.
 * So an IRQ-off walker on a preempted vCPU is neither interrupted nor waited for by the flush.
 */
import { describe, expect, it } from 'vitest';
import { cpuLoc, type TlbEntry } from '../../../../src/model/state.js';
import { drain, drive, events, finish, hasThread, ipiName, munmapVsGupFastYaml, mustFind, theEvent, violationsOf } from '../../helpers.js';

const PREEMPTED = 1; // kvm_host_vcpu's choice: ['runs', 'preempted']

function kvmYaml(config: Record<string, string | boolean>) {
  return munmapVsGupFastYaml({ arch: 'x86-kvm', config, cpu1Extra: 'vcpu_preemptible: true' });
}

/** GUP-fast on vCPU1 reads the PMD, then the host deschedules vCPU1. */
function preemptWalker(d: ReturnType<typeof drive>['d']) {
  const gup = d.tid('gup_fast');
  const host = d.tid('host vCPU1');
  d.runThroughFn(gup, 'gup_fast_pmd_range');
  const choice = d.step(host, PREEMPTED);
  expect(choice.choice).toEqual({ index: 1, option: 'preempted', key: 'vcpu_preempt' });
  d.step(host); // kvm_sched_out
  expect(d.exec.read(cpuLoc.stopped(1))).toBe(true);
  expect(d.exec.read(cpuLoc.steal_time(1))).toEqual({ preempted: true, flush: false });
  expect(d.enabled(gup)).toBe(false);
  return { gup, host };
}

describe('kvm_flush_tlb_multi()', () => {
  it('skips the preempted walker vCPU (KVM_VCPU_FLUSH_TLB), IPIs only the others; the host flushes on resume', () => {
    const { d } = drive(kvmYaml({ preset: 'sync-rcu', batch_alloc: 'succeeds' }));
    const munmap = d.tid('munmap');
    const { gup, host } = preemptWalker(d);
    const tlb1Before = d.exec.read(cpuLoc.tlb(1)) as readonly TlbEntry[];
    expect(tlb1Before.some((e) => e.table === 'A.pte0')).toBe(true);

    d.run(munmap);
    // The PV flush marked vCPU1 and dropped it from the mask.
    const skip = theEvent(d.exec, 'pv_flush_skip');
    expect(skip.ev).toMatchObject({ cpu: 0, skipped: [1] });
    expect(skip.step.fn).toBe('kvm_flush_tlb_multi');
    expect(d.exec.read(cpuLoc.steal_time(1))).toEqual({ preempted: true, flush: true });
    const flushCall = events(d.exec, 'smp_call').find((c) => c.ev.func === 'flush_tlb_func');
    expect(flushCall?.ev).toMatchObject({ fn: 'native_flush_tlb_multi', targets: [2] });
    expect(hasThread(d.exec, ipiName('flush_tlb_func', 0, 1))).toBe(false);
    // munmap waits only for the lazy CPU2.
    expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU2 to run the IPI' });
    finish(d, d.tid(ipiName('flush_tlb_func', 0, 2)));
    finish(d, munmap);

    // vCPU1's TLB is untouched until the host runs it again; the table is not freed yet: the
    // RCU callback waits for vCPU1 (IRQ-off when call_rcu() started the grace period).
    expect(d.exec.read(cpuLoc.tlb(1))).toEqual(tlb1Before);
    expect(events(d.exec, 'ipi_received').map((e) => e.ev.cpu)).toEqual([2]);
    const cb = d.tid('rcu callback tlb_remove_table_rcu');
    expect(d.enabled(cb)).toBe(false);

    // The host resumes vCPU1 and, as asked, flushes its TLB first.
    const resume = d.step(host);
    expect(resume.fn).toBe('record_steal_time');
    expect(resume.events).toEqual([{ type: 'vcpu_resumed', cpu: 1, flushed: true }]);
    expect(d.exec.read(cpuLoc.tlb(1))).toEqual([]);
    expect(d.exec.read(cpuLoc.steal_time(1))).toEqual({ preempted: false, flush: false });
    expect(d.exec.read(cpuLoc.stopped(1))).toBe(false);
    expect(d.done(host)).toBe(true);

    // The walker continues (the PTE is zapped), and only its local_irq_restore lets the free go.
    expect(d.enabled(cb)).toBe(false);
    finish(d, gup);
    expect(d.enabled(cb)).toBe(true);
    drain(d);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.step.threadName).toBe('rcu callback tlb_remove_table_rcu');
    expect(free.ev).toMatchObject({ table: 'A.pte0', stale: [] });
    expect(d.exec.violations).toEqual([]);
  });

  it('a vCPU the host leaves running gets the flush IPI and holds it off while IRQ-off', () => {
    const { d } = drive(kvmYaml({ preset: 'sync-rcu', batch_alloc: 'succeeds' }));
    const gup = d.tid('gup_fast');
    const host = d.tid('host vCPU1');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.step(host, 0); // runs
    expect(d.done(host)).toBe(true);
    const munmap = d.tid('munmap');
    d.run(munmap);
    expect(events(d.exec, 'pv_flush_skip')).toEqual([]);
    expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU1 to run the IPI' });
    expect(d.enabled(munmap)).toBe(false);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('v4-kvm-claims + skip: the sync is skipped on a KVM guest and the preempted walker reads the freed table', () => {
    const { d } = drive(kvmYaml({ preset: 'skip-redundant-ipi', implies_ipi_broadcast: 'v4-kvm-claims', batch_alloc: 'fails' }));
    const munmap = d.tid('munmap');
    const { gup, host } = preemptWalker(d);
    d.run(munmap);
    finish(d, d.tid(ipiName('flush_tlb_func', 0, 2)));
    finish(d, munmap);
    expect(theEvent(d.exec, 'sync_skipped').ev).toMatchObject({ fn: 'tlb_remove_table_sync_rcu' });
    // Freed while vCPU1 is still preempted in its IRQ-off walk; its stale walk cache is excused
    // by the pending KVM_VCPU_FLUSH_TLB.
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'A.pte0', stale: [] });
    expect(violationsOf(d.exec, 'no-stale-walk-cache')).toEqual([]);
    d.step(host);
    finish(d, gup);
    const v = violationsOf(d.exec, 'no-walk-of-freed-table');
    expect(v).toHaveLength(1);
    expect(v[0]?.details).toMatchObject({ cpu: 1, fn: 'gup_fast_pte_range', table: 'A.pte0', gen: 1 });
  });

  it('v8 + skip on a KVM guest: the sync is not skipped and synchronize_rcu() waits for the preempted walker', () => {
    const { d } = drive(kvmYaml({ preset: 'skip-redundant-ipi', batch_alloc: 'fails' }));
    const munmap = d.tid('munmap');
    const { gup, host } = preemptWalker(d);
    d.run(munmap);
    finish(d, d.tid(ipiName('flush_tlb_func', 0, 2)));
    d.run(munmap);
    expect(events(d.exec, 'sync_skipped')).toEqual([]);
    expect(d.pending(munmap)).toMatchObject({ fn: 'tlb_remove_table_sync_rcu', desc: expect.stringMatching(/^wait for grace period cpu\d+#\d+$/) });
    expect(d.enabled(munmap)).toBe(false);
    d.step(host);
    expect(d.enabled(munmap)).toBe(false);
    finish(d, gup);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('a descheduled vCPU', () => {
  // A descheduled vCPU executes nothing, speculative MMU walks included.
  it('does not run its MMU walker while the host has it descheduled', () => {
    const { d } = drive(munmapVsGupFastYaml({
      arch: 'x86-kvm',
      config: { preset: 'sync-rcu', batch_alloc: 'succeeds' },
      cpu1Extra: 'vcpu_preemptible: true, walks: [ { slot: 0 } ]',
    }));
    const host = d.tid('host vCPU1');
    d.step(host, PREEMPTED);
    d.step(host);
    expect(d.exec.read(cpuLoc.stopped(1))).toBe(true);
    expect(d.enabled(d.tid('gup_fast'))).toBe(false);
    expect(d.enabled(d.tid('CPU1 MMU'))).toBe(false);
  });
});

// x86 defaults and guests (issue #11)
describe('a KVM guest without PV TLB flush (x86-kvm-nopv)', () => {
  const nopvYaml = (config: Record<string, string | boolean>) =>
    munmapVsGupFastYaml({ arch: 'x86-kvm-nopv', config, cpu1Extra: 'vcpu_preemptible: true' });

  it('the native flush IPI waits for the preempted walker vCPU; v8 skips the sync, safely', () => {
    const { s, d } = drive(nopvYaml({ preset: 'skip-redundant-ipi', batch_alloc: 'fails' }));
    expect(s.kernel.arch.tlb_table_flush_implies_ipi_broadcast(s.kernel)).toBe(true);
    const munmap = d.tid('munmap');
    const { gup, host } = preemptWalker(d);
    d.run(munmap);
    // No PV skip: native_flush_tlb_multi() IPIs the descheduled vCPU1 and waits for it.
    expect(events(d.exec, 'pv_flush_skip')).toEqual([]);
    expect(d.exec.read(cpuLoc.steal_time(1))).toEqual({ preempted: true, flush: false });
    const flushCall = events(d.exec, 'smp_call').find((c) => c.ev.func === 'flush_tlb_func');
    expect(flushCall?.ev).toMatchObject({ fn: 'native_flush_tlb_multi', targets: [1, 2] });
    finish(d, d.tid(ipiName('flush_tlb_func', 0, 2)));
    d.run(munmap);
    expect(d.pending(munmap)).toMatchObject({ fn: 'csd_lock_wait', desc: 'wait for CPU1 to run the IPI' });
    expect(d.enabled(munmap)).toBe(false);
    // The host resumes vCPU1 (no KVM_VCPU_FLUSH_TLB was asked for); still IRQ-off, it holds the
    // IPI off until its walk ends.
    const resume = d.step(host);
    expect(resume.events).toEqual([{ type: 'vcpu_resumed', cpu: 1, flushed: false }]);
    expect(d.enabled(munmap)).toBe(false);
    finish(d, gup);
    drain(d);
    // The sync after the flush was skipped (the static key is on: native flush), and the table
    // was freed only after the walk.
    expect(theEvent(d.exec, 'sync_skipped').ev).toMatchObject({ fn: 'tlb_remove_table_sync_rcu' });
    expect(events(d.exec, 'gp_start')).toEqual([]);
    const walkDone = mustFind(d.exec, (r) => r.threadName === 'gup_fast' && r.desc.startsWith('local_irq_restore'), "GUP-fast's local_irq_restore()");
    expect(theEvent(d.exec, 'pt_free').step.index).toBeGreaterThan(walkDone);
    expect(d.exec.violations).toEqual([]);
  });
});
