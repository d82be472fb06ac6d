/**
 * mm/mmu_gather.c: the single-table fallback and its sync (tlb_remove_table_sync_one/_rcu, the v8
 * skip), the context rules of tlb_remove_table_sync_rcu(), and the RCU-batched path.
 */
import { describe, expect, it } from 'vitest';
import { Driver } from '../../../src/core/index.js';
import { ARCH_IDS } from '../../../src/model/config.js';
import { cpuLoc, mmLoc, pageLoc } from '../../../src/model/state.js';
import { drain, drive, events, finish, HEAP_AND_STACK_VMAS, load, munmapVsGupFastYaml, mustFind, theEvent, violationsOf } from '../helpers.js';

describe('skip-redundant-ipi (v8): the sync is skipped only where the flush implied an IPI broadcast', () => {
  for (const arch of ARCH_IDS) {
    const skips = arch === 'x86' || arch === 'x86-kvm-nopv';
    it(`${arch}: tlb_remove_table_sync_rcu() ${skips ? 'returns early (sync_skipped)' : 'runs synchronize_rcu()'}`, () => {
      const { s, d } = drive(munmapVsGupFastYaml({ arch, config: { preset: 'skip-redundant-ipi', batch_alloc: 'fails' } }));
      expect(s.kernel.config).toMatchObject({ remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: true, implies_ipi_broadcast: 'v8' });
      drain(d);
      const free = theEvent(d.exec, 'pt_free');
      expect(free.ev).toMatchObject({ table: 'A.pte0', fn: '__tlb_remove_table_one' });
      const skipped = events(d.exec, 'sync_skipped');
      const gpStart = events(d.exec, 'gp_start');
      const gpEnd = events(d.exec, 'gp_end');
      if (skips) {
        expect(skipped.map((e) => e.ev)).toEqual([{ type: 'sync_skipped', cpu: 0, fn: 'tlb_remove_table_sync_rcu' }]);
        expect(skipped[0]?.step.desc).toBe('skipped: tlb_table_flush_implies_ipi_broadcast()');
        expect(skipped[0]?.step.index).toBeLessThan(free.step.index);
        expect(gpStart).toEqual([]);
        expect(gpEnd).toEqual([]);
        expect(events(d.exec, 'might_sleep').some((e) => e.ev.fn === 'synchronize_rcu')).toBe(false);
      } else {
        expect(skipped).toEqual([]);
        expect(gpStart.map((e) => e.ev.fn)).toEqual(['synchronize_rcu']);
        expect(gpEnd.map((e) => e.ev.fn)).toEqual(['tlb_remove_table_sync_rcu']);
        expect(gpEnd[0]?.step.index).toBeLessThan(free.step.index);
        expect(gpStart[0]?.step.index).toBeGreaterThan(mustFind(d.exec, (r) => r.events.some((e) => e.type === 'tlb_flush'), 'the TLB flush'));
      }
      expect(d.exec.violations).toEqual([]);
    });
  }

  for (const arch of ARCH_IDS) {
    const skips = arch === 'x86' || arch === 'x86-kvm-nopv';
    it(`${arch}, remove_table_one sync_one: tlb_remove_table_sync_one() ${skips ? 'is skipped' : 'broadcasts the sync IPI'}`, () => {
      const { d } = drive(munmapVsGupFastYaml({ arch, config: { preset: 'skip-redundant-ipi', remove_table_one: 'sync_one', batch_alloc: 'fails' } }));
      drain(d);
      const syncCalls = events(d.exec, 'smp_call').filter((e) => e.ev.func === 'tlb_remove_table_smp_sync');
      if (skips) {
        expect(events(d.exec, 'sync_skipped').map((e) => e.ev.fn)).toEqual(['tlb_remove_table_sync_one']);
        expect(syncCalls).toEqual([]);
      } else {
        expect(events(d.exec, 'sync_skipped')).toEqual([]);
        expect(syncCalls.map((e) => e.ev.targets)).toEqual([[1, 2]]);
      }
    });
  }

  it('x86: skipping is safe because the flush IPI already waited for the IRQ-off walker', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'skip-redundant-ipi', batch_alloc: 'fails' } }));
    const gup = d.tid('gup_fast');
    const munmap = d.tid('munmap');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    d.run(munmap);
    expect(d.pending(munmap).fn).toBe('csd_lock_wait');
    expect(events(d.exec, 'pt_free')).toEqual([]);
    finish(d, gup);
    drain(d);
    expect(theEvent(d.exec, 'sync_skipped').step.index).toBeGreaterThan(theEvent(d.exec, 'gup_fast_done').step.index);
    expect(d.exec.violations).toEqual([]);
  });
});

const callYaml = (fn: string, context: string, preset = 'sync-rcu') =>
  [
    'name: call-test',
    'machine: { arch: x86, cpus: 2 }',
    `config: { preset: ${preset} }`,
    'cpus:',
    `  - { run: [ { call: { fn: ${fn}, context: ${context} } } ] }`,
    '  - { run: [ idle ] }',
    '',
  ].join('\n');

describe('tlb_remove_table_sync_rcu() may sleep', () => {
  it('with a spinlock held it is reported by no-sleep-in-atomic, naming demo_lock', () => {
    const d = new Driver(load(callYaml('tlb_remove_table_sync_rcu', 'spinlock')).program);
    const caller = d.tid('tlb_remove_table_sync_rcu');
    d.runThroughFn(caller, 'synchronize_rcu'); // spin_lock(demo_lock), then might_sleep()
    const v = violationsOf(d.exec, 'no-sleep-in-atomic');
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toBe('CPU0 synchronize_rcu may sleep but is atomic: holding demo_lock');
    expect(v[0]?.details).toMatchObject({ cpu: 0, fn: 'synchronize_rcu', comm: 'tlb_remove_table_sync_rcu', locks_held: ['demo_lock'], preempt_count: 1, irqs_off: false });
    expect(d.exec.trace[v[0]?.step ?? -1]?.desc).toBe('might_sleep()');
  });

  it('from task context it is not reported and completes', () => {
    const d = new Driver(load(callYaml('tlb_remove_table_sync_rcu', 'task')).program);
    drain(d);
    expect(d.exec.violations).toEqual([]);
    expect(theEvent(d.exec, 'might_sleep').ev).toMatchObject({ fn: 'synchronize_rcu', locks_held: [], preempt_count: 0 });
    expect(theEvent(d.exec, 'gp_end').ev.fn).toBe('tlb_remove_table_sync_rcu');
  });

  it('with IRQs disabled or preemption disabled it is reported too', () => {
    for (const [context, why] of [['irqs_off', 'IRQs disabled'], ['preempt_off', 'preempt_count 1']] as const) {
      const d = new Driver(load(callYaml('tlb_remove_table_sync_rcu', context)).program);
      d.runThroughFn(d.tid('tlb_remove_table_sync_rcu'), 'synchronize_rcu');
      const v = violationsOf(d.exec, 'no-sleep-in-atomic');
      expect(v.map((x) => x.message)).toEqual([`CPU0 synchronize_rcu may sleep but is atomic: ${why}`]);
    }
  });

  it('tlb_remove_table_sync_one() with a spinlock held is fine (it does not sleep)', () => {
    const d = new Driver(load(callYaml('tlb_remove_table_sync_one', 'spinlock', 'broadcast-ipi')).program);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  // The caller's own CPU is inside a "reader" (spinlock held) when synchronize_rcu() starts the
  // grace period, but its sleep (schedule() -> rcu_note_context_switch()) is a quiescent state:
  // the kernel prints "BUG: sleeping function called from invalid context" and then completes
  // the grace period. (Inside rcu_read_lock() under PREEMPT_RCU it would deadlock instead.)
  it('with a spinlock held the call still completes after the splat', () => {
    const d = new Driver(load(callYaml('tlb_remove_table_sync_rcu', 'spinlock')).program);
    d.runAll();
    expect(d.exec.deadlocked).toBe(false);
    expect(d.exec.finished).toBe(true);
  });
});

describe('the batch path (GFP_NOWAIT batch allocation succeeds)', () => {
  it('table_free rcu: the table is freed by the RCU callback tlb_remove_table_rcu after a grace period', () => {
    const { s, d } = drive(munmapVsGupFastYaml({ arch: 'arm64', config: { preset: 'sync-rcu', batch_alloc: 'succeeds' } }));
    expect(s.kernel.config.table_free).toBe('rcu');
    const gup = d.tid('gup_fast');
    const munmap = d.tid('munmap');
    d.runThroughFn(gup, 'gup_fast_pmd_range');
    finish(d, munmap); // munmap does not wait: it queues the batch with call_rcu()
    const spawn = mustFind(d.exec, (r) => r.kind === 'spawn' && r.fn === 'call_rcu', 'call_rcu() queued the batch');
    expect(d.exec.trace[spawn]?.desc).toBe('call_rcu(batch[A.pte0], tlb_remove_table_rcu)');
    expect(theEvent(d.exec, 'gp_start').ev).toMatchObject({ fn: 'call_rcu', readers: [1] });
    // The flush came first (tlb_finish_mmu -> tlb_flush_mmu), and nothing is freed yet.
    expect(mustFind(d.exec, (r) => r.events.some((e) => e.type === 'tlb_flush'), 'the flush')).toBeLessThan(spawn);
    expect(events(d.exec, 'pt_free')).toEqual([]);
    const cb = d.tid('rcu callback tlb_remove_table_rcu');
    expect(d.exec.thread(cb).spec.kind).toBe('agent');
    expect(d.pending(cb)).toMatchObject({ fn: 'rcu_do_batch', desc: expect.stringMatching(/^wait for grace period cpu\d+#\d+$/) });
    expect(d.enabled(cb)).toBe(false);

    finish(d, gup);
    const restore = mustFind(d.exec, (r) => r.threadName === 'gup_fast' && r.desc === 'local_irq_restore()', 'GUP-fast restored IRQs');
    finish(d, cb);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.step.threadName).toBe('rcu callback tlb_remove_table_rcu');
    expect(free.ev).toMatchObject({ fn: 'tlb_remove_table_rcu', comm: 'rcuc/0', table: 'A.pte0', gen: 1, stale: [] });
    const end = theEvent(d.exec, 'gp_end');
    expect(end.ev).toMatchObject({ fn: 'rcu_do_batch' });
    expect(end.step.index).toBeGreaterThan(restore);
    expect(free.step.index).toBeGreaterThan(end.step.index);
    expect(d.exec.read(pageLoc('A.pte0'))).toMatchObject({ state: 'free' });
    expect(d.exec.violations).toEqual([]);
  });

  const exitYaml = (config: string) =>
    [
      'name: exit-test',
      'machine: { arch: x86, cpus: 2 }',
      `config: ${config}`,
      'mm:',
      '  A:',
      '    vmas:',
      ...HEAP_AND_STACK_VMAS,
      'cpus:',
      '  - { mm: A, run: [ exit_mmap ] }',
      '  - { mm: A, lazy: true }',
      '',
    ].join('\n');

  const callRcus = (d: Driver) => d.exec.trace.filter((r) => r.kind === 'spawn' && r.fn === 'call_rcu');

  it('with the default MAX_TABLE_BATCH exit_mmap queues one batch of all four tables, after the final flush', () => {
    const d = new Driver(load(exitYaml('{ preset: sync-rcu, batch_alloc: succeeds }')).program);
    drain(d);
    const spawns = callRcus(d);
    expect(spawns.map((r) => r.desc)).toEqual(['call_rcu(batch[A.pte0,A.pte1,A.pmd,A.pud], tlb_remove_table_rcu)']);
    const nested = mustFind(d.exec, (r) => r.desc === 'mm_tlb_flush_nested()', 'tlb_finish_mmu');
    expect(spawns[0]?.index).toBeGreaterThan(nested);
    expect(events(d.exec, 'smp_call').filter((e) => e.ev.func === 'flush_tlb_func')).toHaveLength(1);
    const frees = events(d.exec, 'pt_free');
    expect(frees.map((f) => f.ev.table)).toEqual(['A.pte0', 'A.pte1', 'A.pmd', 'A.pud']);
    expect(new Set(frees.map((f) => f.step.threadName))).toEqual(new Set(['rcu callback tlb_remove_table_rcu']));
    expect(d.exec.violations).toEqual([]);
  });

  it('with max_table_batch 1 each full batch is flushed at once: invalidate, then call_rcu, before the next table is unlinked', () => {
    const d = new Driver(load(exitYaml('{ preset: sync-rcu, batch_alloc: succeeds, max_table_batch: 1 }')).program);
    drain(d);
    const spawns = callRcus(d);
    expect(spawns.map((r) => r.desc)).toEqual([
      'call_rcu(batch[A.pte0], tlb_remove_table_rcu)',
      'call_rcu(batch[A.pte1], tlb_remove_table_rcu)',
      'call_rcu(batch[A.pmd], tlb_remove_table_rcu)',
      'call_rcu(batch[A.pud], tlb_remove_table_rcu)',
    ]);
    // The first batch goes before A.pte1 is even unlinked, and all before tlb_finish_mmu.
    const unlinkPte1 = mustFind(d.exec, (r) => r.desc === 'pmd_clear(A.pmd[1])', 'pmd_clear of slot 1');
    expect(spawns[0]?.index).toBeLessThan(unlinkPte1);
    const nested = mustFind(d.exec, (r) => r.desc === 'mm_tlb_flush_nested()', 'tlb_finish_mmu');
    for (const sp of spawns) expect(sp.index).toBeLessThan(nested);
    // Each batch is preceded by its own TLB invalidation (tlb_table_invalidate()); tlb_finish_mmu
    // then finds nothing left to flush.
    const flushes = d.exec.trace.filter((r) => r.desc === 'get_cpu()' && r.fn === 'flush_tlb_mm_range').map((r) => r.index);
    expect(flushes).toHaveLength(4);
    flushes.forEach((f, i) => {
      expect(f).toBeLessThan(spawns[i]?.index ?? -1);
      if (i > 0) expect(f).toBeGreaterThan(spawns[i - 1]?.index ?? Infinity);
    });
    expect(events(d.exec, 'pt_free').map((f) => f.ev.table)).toEqual(['A.pte0', 'A.pte1', 'A.pmd', 'A.pud']);
    expect(d.exec.violations).toEqual([]);
  });

  it('with max_table_batch 2 the tables go in two batches', () => {
    const d = new Driver(load(exitYaml('{ preset: sync-rcu, batch_alloc: succeeds, max_table_batch: 2 }')).program);
    drain(d);
    expect(callRcus(d).map((r) => r.desc)).toEqual([
      'call_rcu(batch[A.pte0,A.pte1], tlb_remove_table_rcu)',
      'call_rcu(batch[A.pmd,A.pud], tlb_remove_table_rcu)',
    ]);
  });

  it('table_free table (no RCU): the unmapping task frees the batch right after the flush', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'sync-rcu', batch_alloc: 'succeeds', table_free: 'table' } }));
    drain(d);
    expect(callRcus(d)).toEqual([]);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.step.threadName).toBe('munmap');
    expect(free.ev).toMatchObject({ fn: 'tlb_remove_table_free', table: 'A.pte0' });
    expect(free.step.index).toBeGreaterThan(mustFind(d.exec, (r) => r.fn === 'csd_lock_wait', 'the flush wait'));
  });

  it('table_free page: the table goes with the data pages (tlb_batch_pages_flush), after the flush', () => {
    const { d } = drive(munmapVsGupFastYaml({ arch: 'x86', config: { preset: 'sync-rcu', table_free: 'page' } }));
    drain(d);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ fn: 'tlb_batch_pages_flush', table: 'A.pte0' });
    // No batch page is allocated at all.
    expect(d.exec.trace.some((r) => r.kind === 'choose' || r.desc.startsWith('__get_free_page'))).toBe(false);
    expect(d.exec.read(cpuLoc.loaded_mm(2))).toBe('init_mm');
  });
});

// old mmu_gather forms (issue #11)
const oldGatherYaml = (config: string, cpu1: string) =>
  [
    'name: old-gather-test',
    'machine: { arch: x86, cpus: 2 }',
    `config: { preset: sync-rcu, ${config} }`,
    'mm:',
    '  A:',
    '    vmas:',
    ...HEAP_AND_STACK_VMAS,
    'cpus:',
    '  - { mm: A, run: [ { munmap: heap } ] }',
    `  - ${cpu1}`,
    '',
  ].join('\n');

describe('the pre-v4.19 mm_users < 2 shortcut of tlb_remove_table()', () => {
  const lazyCpu = '{ mm: A, lazy: true }';
  const userCpu = '{ mm: A, run: [ user ] }';

  it('boots mm_users from the CPUs that run the mm, mm_count from the lazy ones', () => {
    const lazy = drive(oldGatherYaml('batch_alloc: succeeds', lazyCpu)).d;
    expect([lazy.exec.read(mmLoc.mm_users('A')), lazy.exec.read(mmLoc.mm_count('A'))]).toEqual([1, 2]);
    const user = drive(oldGatherYaml('batch_alloc: succeeds', userCpu)).d;
    expect([user.exec.read(mmLoc.mm_users('A')), user.exec.read(mmLoc.mm_count('A'))]).toEqual([2, 1]);
  });

  it('with one user it frees the table at once, before any TLB flush, while the lazy CPU still caches it', () => {
    const { d } = drive(oldGatherYaml('batch_alloc: succeeds, mm_users_shortcut: true', lazyCpu));
    const munmap = d.tid('munmap');
    d.run(munmap, (p) => p.fn === 'tlb_remove_table' && p.desc.startsWith('free page-table page'));
    expect(d.pending(munmap).desc).toMatch(/^free page-table page A\.pte0/);
    expect(events(d.exec, 'tlb_flush')).toEqual([]);
    expect(d.exec.trace.some((r) => r.desc === 'atomic_read(&A->mm_users) < 2' && r.note === 'mm_users = 1')).toBe(true);
    d.step(munmap);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ fn: 'tlb_remove_table', table: 'A.pte0' });
    expect(free.ev.stale).toEqual(expect.arrayContaining([{ cpu: 1, level: 'pmd', path: '0' }]));
    expect(violationsOf(d.exec, 'no-stale-walk-cache')).not.toEqual([]);
  });

  it('with two users it batches as mainline does: the flush, then the free after a grace period', () => {
    const { d } = drive(oldGatherYaml('batch_alloc: succeeds, mm_users_shortcut: true', userCpu));
    drain(d);
    expect(d.exec.trace.some((r) => r.desc === 'atomic_read(&A->mm_users) < 2' && r.note === 'mm_users = 2')).toBe(true);
    const free = theEvent(d.exec, 'pt_free');
    expect(free.ev).toMatchObject({ fn: 'tlb_remove_table_rcu', table: 'A.pte0', stale: [] });
    expect(events(d.exec, 'tlb_flush')[0]!.step.index).toBeLessThan(free.step.index);
    expect(d.exec.violations).toEqual([]);
  });

  it('is not consulted by default (mainline)', () => {
    const { d } = drive(oldGatherYaml('batch_alloc: succeeds', lazyCpu));
    drain(d);
    expect(d.exec.trace.some((r) => r.desc.startsWith('atomic_read(&A->mm_users)'))).toBe(false);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ fn: 'tlb_remove_table_rcu', stale: [] });
    expect(d.exec.violations).toEqual([]);
  });
});

describe('tlb_needs_table_invalidate() on the single-table path', () => {
  const cpu1 = '{ mm: A, run: [ user ] }';
  for (const invalidate of [true, false]) {
    it(`table_invalidate ${invalidate}: ${invalidate ? 'the TLB flush precedes the sync IPI and the free' : 'the table is freed with no flush before it, CPU1 still caching it'}`, () => {
      const { d } = drive(oldGatherYaml(`batch_alloc: fails, remove_table_one: sync_one, table_invalidate: ${invalidate}`, cpu1));
      drain(d);
      const free = theEvent(d.exec, 'pt_free');
      expect(free.ev).toMatchObject({ fn: '__tlb_remove_table_one', table: 'A.pte0' });
      const sync = events(d.exec, 'smp_call').filter((e) => e.ev.func === 'tlb_remove_table_smp_sync');
      expect(sync.map((e) => e.ev.targets)).toEqual([[1]]);
      const flushes = events(d.exec, 'tlb_flush').map((e) => e.step.index);
      if (invalidate) {
        expect(flushes[0]).toBeLessThan(sync[0]!.step.index);
        expect(free.ev.stale).toEqual([]);
        expect(d.exec.violations).toEqual([]);
      } else {
        expect(flushes.every((i) => i > free.step.index)).toBe(true);
        expect(free.ev.stale).toEqual(expect.arrayContaining([{ cpu: 1, level: 'pmd', path: '0' }]));
        expect(violationsOf(d.exec, 'no-stale-walk-cache')).not.toEqual([]);
      }
    });
  }
});
