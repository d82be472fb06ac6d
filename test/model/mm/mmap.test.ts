/**
 * mm/vma.c do_mmap(): a VMA of the mm's layout is linked again under the mmap_lock held for write,
 * with no page table; and the step language of the address-space loop (`mmap`, `fault`, `touch`),
 * with its validation.
 */
import { describe, expect, it } from 'vitest';
import { Driver, ModelError } from '../../../src/core/index.js';
import { ScenarioError } from '../../../src/scenarios/loader.js';
import { mmLoc, nextPfnLoc, pageLoc, ptLoc } from '../../../src/model/state.js';
import { drive, events, finish, load } from '../helpers.js';
import { check } from '../../../src/engines/check/index.js';

function yaml(cpus: readonly string[], vmas = '[ { name: heap, start: 0, end: 1 }, { name: stack, start: 1, end: 2 } ]', ptes = 1, extra = ''): string {
  return [
    'name: mmap-test',
    `machine: { arch: arm64, cpus: ${cpus.length} }`,
    `config: { preset: sync-rcu, batch_alloc: fails${extra} }`,
    'mm:',
    `  A: { ptes_per_table: ${ptes}, vmas: ${vmas} }`,
    'cpus:',
    ...cpus.map((c) => `  - ${c}`),
    '',
  ].join('\n');
}

function issues(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('do_mmap', () => {
  it('links the VMA back in address order under mmap_write_lock, and allocates no table', () => {
    const d = new Driver(load(yaml(['{ mm: A, run: [ { munmap: heap }, { mmap: heap } ] }'])).program);
    const t = d.tid('munmap');
    d.runThroughFn(t, 'vms_complete_munmap_vmas'); // downgrade
    d.runUntilFn(t, 'vm_mmap_pgoff');
    expect(d.exec.read(mmLoc.vmas('A'))).toEqual(['stack']);
    d.runThroughFn(t, 'vm_mmap_pgoff'); // might_sleep
    d.runThroughFn(t, 'vm_mmap_pgoff'); // down_write
    expect(d.exec.read(mmLoc.mmap_lock('A'))).toEqual({ writer: 'munmap', readers: 0 });
    const link = d.runThroughFn(t, '__mmap_region').at(-1);
    expect(link?.note).toBe('mapped: heap, stack');
    finish(d, t);
    expect(d.exec.read(mmLoc.vmas('A'))).toEqual(['heap', 'stack']);
    expect(d.exec.read(mmLoc.mmap_lock('A'))).toEqual({ writer: null, readers: 0 });
    // Tables are populated lazily: PMD[0] stays none until a fault.
    expect(d.exec.read(ptLoc('A.pmd', 0))).toBeNull();
    expect(events(d.exec, 'page_alloc')).toEqual([]);
    expect(d.exec.read(nextPfnLoc)).toBe(0);
    expect(d.exec.read(pageLoc('A.pte0'))).toMatchObject({ state: 'free', gen: 1 });
  });

  it('mapping a VMA that is mapped is a model error', () => {
    // CPU1's munmap makes the scenario valid; CPU0 runs first and finds heap still mapped.
    const d = new Driver(load(yaml(['{ mm: A, run: [ { mmap: heap } ] }', '{ mm: A, run: [ { munmap: heap } ] }'])).program);
    expect(() => d.run(d.tid('mmap'))).toThrow(ModelError);
    const d2 = new Driver(load(yaml(['{ mm: A, run: [ { mmap: heap } ] }', '{ mm: A, run: [ { munmap: heap } ] }'])).program);
    expect(() => d2.run(d2.tid('mmap'))).toThrow(/mmap: VMA 'heap' of A is already mapped \(mapped: heap, stack\); munmap it first/);
  });

  it('boot leaves a `mapped: false` VMA without tables, and an mm with none mapped without PUD and PMD', () => {
    const one = load(yaml(['{ mm: A, run: [ { mmap: stack } ] }'], '[ { name: heap, start: 0, end: 1 }, { name: stack, start: 1, end: 2, mapped: false } ]'));
    expect(one.program.init.get(mmLoc.vmas('A'))).toEqual(['heap']);
    expect(one.program.init.get(ptLoc('A.pmd', 1))).toBeNull();
    expect(one.program.init.has(pageLoc('A.pte1'))).toBe(false);
    expect(one.program.init.get(ptLoc('A.pmd', 0))).toEqual({ table: 'A.pte0', gen: 1 });
    const none = load(yaml(['{ mm: A, run: [ { mmap: heap } ] }'], '[ { name: heap, start: 0, end: 1, mapped: false } ]'));
    expect(none.program.init.get(ptLoc('A.pgd', 0))).toBeNull();
    expect(none.program.init.has(pageLoc('A.pud'))).toBe(false);
    expect(none.program.init.has(pageLoc('A.pmd'))).toBe(false);
    expect(none.program.init.get(nextPfnLoc)).toBe(0);
    // Without `mapped`, the resolved layout is what it always was (no new key in the JSON echo).
    expect(load(yaml(['{ mm: A, run: [ { munmap: heap } ] }'])).resolved.mm.A?.vmas[0]).toEqual({ name: 'heap', start: 0, end: 1 });
  });
});

describe('the mmap, fault and touch steps', () => {
  it('parse and describe', () => {
    const s = load(yaml(['{ mm: A, run: [ { munmap: heap }, { mmap: heap }, { fault: { slot: 0 } }, { fault: { slot: 1, page: 1 } }, { touch: stack } ] }'], undefined, 2));
    expect(s.resolved.cpu[0]?.run).toEqual(['munmap(heap)', 'mmap(heap)', 'page fault (slot 0, page 0)', 'page fault (slot 1, page 1)', 'touch(stack): fault in every page']);
  });

  for (const perVma of [true, false]) {
    const lock = perVma ? 'VMA lock (lock_vma_under_rcu())' : 'mmap_lock';
    it(`touch faults every page of the VMA in address order, one ${lock} round trip each (per_vma_lock: ${perVma})`, () => {
      const d = new Driver(load(yaml(['{ mm: A, run: [ { munmap: stack }, { mmap: stack }, { touch: stack } ] }'], undefined, 3, `, per_vma_lock: ${perVma}`)).program);
      const recs = finish(d, d.tid('munmap'));
      expect(recs.filter((r) => r.fn === 'do_anonymous_page').map((r) => r.desc)).toEqual([
        'set_pte_at(A.pte1[0], A.p1.0)', 'set_pte_at(A.pte1[1], A.p1.1)', 'set_pte_at(A.pte1[2], A.p1.2)',
      ]);
      expect(recs.filter((r) => r.desc === 'mmap_read_lock(A)')).toHaveLength(perVma ? 0 : 3);
      expect(recs.filter((r) => r.desc === 'mas_walk() + vma_start_read(stack)')).toHaveLength(perVma ? 3 : 0);
      expect(recs.filter((r) => r.desc === 'vma_end_read(stack)')).toHaveLength(perVma ? 3 : 0);
      expect(events(d.exec, 'page_alloc').map(({ ev }) => ev.page)).toEqual(['A.pte1']);
      expect(d.exec.violations).toEqual([]);
    });
  }

  it('are rejected where they cannot run', () => {
    expect(issues(yaml(['{ mm: A, run: [ { mmap: data } ] }']))).toEqual(["cpus[0].run[0]: mm A has no VMA 'data' (has: heap, stack)"]);
    expect(issues(yaml(['{ mm: A, run: [ { touch: data } ] }']))).toEqual(["cpus[0].run[0]: mm A has no VMA 'data' (has: heap, stack)"]);
    expect(issues(yaml(['{ mm: A, run: [ { fault: { slot: 2 } } ] }']))).toEqual(['cpus[0].run[0]: slot 2 is not inside a VMA of A']);
    expect(issues(yaml(['{ mm: A, run: [ { fault: { slot: 0, page: 1 } } ] }']))).toEqual(['cpus[0].run[0]: page 1 is beyond ptes_per_table 1']);
    expect(issues(yaml(['{ mm: A, lazy: true, run: [ { fault: { slot: 0 } } ] }']))[0]).toMatch(/^cpus\[0\]\.run\[0\]: fault needs the CPU to run a task of an mm/);
    expect(issues(yaml(['{ mm: A, lazy: true, run: [ { mmap: heap } ] }']))[0]).toMatch(/^cpus\[0\]\.run\[0\]: mmap needs the CPU to run a task of an mm/);
    expect(issues(yaml(['{ mm: A, run: [ { fault: { slot: 0, pages: 2 } } ] }']))[0]).toMatch(/^cpus\[0\]\.run\[0\]\.fault/);
    expect(issues(yaml(['{ mm: A, run: [ fault ] }']))).toEqual(["cpus[0].run[0]: step 'fault' takes arguments: { fault: ... }"]);
  });

  it('mmap of a mapped VMA and munmap of an unmapped one are caught before running, unless another CPU could change it', () => {
    expect(issues(yaml(['{ mm: A, run: [ { mmap: heap } ] }']))).toEqual([
      "cpus[0].run[0]: mmap: VMA heap of A is already mapped here (munmap it first, or declare it 'mapped: false')",
    ]);
    expect(issues(yaml(['{ mm: A, run: [ { munmap: heap }, { munmap: heap } ] }']))).toEqual([
      "cpus[0].run[1]: munmap: VMA heap of A is not mapped here (it is 'mapped: false' or already unmapped)",
    ]);
    expect(issues(yaml(['{ mm: A, run: [ { munmap: heap } ] }'], '[ { name: heap, start: 0, end: 1, mapped: false } ]'))).toHaveLength(1);
    expect(issues(yaml(['{ mm: A, run: [ { munmap: heap }, { mmap: heap }, { munmap: heap }, { mmap: heap } ] }']))).toEqual([]);
    expect(issues(yaml(['{ mm: A, run: [ { mmap: heap } ] }', '{ mm: A, run: [ { munmap: heap } ] }']))).toEqual([]);
  });

  it('a munmap of a VMA another CPU, or an earlier round, already unmapped returns and does nothing, as do_vmi_munmap() does', () => {
    for (const cpus of [['{ mm: A, run: [ { munmap: heap } ] }', '{ mm: A, run: [ { munmap: heap } ] }'], ['{ mm: A, run: [ { munmap: heap } ], repeat: 2 }']]) {
      const r = check(load(yaml(cpus)).program);
      expect(r.exhaustive).toBe(true);
      expect(r.deadlock).toBeNull();
      expect(r.verdicts.every((v) => v.status === 'holds')).toBe(true);
    }
    // Both rounds run: the second detaches nothing and only takes and drops the mmap_lock.
    const { d } = drive(yaml(['{ mm: A, run: [ { munmap: heap } ], repeat: 2 }']));
    const steps = finish(d, 0);
    const detach = steps.filter((st) => st.fn === 'vms_gather_munmap_vmas' && st.desc === 'detach VMA heap');
    expect(detach).toHaveLength(2);
    expect(detach[1]?.writes).toEqual([]);
    expect(d.exec.read(mmLoc.vmas('A'))).toEqual(['stack']);
  });
});

describe('vmap steps', () => {
  it('run on one CPU only: the kernel range is one vmalloc area, and vmalloc gives each mapping its own', () => {
    const text = ['name: v', 'machine: { arch: x86 }', 'config: { preset: async-kernel-free-reclaim, sva: true }', 'kernel_pt: { ptes: 1, iommu_walks: 1 }', 'cpus:', '  - { run: [ vmap_huge ] }', '  - { run: [ idle, vmap_small ] }', ''].join('\n');
    expect(issues(text)).toEqual(["cpus[1].run[1]: CPU0 already maps the kernel range; the kernel's vmalloc allocator gives each mapping a range of its own, so only one CPU may run vmap steps"]);
  });
});
