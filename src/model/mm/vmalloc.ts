/**
 * mm/vmalloc.c, the part that frees a kernel page table: vmap_range_noflush() -> vmap_pmd_range()
 * -> vmap_try_huge_pmd(): when a huge mapping can replace the range's PMD entry and that entry
 * links a PTE table, pmd_free_pte_page() (arch) unlinks, flushes and frees the table, then
 * pmd_set_huge() installs the huge leaf (step `vmap_huge`). And the reverse, a small-page vmap of
 * the range after vunmap(): vmap_pte_range() -> pte_alloc_kernel_track() allocates a PTE table
 * (pte_alloc_one_kernel(), a page of init_mm marked kernel) and populates it (step `vmap_small`).
 */
import type { Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import { arm64_pmd_free_pte_page, arm64_pud_free_pmd_page } from '../arch/arm64/mmu.js';
import { x86_pmd_free_pte_page, x86_pud_free_pmd_page } from '../arch/x86/mm/pgtable.js';
import { pxd_set } from '../include/linux/pgtable.js';
import { pagetable_alloc } from './page_alloc.js';
import { kernel_pmd_read, kernel_pud_read, kernelPmdTable, kernelPudTable, vmallocHugePage, vmallocPage } from './kernel_pgtable.js';

/** vmap_try_huge_pmd(): free the PTE table if one is linked, then pmd_set_huge(). */
export function* vmap_try_huge_pmd(cur: Ctx): Proc<void> {
  const e = yield* kernel_pmd_read(cur, 'vmap_try_huge_pmd');
  if (e !== null && 'table' in e) {
    if (cur.k.arch.id === 'arm64') yield* arm64_pmd_free_pte_page(cur);
    else yield* x86_pmd_free_pte_page(cur);
  }
  yield* pxd_set(cur, 'vmap_try_huge_pmd', 'pmd_set_huge', kernelPmdTable, 0, { pfn: vmallocHugePage });
}

/** vmap of small pages over the range: allocate and link a kernel PTE table if none, fill it. */
export function* vmap_small(cur: Ctx): Proc<void> {
  const spec = cur.k.kernel_pt;
  if (!spec) throw new Error('vmap_small needs kernel_pt');
  const e = yield* kernel_pmd_read(cur, 'vmap_pte_range');
  if (e !== null && 'table' in e) return;
  // vunmap() of the huge mapping first: pmd_clear_huge() (no table to free).
  if (e !== null) yield* pxd_set(cur, 'vunmap_pmd_range', 'pmd_clear_huge', kernelPmdTable, 0, null);
  const got = yield* pagetable_alloc(cur, 'pte_alloc_one_kernel', 'init_mm', 'pte', spec.ptes);
  for (let i = 0; i < spec.ptes; i++) yield* pxd_set(cur, 'vmap_pte_range', 'set_pte_at', got.page, i, { pfn: vmallocPage(i) });
  yield* pxd_set(cur, '__pte_alloc_kernel', 'pmd_populate_kernel', kernelPmdTable, 0, { table: got.page, gen: got.gen });
}

/**
 * vmap_try_huge_pud() (mm/vmalloc.c; lib/ioremap.c ioremap_try_huge_pud() before v5.13): when a
 * PUD-sized huge mapping can replace the range's PUD entry and that entry links a PMD table,
 * pud_free_pmd_page() (arch) unlinks, flushes and frees the PMD table and the PTE tables it links;
 * then pud_set_huge() installs the huge leaf (step `vmap_huge_pud`, issue #11). Needs
 * `kernel_pt: { pud: true }`.
 */
export function* vmap_try_huge_pud(cur: Ctx): Proc<void> {
  if (!cur.k.kernel_pt?.pud) throw new Error('vmap_huge_pud needs kernel_pt.pud');
  const e = yield* kernel_pud_read(cur, 'vmap_try_huge_pud');
  if (e !== null && 'table' in e) {
    if (cur.k.arch.id === 'arm64') yield* arm64_pud_free_pmd_page(cur);
    else yield* x86_pud_free_pmd_page(cur);
  }
  yield* pxd_set(cur, 'vmap_try_huge_pud', 'pud_set_huge', kernelPudTable, 0, { pfn: vmallocHugePage });
}
