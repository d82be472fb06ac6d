/**
 * kernel/sched/switch.ts: context_switch(), x86 switch_mm_irqs_off() / enter_lazy_tlb(), arm64
 * switch_mm(), driven through explicit schedules: mm_cpumask, loaded_mm and is_lazy change during
 * a run, later steps of the CPU run in the new task's mm, and the flushes see the change.
 */
import { describe, expect, it } from 'vitest';
import { cpuLoc, mmLoc, type TlbEntry } from '../../../src/model/state.js';
import { complete, drain, drive, events, finish, HEAP_AND_STACK_VMAS, load, runUntilDesc, settle, violationsOf } from '../helpers.js';

function yaml(arch: string, knobs: string, cpus: readonly string[], extraMm = ''): string {
  return [
    'name: switch-test',
    `machine: { arch: ${arch}, cpus: ${cpus.length} }`,
    `config: { preset: sync-rcu, batch_alloc: succeeds${knobs} }`,
    'mm:',
    '  A:',
    '    vmas:',
    ...HEAP_AND_STACK_VMAS,
    ...(extraMm ? ['  B:', '    vmas:', '      - { name: data, start: 0, end: 1 }'] : []),
    'cpus:',
    ...cpus.map((c) => `  - ${c}`),
    'check:',
    '  invariants: [no-stale-walk-cache, no-walk-of-freed-table]',
    '',
  ].join('\n');
}

const tlbOf = (d: ReturnType<typeof drive>['d'], cpu: number): readonly TlbEntry[] => d.exec.read(cpuLoc.tlb(cpu)) as readonly TlbEntry[];

describe('x86 switch_mm_irqs_off()', () => {
  it('switching in sets the CPU in mm_cpumask before loading the mm, and later steps run in it', () => {
    const { d } = drive(yaml('x86', '', ['{ mm: A, run: [ user ] }', '{ run: [ { switch_to: A }, { gup_fast: { slot: 0 } } ] }']));
    const t = d.tid('switch_to');
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0]);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('init_mm');
    const steps = d.run(t, (p) => p.fn === 'context_switch' && p.desc.startsWith('local_irq_enable'));
    const setAt = steps.findIndex((s) => s.desc.startsWith('cpumask_set_cpu(CPU1, mm_cpumask(A))'));
    const cr3At = steps.findIndex((s) => s.desc.startsWith('load_new_mm_cr3(A->pgd)'));
    expect(setAt).toBeGreaterThanOrEqual(0);
    expect(cr3At).toBeGreaterThan(setAt);
    // IRQs are off across the switch (no flush_tlb_func() in the middle).
    expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1]);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
    finish(d, t);
    // current->mm is A now: GUP-fast walks A's tables.
    const reads = events(d.exec, 'walk_read').filter((e) => e.ev.cpu === 1);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((e) => e.ev.mm === 'A')).toBe(true);
    drain(d);
  });

  it('switching away leaves the CPU in the old mask (lazy update) until a flush IPI finds another mm loaded', () => {
    const { d } = drive(yaml('x86', '', ['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, run: [ { switch_to: B } ] }'], 'B'));
    const cpu1 = d.tid('switch_to');
    expect(tlbOf(d, 1).some((e) => e.mm === 'A')).toBe(true);
    finish(d, cpu1);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('B');
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1]);
    expect(d.exec.read(mmLoc.cpumask('B'))).toEqual([1]);
    // No PCID in the model: the CR3 write dropped A's cached entries.
    expect(tlbOf(d, 1).some((e) => e.mm === 'A')).toBe(false);
    // munmap's freed-tables flush IPIs CPU1, which leaves mm_cpumask(A).
    complete(d, d.tid('munmap'));
    const flush = events(d.exec, 'tlb_flush').find((e) => e.ev.cpu === 1);
    expect(flush?.ev).toMatchObject({ mm: 'A', how: 'not-loaded' });
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('a kernel thread borrows the mm lazily; switching back un-lazies and drops the stale entries', () => {
    const { d } = drive(yaml('x86', '', ['{ mm: A, run: [ user ] }', '{ mm: A, run: [ { switch_to: kthread }, { switch_to: A } ] }']));
    const t = d.tid('switch_to');
    d.runThroughFn(t, 'enter_lazy_tlb');
    expect(d.exec.read(cpuLoc.is_lazy(1))).toBe(true);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1]);
    finish(d, t);
    expect(d.exec.read(cpuLoc.is_lazy(1))).toBe(false);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
    expect(events(d.exec, 'switch_mm').map((e) => e.ev.how)).toEqual(['unlazy']);
    expect(tlbOf(d, 1).some((e) => e.mm === 'A')).toBe(false);
    drain(d);
  });

  for (const ipiLazy of [false, true]) {
    it(`a CPU that went lazy before munmap's flush: ${ipiLazy ? 'IPI\'d and sent to init_mm' : 'skipped, its walk cache is stale at the free'}`, () => {
      const { d } = drive(yaml('x86', `, x86_freed_tables_ipi_lazy: ${ipiLazy}`, ['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, run: [ { switch_to: kthread } ] }']));
      finish(d, d.tid('switch_to'));
      expect(d.exec.read(cpuLoc.is_lazy(1))).toBe(true);
      complete(d, d.tid('munmap'));
      drain(d);
      const onCpu1 = events(d.exec, 'tlb_flush').filter((e) => e.ev.cpu === 1);
      if (ipiLazy) {
        expect(onCpu1.map((e) => e.ev.how)).toEqual(['lazy-switch-to-init_mm']);
        expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('init_mm');
        expect(violationsOf(d.exec, 'no-stale-walk-cache')).toEqual([]);
      } else {
        expect(onCpu1).toEqual([]);
        expect(violationsOf(d.exec, 'no-stale-walk-cache')).toHaveLength(1);
      }
    });
  }
});

describe('x86 switch_mm_irqs_off(): the mm_cpumask forms of the kernel\'s history', () => {
  const away = (form: string) => yaml('x86', `, table_free: page, x86_switch_mm_cpumask: ${form}`, ['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, run: [ { switch_to: B } ] }'], 'B');

  it('before 831d52bc1539: the CPU leaves prev\'s mask while prev is still in CR3, and misses the flush', () => {
    const { d } = drive(away('clear-before-cr3'));
    const cpu1 = d.tid('switch_to');
    runUntilDesc(d, cpu1, 'load_new_mm_cr3(B->pgd)');
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0]);
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
    complete(d, d.tid('munmap'));
    expect(events(d.exec, 'tlb_flush').filter((e) => e.ev.cpu === 1)).toEqual([]);
    const stale = violationsOf(d.exec, 'no-stale-walk-cache');
    expect(stale).toHaveLength(1);
    expect(stale[0]?.message).toMatch(/A\.pte0.*CPU1/);
    drain(d);
  });

  it('831d52bc1539: the CPU leaves prev\'s mask only after the CR3 write', () => {
    const { d } = drive(away('clear-after-cr3'));
    const cpu1 = d.tid('switch_to');
    runUntilDesc(d, cpu1, 'cpumask_clear_cpu(CPU1, mm_cpumask(A))');
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('B');
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1]);
    expect(tlbOf(d, 1).some((e) => e.mm === 'A')).toBe(false);
    finish(d, cpu1);
    expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0]);
    complete(d, d.tid('munmap'));
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  for (const form of ['lazy', 'clear-after-cr3', 'clear-before-cr3']) {
    // ptlab kernel-run on Debian 6.1.176 and 6.12.115 (no 209954cbc7d0): a lazy CPU gets one
    // shootdown in all over 200 table-freeing munmaps, not one per munmap.
    it(`${form}: a lazy CPU sent to init_mm by a freed-tables flush ${form === 'lazy' ? 'stays in mm_cpumask until the next flush finds init_mm' : 'leaves mm_cpumask (switch_mm_irqs_off(NULL, &init_mm) clears prev\'s bit)'}`, () => {
      const { d } = drive(yaml('x86', `, x86_switch_mm_cpumask: ${form}`, ['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, lazy: true }']));
      complete(d, d.tid('munmap'));
      drain(d);
      expect(events(d.exec, 'tlb_flush').filter((e) => e.ev.cpu === 1).map((e) => e.ev.how)).toEqual(['lazy-switch-to-init_mm']);
      expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('init_mm');
      expect(d.exec.read(mmLoc.cpumask('A'))).toEqual(form === 'lazy' ? [0, 1] : [0]);
    });
  }

  it('every form: a CPU still in the mask with prev loaded is flushed', () => {
    for (const form of ['lazy', 'clear-after-cr3', 'clear-before-cr3']) {
      const { d } = drive(away(form));
      complete(d, d.tid('munmap'));
      settle(d);
      finish(d, d.tid('switch_to'));
      drain(d);
      expect(events(d.exec, 'tlb_flush').filter((e) => e.ev.cpu === 1).map((e) => e.ev.how), form).toEqual(['flush']);
      expect(d.exec.violations, form).toEqual([]);
    }
  });
});

describe('kthread_use_mm() / kthread_unuse_mm()', () => {
  const kthread = (form: string) => yaml('x86', `, kthread_use_mm_irqs: ${form}`, ['{ mm: A, run: [ user ] }', '{ run: [ { kthread_use_mm: A }, { gup_fast: { slot: 0 } }, kthread_unuse_mm ] }']);

  for (const [form, first] of [['off', 'kthread_use_mm'], ['switch_mm', 'switch_mm']] as const) {
    it(`${form}: IRQs are off from ${first}() on, across switch_mm_irqs_off(); the kthread then walks A and leaves it lazily`, () => {
      const { d } = drive(kthread(form));
      const t = d.tid('kthread_use_mm');
      const upTo = d.run(t, (p) => p.fn === 'switch_mm_irqs_off');
      expect(upTo.map((r) => r.fn)).toEqual([first]);
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(true);
      d.run(t, (p) => p.fn === 'gup_fast');
      expect(d.exec.read(cpuLoc.irqs_off(1))).toBe(false);
      expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('A');
      expect(d.exec.read(mmLoc.cpumask('A'))).toEqual([0, 1]);
      finish(d, t);
      expect(events(d.exec, 'walk_read').filter((e) => e.ev.cpu === 1).every((e) => e.ev.mm === 'A')).toBe(true);
      expect(events(d.exec, 'enter_lazy_tlb').map((e) => e.ev.mm)).toEqual(['A']);
      expect(d.exec.read(cpuLoc.is_lazy(1))).toBe(true);
      drain(d);
    });
  }

  it('rejects kthread_use_mm from a user task and kthread_unuse_mm without an adopted mm', () => {
    expect(() => load(yaml('x86', '', ['{ mm: A, run: [ { kthread_use_mm: A } ] }']))).toThrow(/kthread_use_mm needs a kernel thread/);
    expect(() => load(yaml('x86', '', ['{ run: [ kthread_unuse_mm ] }']))).toThrow(/kthread_unuse_mm needs a kernel thread that adopted an mm/);
  });
});

describe('arm64 switch_mm()', () => {
  it('loads the mm without touching mm_cpumask; a kernel thread keeps it loaded', () => {
    const { d } = drive(yaml('arm64', '', ['{ mm: A, run: [ user ] }', '{ mm: A, run: [ { switch_to: B }, { switch_to: kthread } ] }'], 'B'));
    finish(d, d.tid('switch_to'));
    expect(d.exec.read(cpuLoc.loaded_mm(1))).toBe('B');
    expect(d.exec.read(cpuLoc.is_lazy(1))).toBe(false);
    expect(d.exec.read(mmLoc.cpumask('B'))).toEqual([]);
    expect(events(d.exec, 'switch_mm').map((e) => e.ev.how)).toEqual(['ttbr0']);
    drain(d);
  });
});

describe('the switch_to step in scenarios', () => {
  it('rejects an unknown mm with its position', () => {
    expect(() => load(yaml('x86', '', ['{ mm: A, run: [ { switch_to: C } ] }']))).toThrow(/test\.yaml:\d+:\d+.*switch_to: 'C' is not an mm/s);
  });

  it('checks later steps against the mm switched to', () => {
    // After switch_to: kthread, the CPU runs no task of an mm: munmap is refused.
    expect(() => load(yaml('x86', '', ['{ mm: A, run: [ { switch_to: kthread }, { munmap: heap } ] }']))).toThrow(/munmap needs the CPU to run a task of an mm/);
    // A CPU that boots idle can munmap once it switched to A, and its MMU can walk A.
    expect(() => load(yaml('x86', '', ['{ run: [ { switch_to: A }, { munmap: heap } ], walks: [ { slot: 0 } ] }']))).not.toThrow();
  });
});
