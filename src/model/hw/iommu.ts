/**
 * The SVA-bound device's DMA, as seen by its IOMMU: hardware walks of the kernel range through the
 * process page tables' kernel part (kernel.md §1.3, §3.3, §7.10).
 *
 * A walk starts from a cached pointer to the kernel PTE table when the paging-structure cache holds
 * one, or else reads the kernel PMD entry (the shared PGD/PUD levels above it are never freed in
 * the model and are not walked) and caches the pointer it finds. It then reads the PTE table. An
 * SVA context is unprivileged: it faults at a kernel leaf (U/S) and caches no leaf, but the
 * intermediate entries stay cached until iommu_sva_invalidate_kva_range(). A walk whose cached
 * entry was invalidated while in flight is abandoned (the invalidation waits for it).
 */
import { access, type Proc, type Value } from '../../core/index.js';
import type { Ctx, Kernel } from '../kernel.js';
import { iommuTlbLoc } from '../drivers/iommu/iommu-sva.js';
import { kernelPmdTable } from '../mm/kernel_pgtable.js';
import { pageLoc, ptLoc, type PageState, type PtEntry, type TlbEntry } from '../state.js';

const sameEntry = (a: TlbEntry, b: TlbEntry): boolean => a.mm === b.mm && a.level === b.level && a.path === b.path && a.table === b.table && a.gen === b.gen;

/** One DMA to kernel VA page `page` of the vmalloc range. */
export function* iommu_dma_walk(cur: Ctx, page: number): Proc<void> {
  const pmd = kernelPmdTable;
  const start = yield* access<TlbEntry | null>({
    fn: 'iommu_walk',
    desc: `IOMMU (SVA) walks the kernel range, page ${page}`,
    cost: { cls: 'hw_walk_step' },
    reads: [iommuTlbLoc, ptLoc(pmd, 0), pageLoc(pmd)],
    writes: [iommuTlbLoc],
    effect: ([t, e, pg]) => {
      const entries = t as readonly TlbEntry[];
      const hit = entries.find((x) => x.mm === 'init_mm' && x.level === 'pmd' && x.path === '0' && x.table !== null);
      if (hit) return { result: hit, note: `paging-structure cache hit: PTE table ${hit.table} (gen ${hit.gen})` };
      const entry = e as PtEntry;
      const p = pg as PageState;
      const events = [{ type: 'walk_read', walker: 'hw', cpu: null, fn: 'iommu_walk', mm: 'init_mm', table: pmd, level: 'pmd', index: 0, expect_gen: p.gen, state: p.state, gen: p.gen, owner: p.owner, entry: entry as Value }];
      if (entry === null || 'pfn' in entry) return { result: null, events, note: entry === null ? 'not present: DMA faults' : 'kernel huge leaf: SVA DMA faults (U/S)' };
      if ('migration' in entry) return { result: null, events, note: 'migration entry: not valid, DMA faults' };
      const cached: TlbEntry = { mm: 'init_mm', level: 'pmd', path: '0', table: entry.table, gen: entry.gen, pfn: null };
      return { writes: [[iommuTlbLoc, [...entries, cached] as unknown as Value]], result: cached, events, note: `paging-structure cache fill: -> ${entry.table} gen ${entry.gen}` };
    },
  });
  if (!start) return;
  const table = start.table as string;
  yield* access({
    fn: 'iommu_walk',
    desc: `IOMMU reads pte[${page}] of ${table}`,
    cost: { cls: 'hw_walk_step' },
    reads: [iommuTlbLoc, ptLoc(table, page), pageLoc(table)],
    effect: ([t, e, pg]) => {
      if (!(t as readonly TlbEntry[]).some((x) => sameEntry(x, start))) return { note: 'walk abandoned: its cached entry was invalidated' };
      const p = pg as PageState;
      const events = [{ type: 'walk_read', walker: 'hw', cpu: null, fn: 'iommu_walk', mm: 'init_mm', table, level: 'pte', index: page, expect_gen: start.gen, state: p.state, gen: p.gen, owner: p.owner, entry: e as Value }];
      const what = p.state !== 'pgtable' || p.gen !== start.gen ? `a ${p.state} page (gen ${p.gen}) as a PTE table: use-after-free` : 'kernel leaf: SVA DMA faults (U/S)';
      return { events, note: what };
    },
  });
}

/** The SVA device: `times` DMA walks of page `page` of the kernel vmalloc range. */
export function iommuWalkerThread(k: Kernel, page: number, times: number) {
  return {
    name: 'IOMMU (SVA)',
    cpu: null,
    kind: 'agent' as const,
    body: function* (): Proc<void> {
      const cur: Ctx = { k, cpu: -1, comm: 'iommu', mm: null, context: 'task' };
      for (let i = 0; i < times; i++) yield* iommu_dma_walk(cur, page);
    },
  };
}
