/**
 * mm/hugetlb.c PMD table sharing and unsharing, driven through explicit schedules: one sync
 * broadcast per table (1013af4f585f) against one per batch, only when a table became exclusive
 * (8ce720d5bd91); no IPI for a non-last unsharer; the VM_WARN_ON_ONCE() of tlb_finish_mmu() when
 * the sync is left until after i_mmap_rwsem is dropped; the CVE-2025-38085 race and how the
 * per-table IPI closes it; sharing at mmap; the unshare flush on x86 (lazy CPUs) and arm64 (walk
 * cache).
 */
import { describe, expect, it } from 'vitest';
import { ptdescLoc, ptLoc, pageLoc, cpuLoc, mmLoc, type PageState, type TlbEntry } from '../../../src/model/state.js';
import { drain, drive, events, finish, mustFind, theEvent, violationsOf, type Knobs } from '../helpers.js';
import type { Driver, StepRecord } from '../../../src/core/index.js';
import type { ArchId } from '../../../src/model/config.js';

interface Opts {
  readonly arch?: ArchId;
  readonly config: Knobs;
  /** mm -> mapped at boot (the hugetlb mapping `shm` of file F). */
  readonly sharers: Readonly<Record<string, boolean>>;
  readonly tables?: number;
  readonly pages?: number;
  /** One flow mapping per CPU. */
  readonly cpus: readonly string[];
}

function yaml(o: Opts): string {
  return [
    'name: hugetlb-test',
    `machine: { arch: ${o.arch ?? 'arm64'}, cpus: ${o.cpus.length} }`,
    `config: ${JSON.stringify({ batch_alloc: 'succeeds', ...o.config })}`,
    'hugetlbfs:',
    `  F: { tables: ${o.tables ?? 1}, pages: ${o.pages ?? 1} }`,
    'mm:',
    ...Object.entries(o.sharers).map(([mm, mapped]) =>
      `  ${mm}: { vmas: [ { name: text, start: 0, end: 1, mapped: false } ], hugetlb: { name: shm, file: F, mapped: ${mapped} } }`),
    'cpus:',
    ...o.cpus.map((c) => `  - ${c}`),
    '',
  ].join('\n');
}

const syncCalls = (d: Driver) => events(d.exec, 'smp_call').filter((e) => e.ev.func === 'tlb_remove_table_smp_sync');
const stepIdx = (d: Driver, pred: (r: StepRecord) => boolean, what: string) => mustFind(d.exec, pred, what);

describe('huge_pmd_unshare(): how many sync broadcasts', () => {
  for (const [sharers, last] of [[['A', 'B'], true], [['A', 'B', 'C'], false]] as const) {
    it(`per_table_ipi (1013af4f585f): one broadcast per unshared table, ${last ? 'last' : 'non-last'} unsharer`, () => {
      const { d } = drive(yaml({
        config: { preset: 'hugetlb-per-table-ipi' },
        sharers: Object.fromEntries(sharers.map((m) => [m, true])),
        tables: 3,
        cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ run: [ idle ] }'],
      }));
      drain(d);
      const calls = syncCalls(d);
      expect(calls.map((c) => c.ev.targets)).toEqual([[1], [1], [1]]);
      expect(calls.map((c) => c.ev.fn)).toEqual(['tlb_remove_table_sync_one', 'tlb_remove_table_sync_one', 'tlb_remove_table_sync_one']);
      // Each is sent under the PTL (huge_pte_lock()), after that table's pud_clear() and before
      // the share count drops.
      for (let t = 0; t < 3; t++) {
        const clear = stepIdx(d, (r) => r.desc === `pud_clear(A.hpud[${t}])`, `pud_clear of table ${t}`);
        const dec = stepIdx(d, (r) => r.desc === `ptdesc_pmd_pts_dec(F.pmd${t})`, `the count drop of table ${t}`);
        const call = calls[t]?.step.index as number;
        expect(clear).toBeLessThan(call);
        expect(call).toBeLessThan(dec);
      }
      for (let t = 0; t < 3; t++) expect(d.exec.read(ptdescLoc.pt_share_count(`F.pmd${t}`))).toBe(sharers.length - 2);
    });
  }

  it('batched (8ce720d5bd91), last unsharer: one broadcast for the batch, after the flush, before i_mmap_rwsem is dropped', () => {
    const { d } = drive(yaml({
      config: { preset: 'hugetlb-batched' },
      sharers: { A: true, B: true },
      tables: 3,
      cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ run: [ idle ] }'],
    }));
    drain(d);
    const calls = syncCalls(d);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.ev.targets).toEqual([1]);
    const call = calls[0]?.step.index as number;
    const lastDec = Math.max(...[0, 1, 2].map((t) => stepIdx(d, (r) => r.desc === `ptdesc_pmd_pts_dec(F.pmd${t})`, `the count drop of table ${t}`)));
    const flush = stepIdx(d, (r) => r.index > lastDec && r.events.some((e) => e.type === 'tlb_flush'), 'the unshare flush');
    const unlock = stepIdx(d, (r) => r.desc === 'up_write(F->i_mmap_rwsem)', 'i_mmap_unlock_write');
    expect(lastDec).toBeLessThan(flush);
    expect(flush).toBeLessThan(call);
    expect(call).toBeLessThan(unlock);
    expect(events(d.exec, 'warn')).toEqual([]);
    for (let t = 0; t < 3; t++) expect(d.exec.read(ptdescLoc.pt_share_count(`F.pmd${t}`))).toBe(0);
  });

  it('batched, non-last unsharer: no IPI, only the TLB flush; the last one then broadcasts once', () => {
    const { d } = drive(yaml({
      config: { preset: 'hugetlb-batched' },
      sharers: { A: true, B: true, C: true },
      tables: 2,
      cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ mm: C, tlb: cold, run: [ { munmap: shm } ] }', '{ run: [ idle ] }'],
    }));
    const a = d.tid('munmap', 0);
    const c = d.tid('munmap', 1);
    finish(d, a); // arm64: the flush is a broadcast TLBI, no IPI to wait for
    expect(syncCalls(d)).toEqual([]);
    expect(events(d.exec, 'tlb_flush').length).toBeGreaterThan(0);
    for (let t = 0; t < 2; t++) expect(d.exec.read(ptdescLoc.pt_share_count(`F.pmd${t}`))).toBe(1);
    drain(d); // C unshares last: its broadcast must be taken by CPUs 0 and 2
    expect(syncCalls(d).map((e) => [e.ev.cpu, e.ev.targets])).toEqual([[1, [0, 2]]]);
    expect(d.done(c)).toBe(true);
  });

  it('v8 skip on x86 native: the last unsharer\'s broadcast is skipped (sync_skipped), its flush sent instead', () => {
    const { d } = drive(yaml({
      arch: 'x86',
      config: { preset: 'hugetlb-batched-skip' },
      sharers: { A: true, B: true },
      cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ mm: A, tlb: cold, run: [ user ] }'],
    }));
    drain(d);
    expect(syncCalls(d)).toEqual([]);
    expect(events(d.exec, 'sync_skipped').map((e) => e.ev.fn)).toEqual(['tlb_remove_table_sync_one']);
    // The flush reached CPU1, which runs A.
    expect(events(d.exec, 'ipi_received').map((e) => [e.ev.cpu, e.ev.func])).toEqual([[1, 'flush_tlb_func']]);
  });
});

describe('tlb_finish_mmu(): VM_WARN_ON_ONCE(tlb->fully_unshared_tables)', () => {
  it('fires when the flush and sync are left to tlb_finish_mmu(), after i_mmap_rwsem was dropped', () => {
    const { d } = drive(yaml({
      config: { preset: 'hugetlb-batched', hugetlb_unshare: 'batched_sync_after_unlock' },
      sharers: { A: true, B: true },
      tables: 2,
      cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ run: [ idle ] }'],
    }));
    drain(d);
    const warn = theEvent(d.exec, 'warn');
    expect(warn.ev).toMatchObject({ fn: 'tlb_finish_mmu', what: 'VM_WARN_ON_ONCE(tlb->fully_unshared_tables)' });
    const unlock = stepIdx(d, (r) => r.desc === 'up_write(F->i_mmap_rwsem)', 'i_mmap_unlock_write');
    const calls = syncCalls(d);
    expect(calls).toHaveLength(1);
    expect(unlock).toBeLessThan(warn.step.index);
    expect(warn.step.index).toBeLessThan(calls[0]?.step.index as number);
  });

  it('stays quiet with huge_pmd_unshare_flush() before the unlock, and when no table became exclusive', () => {
    const cases: ReadonlyArray<Readonly<Record<string, boolean>>> = [{ A: true, B: true }, { A: true, B: true, C: true }];
    for (const sharers of cases) {
      const { d } = drive(yaml({ config: { preset: 'hugetlb-batched' }, sharers, cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }'] }));
      drain(d);
      expect(events(d.exec, 'warn')).toEqual([]);
    }
  });
});

describe('GUP-fast of a shared hugetlb page, and CVE-2025-38085', () => {
  const race = (preset: string) => yaml({
    config: { preset },
    sharers: { A: true, B: true },
    cpus: [
      '{ mm: A, tlb: cold, run: [ { munmap: shm } ] }',
      '{ mm: A, tlb: cold, run: [ { gup_fast_hugetlb: { table: 0, page: 0 } } ] }',
      '{ mm: B, tlb: cold, run: [ { hugetlb_reuse: { table: 0, page: 0 } } ] }',
    ],
  });

  it('walks PGD[1] -> A.hpud -> F.pmd0 and pins the file\'s huge page through gup_fast_pmd_leaf()', () => {
    const { d } = drive(race('hugetlb-batched'));
    finish(d, d.tid('gup_fast_hugetlb'));
    const done = theEvent(d.exec, 'gup_fast_done');
    expect(done.ev).toMatchObject({ mm: 'A', pages: ['F.h0.0'], expected: ['F.h0.0'] });
    expect(events(d.exec, 'walk_read').map((e) => `${e.ev.fn}:${e.ev.table}[${e.ev.index}]`)).toEqual([
      'gup_fast_pgd_range:A.pgd[1]', 'gup_fast_pud_range:A.hpud[0]', 'gup_fast_pmd_range:F.pmd0[0]', 'gup_fast_pmd_leaf:F.pmd0[0]',
    ]);
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });

  it('no sync (before 1013af4f585f): B reuses F.pmd0 under A\'s walker, which pins B\'s page', () => {
    const { d } = drive(race('hugetlb-no-sync'));
    const gup = d.tid('gup_fast_hugetlb');
    d.runThroughFn(gup, 'gup_fast_pud_range');
    finish(d, d.tid('munmap'));
    expect(d.exec.read(ptLoc('A.hpud', 0))).toBeNull();
    finish(d, d.tid('hugetlb_reuse'));
    const reuse = theEvent(d.exec, 'pt_reuse');
    expect(reuse.ev).toMatchObject({ table: 'F.pmd0', gen: 1, owner: 'B' });
    expect(d.exec.read(pageLoc('F.pmd0'))).toMatchObject({ gen: 2, owner: 'B' });
    expect(d.exec.read(ptLoc('B.hpud', 0))).toEqual({ table: 'F.pmd0', gen: 2 });
    expect(d.exec.read(mmLoc.vmas('B'))).toEqual([]);
    finish(d, gup);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: ['B.reused.0'], expected: ['F.h0.0'] });
    expect(violationsOf(d.exec, 'gup-fast-pins-own-pages')).toHaveLength(1);
    expect(violationsOf(d.exec, 'no-walk-of-reused-table').length).toBeGreaterThan(0);
  });

  it('per_table_ipi: the unshare waits in csd_lock_wait for the walker; B cannot reuse before', () => {
    const { d } = drive(race('hugetlb-per-table-ipi'));
    const gup = d.tid('gup_fast_hugetlb');
    const munmap = d.tid('munmap');
    const reuse = d.tid('hugetlb_reuse');
    d.runThroughFn(gup, 'gup_fast_pud_range');
    d.run(munmap);
    expect(d.pending(munmap).fn).toBe('csd_lock_wait');
    d.run(reuse);
    expect(d.pending(reuse).desc).toBe('down_write(F->i_mmap_rwsem)');
    expect(d.enabled(reuse)).toBe(false);
    finish(d, gup);
    expect(theEvent(d.exec, 'gup_fast_done').ev).toMatchObject({ pages: ['F.h0.0'] });
    drain(d);
    expect(events(d.exec, 'pt_reuse')).toHaveLength(1);
    expect(d.exec.violations).toEqual([]);
  });

  it('a reuse attempt while the table is still shared reuses nothing', () => {
    const { d } = drive(race('hugetlb-batched'));
    finish(d, d.tid('hugetlb_reuse'));
    expect(events(d.exec, 'pt_reuse')).toEqual([]);
    expect(d.exec.read(ptLoc('F.pmd0', 0))).toEqual({ pfn: 'F.h0.0' });
    drain(d);
    expect(d.exec.violations).toEqual([]);
  });
});

describe('huge_pmd_share() at mmap', () => {
  it('links the sharer\'s PMD tables at their generation and bumps pt_share_count', () => {
    const { d } = drive(yaml({
      config: { preset: 'hugetlb-batched' },
      sharers: { A: true, C: false },
      tables: 2,
      cpus: ['{ mm: C, tlb: cold, run: [ { mmap: shm } ] }'],
    }));
    expect(d.exec.read(ptdescLoc.pt_share_count('F.pmd0'))).toBe(0);
    drain(d);
    for (let t = 0; t < 2; t++) {
      expect(d.exec.read(ptLoc('C.hpud', t))).toEqual({ table: `F.pmd${t}`, gen: 1 });
      expect(d.exec.read(ptdescLoc.pt_share_count(`F.pmd${t}`))).toBe(1);
    }
    expect(d.exec.read(mmLoc.vmas('C'))).toEqual(['shm']);
  });

  it('with no sharer, pmd_alloc() gives the mm a PMD table of its own, filled by the hugetlb faults', () => {
    const { d } = drive(yaml({ config: { preset: 'hugetlb-batched' }, sharers: { C: false }, pages: 2, cpus: ['{ mm: C, tlb: cold, run: [ { mmap: shm } ] }'] }));
    drain(d);
    const e = d.exec.read(ptLoc('C.hpud', 0)) as { table: string; gen: number };
    expect(e.table).toBe('pfn0');
    expect(d.exec.read(pageLoc('pfn0'))).toMatchObject({ state: 'pgtable', owner: 'C', level: 'pmd' });
    expect([0, 1].map((i) => d.exec.read(ptLoc('pfn0', i)))).toEqual([{ pfn: 'F.h0.0' }, { pfn: 'F.h0.1' }]);
    expect(d.exec.read(ptdescLoc.pt_share_count('pfn0'))).toBe(0);
  });

  it('fork + exit: a child shares every table and its exit unshares them, the parent keeps them', () => {
    const { d } = drive(yaml({
      config: { preset: 'hugetlb-batched' },
      sharers: { P: true, C: false },
      tables: 2,
      cpus: ['{ mm: C, tlb: cold, run: [ { mmap: shm }, exit_mmap ] }'],
    }));
    drain(d);
    for (let t = 0; t < 2; t++) {
      expect(d.exec.read(ptLoc('C.hpud', t))).toBeNull();
      expect(d.exec.read(ptLoc('P.hpud', t))).toEqual({ table: `F.pmd${t}`, gen: 1 });
      expect(d.exec.read(ptdescLoc.pt_share_count(`F.pmd${t}`))).toBe(0);
    }
    expect(events(d.exec, 'pt_free')).toEqual([]);
  });

  it('the last mm unmapping an exclusive table zaps its huge pages and frees it through the mmu_gather', () => {
    const { d } = drive(yaml({ config: { preset: 'hugetlb-batched', pt_reclaim: true }, sharers: { A: true }, pages: 2, cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }'] }));
    drain(d);
    expect(theEvent(d.exec, 'pt_free').ev).toMatchObject({ table: 'F.pmd0', fn: 'tlb_remove_table_rcu' });
    expect(syncCalls(d)).toEqual([]);
    expect((d.exec.read(pageLoc('F.pmd0')) as PageState).state).toBe('free');
  });
});

describe('the unshare TLB flush', () => {
  const lazy = (knob: boolean) => yaml({
    arch: 'x86',
    config: { preset: 'hugetlb-batched', x86_tlb_flush_unshared_tables: knob },
    sharers: { A: true, B: true },
    cpus: ['{ mm: A, tlb: cold, run: [ { munmap: shm } ] }', '{ mm: A, lazy: true }'],
  });

  it('x86: flush_tlb_mm_range(..., freed_tables || unshared_tables) IPIs a lazy CPU, which switches to init_mm', () => {
    const { d } = drive(lazy(true));
    drain(d);
    expect(events(d.exec, 'tlb_flush').map((e) => [e.ev.cpu, e.ev.how])).toContainEqual([1, 'lazy-switch-to-init_mm']);
    expect(d.exec.read(cpuLoc.tlb(1))).toEqual([]);
  });

  it('x86 without `|| unshared_tables`: the lazy CPU keeps its walk-cache entry for F.pmd0', () => {
    const { d } = drive(lazy(false));
    drain(d);
    expect(events(d.exec, 'tlb_flush').some((e) => e.ev.cpu === 1)).toBe(false);
    expect((d.exec.read(cpuLoc.tlb(1)) as TlbEntry[]).some((e) => e.table === 'F.pmd0')).toBe(true);
  });

  for (const knob of [true, false]) {
    it(`arm64 ${knob ? 'with' : 'before'} c2ff4764e03e: ${knob ? 'TLBI VAE1IS (walk cache too)' : 'TLBI VALE1IS (leaf only)'}`, () => {
      const { d } = drive(yaml({
        config: { preset: 'hugetlb-batched', arm64_tlb_flush_unshared_tables: knob },
        sharers: { A: true, B: true },
        cpus: ['{ mm: A, run: [ { munmap: shm } ] }'],
      }));
      drain(d);
      expect(theEvent(d.exec, 'tlb_flush').ev.how).toBe(knob ? 'tlbi-walk' : 'tlbi-leaf');
      expect((d.exec.read(cpuLoc.tlb(0)) as TlbEntry[]).some((e) => e.table === 'F.pmd0')).toBe(!knob);
    });
  }
});
