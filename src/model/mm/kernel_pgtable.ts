/**
 * Kernel (init_mm) page tables and their freeing, with and without
 * CONFIG_ASYNC_KERNEL_PGTABLE_FREE (kernel.md §2.7, S5; mm/pgtable-generic.c pagetable_free_kernel()
 * and kernel_pgtable_work_func() as merged, v7 7/8 of Lu Baolu's series, Dave Hansen's patches).
 *
 * Layout: one kernel PMD table `init_mm.vmalloc_pmd` whose entry 0 links a PTE table
 * `init_mm.vmalloc_pte` mapping the first pages of a vmalloc range (`vmalloc.<i>`). Kernel
 * page-table pages are owned by 'init_mm': that is the model's ptdesc_test_kernel().
 *
 * Freeing: pte_free_kernel() -> pagetable_dtor_free() -> pagetable_free():
 *  - kernel_pt_free 'immediate' (no ASYNC_KERNEL_PGTABLE_FREE): __pagetable_free() at once;
 *  - 'async': ptdesc_clear_kernel() then pagetable_free_kernel(): under kernel_pgtable_work.lock,
 *    list_add(&pt->pt_list, &kernel_pgtable_work.list); then schedule_work(&kernel_pgtable_work.work).
 *    The worker, kernel_pgtable_work_func(): under the lock, list_splice_tail_init() onto a local
 *    list; iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL) once; then
 *    __pagetable_free() of each page.
 * Each of the two critical sections of kernel_pgtable_work.lock is a single model step on the list
 * location, which is what the lock provides.
 */
import { access, type Loc, type Proc, type Value } from '../../core/index.js';
import { cpu_online_mask, type Ctx, type Kernel } from '../kernel.js';
import { iommu_sva_invalidate_kva_range, iommuTlbLoc } from '../drivers/iommu/iommu-sva.js';
import { queue_work, system_wq, type work_struct, type workqueue_struct } from '../kernel/workqueue.js';
import { cpuLoc, freeListLoc, pageLoc, ptLoc, type PageState, type PtEntry, type TlbEntry } from '../state.js';
import { runHook } from '../strategy-hooks.js';

/** Remove kernel (init_mm) entries from a TLB. */
export const tlb_without_kernel = (entries: readonly TlbEntry[]): TlbEntry[] => entries.filter((e) => e.mm !== 'init_mm');

/**
 * A broadcast invalidation of kernel translations that interrupts no CPU (arm64 TLBI VAAE1IS +
 * DSB ISH; x86 INVLPGB + TLBSYNC): one step that drops the init_mm entries, walk-cache entries
 * included, from every online CPU's TLB. `how` names it in the `tlb_flush` event.
 */
export function* kernel_tlb_broadcast_invalidate(cur: Ctx, fn: string, desc: string, cls: string, how: string): Proc<void> {
  const cpus = cpu_online_mask(cur.k);
  yield* access({
    fn,
    desc,
    cost: { cls },
    reads: cpus.map(cpuLoc.tlb),
    writes: cpus.map(cpuLoc.tlb),
    effect: (vals) => ({
      writes: cpus.map((c, i) => [cpuLoc.tlb(c), tlb_without_kernel(vals[i] as readonly TlbEntry[]) as unknown as Value] as const),
      events: [{ type: 'tlb_flush', cpu: cur.cpu, mm: 'kernel', how }],
    }),
  });
}

export const kernelPmdTable = 'init_mm.vmalloc_pmd';
/** old mmu_gather forms / kernel page tables (issue #11): the kernel PUD table linking kernelPmdTable. */
export const kernelPudTable = 'init_mm.vmalloc_pud';
export const kernelPteTable = 'init_mm.vmalloc_pte';
export const vmallocPage = (i: number): string => `vmalloc.${i}`;
export const vmallocHugePage = 'vmalloc.huge';

/** kernel_pgtable_work.list: ptdescs waiting for the worker (implied initial value: empty). */
export const kptListLoc: Loc = 'kernel_pgtable_work.list';
export const KERNEL_PGTABLE_WORK = 'kernel_pgtable_work';

/** The kernel page tables a scenario asks for (`kernel_pt:`), and the SVA device's DMA walks. */
export interface KernelPtSpec {
  /** Present PTEs in the vmalloc PTE table. */
  readonly ptes: number;
  /** DMA walks of the kernel range by the SVA-bound IOMMU (needs config.sva). */
  readonly iommu_walks: number;
  /** The IOMMU's caches start with the pointer to the kernel PTE table (a DMA happened before). */
  readonly iotlb_warm: boolean;
  /**
   * (issue #11) A kernel PUD table `init_mm.vmalloc_pud` whose entry 0 links the PMD table, for
   * vmap_try_huge_pud() -> pud_free_pmd_page(). Absent: the PMD table is the top of the model.
   */
  readonly pud?: boolean;
}

/** Kernel entries a CPU's TLB holds after it touched the vmalloc range. */
export function kernelWarmEntries(spec: KernelPtSpec): TlbEntry[] {
  const out: TlbEntry[] = [
    ...(spec.pud ? [{ mm: 'init_mm', level: 'pud', path: '0', table: kernelPmdTable, gen: 1, pfn: null } as const] : []),
    { mm: 'init_mm', level: 'pmd', path: '0', table: kernelPteTable, gen: 1, pfn: null },
  ];
  for (let i = 0; i < spec.ptes; i++) out.push({ mm: 'init_mm', level: 'pte', path: `0.${i}`, table: null, gen: null, pfn: vmallocPage(i) });
  return out;
}

/** Boot: the kernel PMD and PTE tables, the IOMMU's caches, and return the CPUs' warm entries. */
export function kernel_pt_boot(k: Kernel, s: Map<Loc, Value>): TlbEntry[] {
  const spec = k.kernel_pt;
  if (!spec) return [];
  const pmd: PageState = { state: 'pgtable', gen: 1, owner: 'init_mm', level: 'pmd' };
  const pte: PageState = { state: 'pgtable', gen: 1, owner: 'init_mm', level: 'pte' };
  s.set(pageLoc(kernelPmdTable), pmd);
  s.set(pageLoc(kernelPteTable), pte);
  s.set(ptLoc(kernelPmdTable, 0), { table: kernelPteTable, gen: 1 });
  if (spec.pud) {
    s.set(pageLoc(kernelPudTable), { state: 'pgtable', gen: 1, owner: 'init_mm', level: 'pud' } satisfies PageState);
    s.set(ptLoc(kernelPudTable, 0), { table: kernelPmdTable, gen: 1 });
  }
  for (let i = 0; i < spec.ptes; i++) s.set(ptLoc(kernelPteTable, i), { pfn: vmallocPage(i) });
  if (k.config.sva) s.set(iommuTlbLoc, spec.iotlb_warm ? [{ mm: 'init_mm', level: 'pmd', path: '0', table: kernelPteTable, gen: 1, pfn: null }] : []);
  return kernelWarmEntries(spec);
}

/**
 * __pagetable_free() of a kernel page-table page. Like mm/page_alloc.ts pagetable_free(), the step
 * also looks (a ghost read) at every CPU's TLB and at the SVA IOMMU's caches, so that
 * no-stale-walk-cache can report a cached pointer to the page; the IOMMU is reported as holder
 * `IOMMU`.
 */
export function* __pagetable_free_kernel_page(cur: Ctx, caller: string, table: string): Proc<void> {
  const cpus = Array.from({ length: cur.k.nr_cpus }, (_, i) => i);
  const sva = cur.k.config.sva;
  yield* access({
    fn: caller,
    desc: `__pagetable_free(${table})`,
    cost: { cls: 'page_free' },
    reads: [pageLoc(table), freeListLoc, ...cpus.map(cpuLoc.tlb), ...(sva ? [iommuTlbLoc] : [])],
    writes: [pageLoc(table), freeListLoc],
    effect: (vals) => {
      const pg = vals[0] as PageState;
      if (pg.state !== 'pgtable') throw new Error(`${caller}: freeing ${table}, which is ${pg.state} (double free)`);
      const stale: Value[] = [];
      cpus.forEach((c, i) => {
        for (const e of vals[2 + i] as readonly TlbEntry[]) if (e.table === table && e.gen === pg.gen) stale.push({ cpu: c, level: e.level, path: e.path, mm: e.mm });
      });
      if (sva) {
        for (const e of vals[2 + cpus.length] as readonly TlbEntry[]) if (e.table === table && e.gen === pg.gen) stale.push({ cpu: -1, holder: 'IOMMU', level: e.level, path: e.path, mm: e.mm });
      }
      return {
        writes: [[pageLoc(table), { ...pg, state: 'free' }], [freeListLoc, [table, ...(vals[1] as readonly string[])]]],
        events: [{ type: 'pt_free', cpu: cur.cpu, fn: caller, comm: cur.comm, table, gen: pg.gen, level: pg.level, owner: pg.owner, stale }],
        note: `${table} gen ${pg.gen} freed`,
      };
    },
  });
}

/**
 * kernel_pgtable_work_func(): splice the list under the lock, invalidate the SVA IOMMUs once for
 * the whole kernel range, then free each page.
 */
export function* kernel_pgtable_work_func(cur: Ctx): Proc<void> {
  const pages = yield* access<string[]>({
    fn: 'kernel_pgtable_work_func',
    desc: 'spin_lock(&kernel_pgtable_work.lock); list_splice_tail_init(); spin_unlock()',
    reads: [kptListLoc],
    writes: [kptListLoc],
    effect: ([l]) => {
      const list = l as readonly string[];
      return { writes: [[kptListLoc, []]], result: [...list], note: `took ${list.length} page(s)`, events: [{ type: 'kpt_splice', cpu: cur.cpu, pages: [...list] }] };
    },
  });
  if (pages.length === 0) return;
  yield* iommu_sva_invalidate_kva_range(cur, 'kernel_pgtable_work_func');
  for (const p of pages) yield* __pagetable_free_kernel_page(cur, 'kernel_pgtable_work_func', p);
}

export const kernel_pgtable_work: work_struct = { name: KERNEL_PGTABLE_WORK, func: kernel_pgtable_work_func };

/** The workqueue the work goes to: system_wq (merged) or a WQ_MEM_RECLAIM queue (suggested). */
export function kernel_pgtable_wq(k: Kernel): workqueue_struct {
  return k.config.kernel_free_wq === 'mem_reclaim' ? { name: 'kernel_pgtable_wq', mem_reclaim: true } : system_wq;
}

/** pagetable_free_kernel(): queue the page and schedule the work. */
export function* pagetable_free_kernel(cur: Ctx, table: string): Proc<void> {
  yield* access({
    fn: 'pagetable_free_kernel',
    desc: `spin_lock(&kernel_pgtable_work.lock); list_add(${table}); spin_unlock()`,
    reads: [kptListLoc],
    writes: [kptListLoc],
    effect: ([l]) => ({ writes: [[kptListLoc, [...(l as readonly string[]), table]]], events: [{ type: 'kpt_queue', cpu: cur.cpu, table }] }),
  });
  const wq = kernel_pgtable_wq(cur.k);
  // schedule_work() on system_wq as merged; queue_work() on a WQ_MEM_RECLAIM queue if so configured.
  yield* queue_work(cur, 'pagetable_free_kernel', wq, kernel_pgtable_work);
}

/**
 * pagetable_free() of a kernel page (ptdesc_test_kernel()): deferred to kernel_pgtable_work when
 * config.kernel_pt_free is 'async', else at once. A strategy file's pagetable_free_kernel hook
 * replaces it (model/strategy-hooks.ts).
 */
function* kernel_table_free(cur: Ctx, caller: string, table: string): Proc<void> {
  if (cur.k.config.kernel_pt_free === 'async') yield* pagetable_free_kernel(cur, table);
  else yield* __pagetable_free_kernel_page(cur, caller, table);
}

/** pte_free_kernel() -> pagetable_dtor_free() -> pagetable_free() for a kernel (ptdesc_test_kernel) page. */
export function* pte_free_kernel(cur: Ctx, table: string): Proc<void> {
  yield* runHook(cur, 'pagetable_free_kernel', { table }, () => kernel_table_free(cur, 'pte_free_kernel', table));
}

/**
 * pmd_free(&init_mm, pmd) of the kernel PMD table (pud_free_pmd_page()): pagetable_dtor_free() ->
 * pagetable_free(), which treats a kernel ptdesc as pte_free_kernel() does.
 */
export function* pmd_free_kernel(cur: Ctx, table: string): Proc<void> {
  yield* runHook(cur, 'pagetable_free_kernel', { table }, () => kernel_table_free(cur, 'pmd_free', table));
}

/** Read the kernel PUD entry (issue #11; vmap_try_huge_pud()). */
export function* kernel_pud_read(cur: Ctx, fn: string): Proc<PtEntry> {
  void cur;
  return yield* access<PtEntry>({ fn, desc: `read ${kernelPudTable}[0]`, cost: { cls: 'pt_read' }, reads: [ptLoc(kernelPudTable, 0)], effect: ([e]) => ({ result: e as PtEntry }) });
}

/** Read the kernel PMD entry (under init_mm.page_table_lock in vmap paths; plain here). */
export function* kernel_pmd_read(cur: Ctx, fn: string): Proc<PtEntry> {
  void cur;
  return yield* access<PtEntry>({ fn, desc: `read ${kernelPmdTable}[0]`, cost: { cls: 'pt_read' }, reads: [ptLoc(kernelPmdTable, 0)], effect: ([e]) => ({ result: e as PtEntry }) });
}
