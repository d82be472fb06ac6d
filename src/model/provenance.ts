/**
 * Where every knob value comes from: a one-line description of each knob and, for each of its
 * values, the kernel version, commit or posted patch it follows. The type requires an entry for
 * every KnobId and every value of it, so a new knob (or value) without provenance fails the type
 * check. `ptlab list knobs` prints this; test/model/provenance.test.ts checks that DEFAULT_CONFIG
 * is merged mainline throughout, and that docs/model.md §3.1 names every knob.
 */
import type { KernelConfig, KnobId } from './config.js';

/**
 *  - 'mainline'       merged and in the current kernel (for a Kconfig option: one of its settings)
 *  - 'historical'     merged once, since replaced (the buggy half of a fix, mostly)
 *  - 'posted'         posted to a list or suggested in review, not merged
 *  - 'counterfactual' in no kernel: a deliberately broken variant that shows what a rule is for
 *  - 'environment'    not a choice of the code: an allocation outcome, the hardware, a binding, a
 *                     size; every mainline kernel meets each value
 */
export type ProvenanceKind = 'mainline' | 'historical' | 'posted' | 'counterfactual' | 'environment';

export interface ValueProvenance {
  readonly kind: ProvenanceKind;
  /** Kernel version, commit id and title, or the patch (series, version, list date). */
  readonly source: string;
}

/** The value keys of a knob: its string values, 'true'/'false' for a boolean, 'any' for a number. */
export type ValueKey<T> = T extends boolean ? `${T}` : T extends string ? T : T extends number ? 'any' : never;

export interface KnobProvenance<K extends KnobId> {
  readonly description: string;
  readonly values: { readonly [V in ValueKey<KernelConfig[K]>]: ValueProvenance };
}

const m = (source: string): ValueProvenance => ({ kind: 'mainline', source });
const h = (source: string): ValueProvenance => ({ kind: 'historical', source });
const p = (source: string): ValueProvenance => ({ kind: 'posted', source });
const c = (source: string): ValueProvenance => ({ kind: 'counterfactual', source });
const e = (source: string): ValueProvenance => ({ kind: 'environment', source });

/** Merged code: the kinds a default value may have. */
export function isMerged(v: ValueProvenance): boolean {
  return v.kind === 'mainline' || v.kind === 'environment';
}

export const KNOB_PROVENANCE: { readonly [K in KnobId]: KnobProvenance<K> } = {
  table_free: {
    description: 'How mmu_gather frees page tables: after an RCU grace period, right after the flush, or with the data pages',
    values: {
      rcu: m('CONFIG_MMU_GATHER_RCU_TABLE_FREE (x86 unconditionally since a37259732a7d; arm64)'),
      table: m('CONFIG_MMU_GATHER_TABLE_FREE without RCU (0d6e24d430ef "asm-generic/tlb: Provide MMU_GATHER_TABLE_FREE", v5.9)'),
      page: m('neither option (arches without them; native x86 before a37259732a7d, kernel.md §7.6)'),
    },
  },
  pt_reclaim: {
    description: 'CONFIG_PT_RECLAIM: MADV_DONTNEED frees empty PTE tables; the single-table fallback frees with call_rcu()',
    values: {
      true: m('CONFIG_PT_RECLAIM=y (6375e95f381e "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)", v6.14)'),
      false: m('CONFIG_PT_RECLAIM off (every kernel before v6.14; arches with HAVE_ARCH_TLB_REMOVE_TABLE)'),
    },
  },
  remove_table_one: {
    description: 'What the !PT_RECLAIM single-table fallback __tlb_remove_table_one() does before freeing',
    values: {
      sync_one: h('tlb_remove_table_sync_one(), broadcast IPI (v4.x until 1fb3d8c20bfa)'),
      synchronize_rcu: p('synchronize_rcu() (Lance Yang, 1fb3d8c20bfa v1, 23 Feb 2026)'),
      sync_rcu: m('tlb_remove_table_sync_rcu() (1fb3d8c20bfa "mm/mmu_gather: replace IPI with synchronize_rcu() when batch allocation fails", as merged)'),
      none: c('free at once, no walker sync (deliberately broken)'),
    },
  },
  skip_sync_if_flush_implies_ipi: {
    description: 'tlb_remove_table_sync_one()/_sync_rcu() return early when the flush implied an IPI broadcast',
    values: {
      true: p('v8 1/2 "mm/mmu_gather: prepare to skip redundant sync IPIs" (Lance Yang, 24 Mar 2026)'),
      false: m('no skip (mainline)'),
    },
  },
  implies_ipi_broadcast: {
    description: "The arch's tlb_table_flush_implies_ipi_broadcast() (consulted only when skip_sync_if_flush_implies_ipi)",
    values: {
      v8: p('v8 2/2: x86 native_flush_tlb_multi() without INVLPGB (Lance Yang, 24 Mar 2026)'),
      'v4-kvm-claims': p('v4 3/3: KVM PV flush claims it too (2 Feb 2026; rejected by Sean Christopherson)'),
      false: m('no such hook in mainline (the generic default of v8 1/2)'),
      always: c('every arch claims it, hardware-broadcast and PV flushes included: the Promela anchor forces it (rows d-hw, d-pv)'),
    },
  },
  x86_freed_tables_ipi_lazy: {
    description: 'x86 native_flush_tlb_multi() IPIs lazy CPUs when info->freed_tables',
    values: {
      true: m('64482aafe55f "x86/mm/tlb: Only send page table free TLB flush to lazy TLB CPUs" (Rik van Riel, v4.19)'),
      false: c('lazy CPUs skipped even when tables are freed (shows why the IPI is needed)'),
    },
  },
  batch_alloc: {
    description: 'Outcome of the GFP_NOWAIT allocation of a table batch page',
    values: {
      succeeds: e('allocation succeeds'),
      fails: e('allocation fails (memory pressure)'),
      'may-fail': e('either, a nondeterministic choice'),
    },
  },
  max_table_batch: {
    description: 'MAX_TABLE_BATCH, tables per batch page (~510 in the kernel; small values exercise the full-batch flush)',
    values: { any: e('a size: every kernel since the batch exists (v2.6.x)') },
  },
  gup_fast_pmd_recheck: {
    description: 'GUP-fast re-checks the PMD after grabbing the folio',
    values: {
      true: m('70cbc3cc78a9 "mm: gup: fix the fast GUP race against THP collapse" (v6.1)'),
      false: h('before 70cbc3cc78a9'),
    },
  },
  fault_pmd_recheck: {
    description: 'The fault path maps PTE tables under RCU and re-checks the PMD (pte_offset_map[_lock]() may fail)',
    values: {
      true: m('Hugh Dickins, "mm/pgtable: allow pte_offset_map[_lock]() to fail" series (0d940a9b270b, v6.5)'),
      false: h('before v6.5: the mmap_lock alone kept PTE tables'),
    },
  },
  sync_targeted: {
    description: 'S3: sync IPIs only to CPUs that published a lockless walk of the mm',
    values: {
      off: m('the broadcast tlb_remove_table_sync_one() (mainline)'),
      rmb: p('v4 1/3 "targeted TLB sync IPIs for lockless page table walkers" as posted (Lance Yang, 2 Feb 2026)'),
      mb: p('v4 with smp_mb() on the updater too (the Dekker pattern; review of v4, Peter Zijlstra)'),
    },
  },
  sync_cpumask_alloc: {
    description: 'S3: the GFP_ATOMIC cpumask allocation of tlb_remove_table_sync_mm()',
    values: {
      succeeds: e('allocation succeeds'),
      'may-fail': e('allocation may fail (v4 1/3 falls back to the broadcast)'),
    },
  },
  hugetlb_unshare: {
    description: 'How huge_pmd_unshare() syncs with GUP-fast before a shared PMD table is reused',
    values: {
      none: h('before 1013af4f585f: no walker sync (CVE-2025-38085)'),
      per_table_ipi: h('1013af4f585f "mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race" (May 2025, v6.16)'),
      batched: m('8ce720d5bd91 "mm/hugetlb: fix excessive IPI broadcasts when unsharing PMD tables using mmu_gather" (Dec 2025)'),
      batched_sync_after_unlock: c('flush and sync left to tlb_finish_mmu(), after i_mmap_rwsem is dropped (8ce720d5bd91 forbids it)'),
    },
  },
  unshare_sync: {
    description: 'The walker sync of tlb_flush_unshared_tables() when a table became exclusive',
    values: {
      sync_one: m('tlb_remove_table_sync_one() (8ce720d5bd91)'),
      synchronize_rcu: p('S4 "RCU everywhere" (Peter Zijlstra, v4 thread, Feb 2026)'),
    },
  },
  x86_tlb_flush_unshared_tables: {
    description: 'x86 tlb_flush() passes freed_tables || unshared_tables, so an unshare flush reaches lazy CPUs',
    values: {
      true: p('v8 2/2 of Lance Yang\'s series (24 Mar 2026), not merged'),
      false: m('freed_tables only (mainline)'),
    },
  },
  arm64_tlb_flush_unshared_tables: {
    description: 'arm64 tlb_flush(): last_level = !(freed_tables || unshared_tables)',
    values: {
      true: m('c2ff4764e03e (May 2026)'),
      false: h('!freed_tables, leaf-only TLBI for an unshare (before c2ff4764e03e)'),
    },
  },
  collapse_sync: {
    description: "khugepaged collapse_huge_page()'s walker sync after pmdp_collapse_flush()",
    values: {
      sync_one: m('tlb_remove_table_sync_one() (2ba99c5e0881, Jann Horn, Nov 2022, v6.1)'),
      sync_rcu: p('tlb_remove_table_sync_rcu() (S4 "RCU everywhere", Peter Zijlstra, v4 thread, Feb 2026)'),
      synchronize_rcu: p('synchronize_rcu() called directly (S4 without the helper)'),
      none: h('nothing: between 70cbc3cc78a9 (Sep 2022) and 2ba99c5e0881'),
    },
  },
  pt_reclaim_free: {
    description: 'How PT_RECLAIM frees an empty PTE table after MADV_DONTNEED',
    values: {
      pte_free_tlb: m('free_pte() -> pte_free_tlb() -> tlb_remove_table() (6375e95f381e, v6.14)'),
      immediate: c('flush, then pte_free() at once, no grace period (hypothetical)'),
    },
  },
  kernel_pt_free: {
    description: 'How a kernel (init_mm) page-table page is freed',
    values: {
      immediate: m('without CONFIG_ASYNC_KERNEL_PGTABLE_FREE: __pagetable_free() at once'),
      async: m('CONFIG_ASYNC_KERNEL_PGTABLE_FREE ("Fix stale IOTLB entries for kernel address space", Lu Baolu / Dave Hansen, v7 7/8, 22 Oct 2025)'),
    },
  },
  kernel_free_wq: {
    description: 'The workqueue kernel_pgtable_work is queued on',
    values: {
      system: m('schedule_work() on system_wq (v7 7/8, as merged)'),
      mem_reclaim: p('a WQ_MEM_RECLAIM workqueue (Jason Gunthorpe, review of v7 7/8)'),
    },
  },
  kworker_create: {
    description: 'Whether the worker pool can create a kworker for queued work',
    values: {
      succeeds: e('kworker creation succeeds'),
      'may-fail': e('create_worker() may fail under memory pressure'),
    },
  },
  sva: {
    description: 'An SVA-capable IOMMU is bound to a process and caches the kernel part of its page tables',
    values: {
      true: e('iommu_sva_bind_device() (26b25a2b98e4) on a device that walks the kernel range'),
      false: e('no SVA binding'),
    },
  },
  // leaf TLB entries for data pages (issue #11)
  x86_global_asid: {
    description: 'Which mms have a global ASID on x86-invlpgb (INVLPGB broadcast instead of IPIs)',
    values: {
      kernel: m('consider_global_asid(): one once mm_active_cpus_exceeds(mm, 3) (Rik van Riel\'s INVLPGB series, v6.15; arch/x86/mm/tlb.c @1f617847)'),
      always: e('force: every mm active on 4+ CPUs of a larger machine (the kernel reaches it there)'),
      never: e('force: global ASIDs exhausted (global_asid_available == 0), or no mm on 4 CPUs at once'),
    },
  },
  per_vma_lock: {
    description: 'CONFIG_PER_VMA_LOCK: faults (and MADV_DONTNEED) try the VMA read lock before the mmap_lock',
    values: {
      true: m('CONFIG_PER_VMA_LOCK (def_bool y on x86-64 and arm64; Suren Baghdasaryan\'s series, v6.4)'),
      false: h('before v6.4: every fault takes the mmap_lock for read'),
    },
  },
  munmap_vma_start_write: {
    description: 'munmap write-locks each VMA it removes (vms_gather_munmap_vmas() -> vma_start_write())',
    values: {
      true: m('"mm: write-lock VMAs before removing them from VMA tree" (per-VMA lock series, v6.4)'),
      false: c('the per-VMA lock series without that patch'),
    },
  },
  collapse_vma_start_write: {
    description: 'Where collapse_huge_page() calls vma_start_write(): before or after check_pmd_still_valid(), or not at all',
    values: {
      before_check: m('366a4532d96f "mm: fix the race between collapse and PT_RECLAIM under per-vma lock" (Barry Song, Aug 2025, v6.17-rc)'),
      after_check: h('"mm/khugepaged: write-lock VMA while collapsing a huge page" (v6.4) until 366a4532d96f'),
      none: c('the per-VMA lock series without that patch'),
    },
  },
  madvise_dontneed_lock: {
    description: 'The lock madvise(MADV_DONTNEED) takes: the VMA read lock (with mmap_lock fallback) or the mmap_lock',
    values: {
      vma_read: m('a6fde7add78d "mm: use per_vma lock for MADV_DONTNEED" (Barry Song, v6.17-rc1)'),
      mmap_read: h('every kernel before a6fde7add78d'),
    },
  },
  x86_switch_mm_cpumask: {
    description: 'How x86 switch_mm_irqs_off() updates mm_cpumask around the CR3 load',
    values: {
      lazy: m('set the next mm\'s bit if clear, never clear prev\'s (209954cbc7d0 "x86/mm/tlb: Update mm_cpumask lazily"; tlb.c @1f617847)'),
      'clear-after-cr3': h('set next, load CR3, then clear prev (831d52bc1539 until 209954cbc7d0)'),
      'clear-before-cr3': h('clear prev while it is still in CR3 (before 831d52bc1539)'),
    },
  },
  kthread_use_mm_irqs: {
    description: 'Whether kthread_use_mm()/kthread_unuse_mm() keep IRQs off across the active_mm update and the switch',
    values: {
      off: m('38cf307c1f20 "mm: fix kthread_use_mm() vs TLB invalidate" (v5.9)'),
      switch_mm: h('before 38cf307c1f20: switch_mm() with IRQs on across the ->active_mm update'),
    },
  },
  x86_flush_tlb_range_freed_tables: {
    description: 'x86 flush_tlb_range() (used by pmdp_collapse_flush() and pmdp_invalidate()) passes freed_tables, so lazy CPUs are IPI\'d',
    values: {
      true: m('3ef938c35035 "x86/mm: Fix flush_tlb_range() when used for zapping normal PMDs" (Jann Horn, Jan 2025; stable to 5.4)'),
      false: h('016c4d92cd16 (v4.20) until 3ef938c35035: freed_tables false, lazy CPUs skipped'),
    },
  },
  table_invalidate: {
    description: 'tlb_needs_table_invalidate(): flush the TLB (and walk caches) before a table batch or a single table is freed',
    values: {
      true: m('the asm-generic default (0ed1325967ab, v5.5); x86 since d86564a2f085 "mm/tlb, x86/mm: Support invalidating TLB caches for RCU_TABLE_FREE" (v4.19-rc1)'),
      false: h('x86 with paravirt RCU_TABLE_FREE before d86564a2f085 (right only for MMUs without walk caches: powerpc hash, sparc64)'),
    },
  },
  mm_users_shortcut: {
    description: 'tlb_remove_table() frees a table at once when mm_users < 2',
    values: {
      true: h('267239116987 (v3.4) to v4.18'),
      false: m('"mm/tlb: Remove tlb_remove_table() non-concurrent condition" (Peter Zijlstra, v4.19-rc1, Cc stable)'),
    },
  },
  kernel_pt_free_flush: {
    description: 'Whether pmd_free_pte_page()/pud_free_pmd_page() flush the kernel TLB and walk caches between the clear and the free',
    values: {
      flush: m('x86 5e0fb5df2ee8 "x86/mm: Add TLB purge to free pmd/pte page interfaces" (v4.19-rc1, stable to 4.4); arm64 ec28bb9c9b08'),
      none: h('x86 from 28ee90fe6048 (v4.16) to 5e0fb5df2ee8 (arm64 never shipped it)'),
    },
  },
  tlb_free_pages: {
    description: 'When tlb_flush_mmu() frees the data pages zap_pte_range() queued: after or before the TLB flush',
    values: {
      after_flush: m('tlb_flush_mmu_tlbonly() then tlb_flush_mmu_free() (mm/mmu_gather.c; split 1cf35d47712d, v3.15)'),
      before_flush: c('the two swapped: pages freed while TLBs still map them (deliberately broken)'),
    },
  },
  tlb_finish_nested: {
    description: 'tlb_finish_mmu() when mm_tlb_flush_nested(): force a full flush, or flush only what this gather recorded',
    values: {
      force_flush: m('99baac21e458 "mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem" (v4.13); fullmm + freed_tables form from 7a30df49f63a'),
      reset_range: h('__tlb_reset_range() + the range, no freed_tables (99baac21e458 .. 7a30df49f63a "mm: mmu_gather: remove __tlb_reset_range() for force flush", v5.2)'),
      none: h('before 99baac21e458 (v4.12 and earlier)'),
    },
  },
  kvm_steal_time_flush: {
    description: "How the KVM host's record_steal_time() consumes the guest's KVM_VCPU_FLUSH_TLB on vCPU entry",
    values: {
      xchg: m('xchg() on the guest steal_time page itself (b043138246a4, CVE-2019-3016, v5.6)'),
      copy_writeback: h('read a host copy, xchg the copy, write it all back (PV TLB flush host side, v4.16, until b043138246a4)'),
    },
  },
  // split and migration entries (issue #11)
  split_pmd_invalidate: {
    description: '__split_huge_pmd_locked(): pmdp_invalidate() only a present THP, or any PMD (a migration entry too)',
    values: {
      present_only: m('3a5a8d343e1c "mm: fix race between __split_huge_pmd_locked() and GUP-fast" (Ryan Roberts, v6.10; v1 on linux-mm 25 Apr 2024)'),
      always: h('84c3fc4e9c56 "mm: thp: check pmd migration entry in common path" (v4.14) until 3a5a8d343e1c'),
    },
  },
  arm64_pmd_mkinvalid: {
    description: "arm64 pmd_mkinvalid() on a swap (migration) PMD: leave it, or make it present-invalid (pmd_present() true)",
    values: {
      valid_only: m('e783331c7720 "arm64/mm: pmd_mkinvalid() must handle swap pmds" (Ryan Roberts, v6.9, Cc stable)'),
      always: h('53fa117bb33c "arm64/mm: Enable THP migration" (2020, PMD_PRESENT_INVALID from b65399f6111b) until e783331c7720'),
    },
  },
};

/**
 * Default values that are not merged mainline yet, each with the issue that will change it. Empty
 * once every default is merged code; test/model/provenance.test.ts keeps it honest both ways.
 */
export const KNOWN_UNMERGED_DEFAULTS: readonly { readonly knob: KnobId; readonly todo: string }[] = [
];

/** The key a knob value has in KNOB_PROVENANCE: 'true'/'false' for a boolean, 'any' for a number. */
export function valueKey(value: unknown): string {
  return typeof value === 'number' ? 'any' : String(value);
}

/** The provenance of one value of a knob. */
export function valueProvenance(knob: KnobId, value: unknown): ValueProvenance {
  const values = KNOB_PROVENANCE[knob].values as Readonly<Record<string, ValueProvenance>>;
  const v = values[valueKey(value)];
  if (!v) throw new Error(`no provenance for ${knob}=${String(value)}`);
  return v;
}
