/**
 * The configuration axes of the model (kernel.md Appendix A): Kconfig options, the strategy a
 * kernel version uses at each synchronisation point, and historical or deliberately broken
 * variants. A strategy preset (src/strategies) is a set of values for these knobs.
 */

/** The architecture and flush backend the kernel runs on. */
export type ArchId =
  /** x86 bare metal, IPI-based remote flush (native_flush_tlb_multi), no INVLPGB. */
  | 'x86'
  /** x86 with AMD INVLPGB broadcast invalidation for mms that have a global ASID. */
  | 'x86-invlpgb'
  /** x86 KVM guest with PV TLB flush (kvm_flush_tlb_multi skips preempted vCPUs). */
  | 'x86-kvm'
  /** arm64: broadcast TLBI, no IPIs; leaf-only vs walk-cache invalidation. */
  | 'arm64'
  // x86 defaults and guests (issue #11)
  /**
   * x86 KVM guest without PV TLB flush: pv_tlb_flush_supported() is false (no
   * KVM_FEATURE_PV_TLB_FLUSH or no steal time, or KVM_HINTS_REALTIME), so pv_ops.mmu.flush_tlb_multi
   * stays native_flush_tlb_multi(): real IPIs, waited for, to vCPUs the host may deschedule.
   */
  | 'x86-kvm-nopv'
  /**
   * x86 Hyper-V guest with HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED: hyperv_flush_tlb_multi() asks the
   * hypervisor to flush the vCPUs (HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE/LIST[_EX]); no guest IPI
   * (2ffd9e33ce4a, Aug 2017).
   */
  | 'x86-hyperv'
  /** x86 Xen PV guest: xen_flush_tlb_multi() issues MMUEXT_TLB_FLUSH_MULTI; no guest IPI. */
  | 'x86-xen-pv';

export const ARCH_IDS: readonly ArchId[] = ['x86', 'x86-invlpgb', 'x86-kvm', 'arm64', 'x86-kvm-nopv', 'x86-hyperv', 'x86-xen-pv'];

export interface KernelConfig {
  /**
   * How mmu_gather frees page tables: CONFIG_MMU_GATHER_RCU_TABLE_FREE ('rcu': batches freed
   * after a grace period), CONFIG_MMU_GATHER_TABLE_FREE only ('table': separate batch, freed right
   * after the flush), or neither ('page': tables freed with the data pages after the flush).
   */
  readonly table_free: 'rcu' | 'table' | 'page';
  /** CONFIG_PT_RECLAIM: the single-table fallback frees with call_rcu() on the ptdesc's rcu_head. */
  readonly pt_reclaim: boolean;
  /**
   * What the !PT_RECLAIM single-table fallback __tlb_remove_table_one() does before freeing:
   *  'sync_one'        tlb_remove_table_sync_one(): broadcast IPI and wait (before 2026, S0)
   *  'synchronize_rcu' synchronize_rcu() if RCU table free (1fb3d8c20bfa v1, S1 as first posted)
   *  'sync_rcu'        tlb_remove_table_sync_rcu() (1fb3d8c20bfa as merged, S1)
   *  'none'            free at once (deliberately broken)
   */
  readonly remove_table_one: 'sync_one' | 'synchronize_rcu' | 'sync_rcu' | 'none';
  /**
   * v8 1/2 ("mm/mmu_gather: prepare to skip redundant sync IPIs"): tlb_remove_table_sync_one()
   * and tlb_remove_table_sync_rcu() return early when tlb_table_flush_implies_ipi_broadcast().
   */
  readonly skip_sync_if_flush_implies_ipi: boolean;
  /**
   * The arch's tlb_table_flush_implies_ipi_broadcast():
   *  'v8'            x86: true iff the remote flush is native_flush_tlb_multi and the CPU lacks
   *                  INVLPGB (v8 2/2); false elsewhere (generic default)
   *  'v4-kvm-claims' as 'v8', but KVM's PV flush also claims it (v4 3/3, rejected by Sean
   *                  Christopherson because PV flush skips preempted vCPUs)
   *  'false'         the generic default everywhere; mainline, which has no hook (the default)
   *  'always'        counterfactual: every arch claims it, whatever its flush (arm64's TLBI and
   *                  INVLPGB broadcast in hardware and interrupt nobody; a PV flush skips preempted
   *                  vCPUs): the claim the Promela anchor's rows d-hw and d-pv force (issue #13)
   */
  readonly implies_ipi_broadcast: 'v8' | 'v4-kvm-claims' | 'false' | 'always';
  /**
   * x86 native_flush_tlb_multi(): IPI lazy CPUs too when info->freed_tables (true in every
   * kernel with the lazy-TLB rework; false shows why it is needed).
   */
  readonly x86_freed_tables_ipi_lazy: boolean;
  /** Outcome of the GFP_NOWAIT allocation of a table batch page. */
  readonly batch_alloc: 'succeeds' | 'fails' | 'may-fail';
  /** MAX_TABLE_BATCH: tables per batch page (the kernel's is ~510; small values exercise the full-batch flush). */
  readonly max_table_batch: number;
  /** GUP-fast re-checks the PMD after grabbing the folio (70cbc3cc78a9). */
  readonly gup_fast_pmd_recheck: boolean;
  /**
   * The fault path maps PTE tables the way Hugh Dickins's "mm/pgtable: allow
   * pte_offset_map[_lock]() to fail" series (v6.5) made it: __pte_offset_map() re-reads the PMD
   * under rcu_read_lock() and may fail, and __pte_offset_map_lock() re-checks it with pmd_same()
   * under the PTE lock. false: the form before, when the mmap_lock alone kept PTE tables (no RCU,
   * no re-check), a counterfactual once PT_RECLAIM frees tables under the mmap_lock held for read.
   */
  readonly fault_pmd_recheck: boolean;
  /**
   * S3, targeted sync IPIs (v4 of "targeted TLB sync IPIs for lockless page table walkers", 2 Feb
   * 2026, not merged): GUP-fast publishes the mm it walks in a per-CPU variable, and the walker
   * sync IPIs only the CPUs walking that mm instead of broadcasting.
   *  'off' the broadcast tlb_remove_table_sync_one()
   *  'rmb' as posted: full barrier on the walker side, read barrier on the updater side (no
   *        fence on x86: the store-buffering race Peter Zijlstra pointed out)
   *  'mb'  full barriers on both sides (the Dekker pattern)
   */
  readonly sync_targeted: 'off' | 'rmb' | 'mb';
  /** S3: the GFP_ATOMIC cpumask allocation of tlb_remove_table_sync_mm() (failure: broadcast). */
  readonly sync_cpumask_alloc: 'succeeds' | 'may-fail';
  /**
   * hugetlb PMD-table unsharing, huge_pmd_unshare() (mm/hugetlb.ts):
   *  'none'           before 1013af4f585f: drop the share count, clear the PUD, flush later; no
   *                   walker sync at all (CVE-2025-38085)
   *  'per_table_ipi'  1013af4f585f (May 2025): tlb_remove_table_sync_one() for every unshared
   *                   table, last sharer or not
   *  'batched'        8ce720d5bd91 (Dec 2025): tlb_unshare_pmd_ptdesc() records the unshare in
   *                   the mmu_gather; huge_pmd_unshare_flush() flushes once and syncs once, only if
   *                   a table became exclusive, before i_mmap_rwsem is dropped
   *  'batched_sync_after_unlock' as 'batched', but the flush and the sync are left to
   *                   tlb_finish_mmu(), after i_mmap_rwsem is dropped: the deferral 8ce720d5bd91
   *                   forbids (its VM_WARN_ON_ONCE in tlb_finish_mmu() fires)
   */
  readonly hugetlb_unshare: 'none' | 'per_table_ipi' | 'batched' | 'batched_sync_after_unlock';
  /**
   * The walker sync tlb_flush_unshared_tables() uses when a table became exclusive:
   *  'sync_one'        tlb_remove_table_sync_one(), the broadcast (8ce720d5bd91; v8 may skip it)
   *  'synchronize_rcu' S4, "RCU everywhere" (Peter Zijlstra, v4 thread, Feb 2026, not merged):
   *                    a grace period, slept with i_mmap_rwsem held for write
   */
  readonly unshare_sync: 'sync_one' | 'synchronize_rcu';
  /**
   * What x86 tlb_flush() passes to flush_tlb_mm_range() as freed_tables:
   *  false  tlb->freed_tables only: mainline, also after 8ce720d5bd91 (Dec 2025) introduced
   *         unshared_tables; an unshare flush skips lazy CPUs and the tlb_remove_table_sync_one()
   *         broadcast after it reaches them (the default)
   *  true   tlb->freed_tables || tlb->unshared_tables: Lance Yang's "x86/tlb: skip redundant sync
   *         IPIs for native TLB flush" (RFC 2/3 13 Dec 2025; v8 2/2 24 Mar 2026; v10 2/2 24 Apr
   *         2026 folds it into wake_lazy_cpus), in mm-unstable (linux-mm tlb.h @1940c3da), not
   *         merged; the skip-redundant-ipi and hugetlb-batched-skip presets set it
   */
  readonly x86_tlb_flush_unshared_tables: boolean;
  /**
   * arm64 tlb_flush(): last_level = !(freed_tables || unshared_tables) (c2ff4764e03e, May 2026),
   * so an unshare invalidates the walk cache. false: !freed_tables (before): leaf-only TLBI.
   */
  readonly arm64_tlb_flush_unshared_tables: boolean;
  /**
   * What khugepaged's anonymous collapse, collapse_huge_page() (mm/khugepaged.ts), does after
   * pmdp_collapse_flush() and before it copies the small pages and deposits the old PTE table for
   * reuse:
   *  'sync_one'        tlb_remove_table_sync_one(), a broadcast IPI waited for (2ba99c5e0881,
   *                    Jann Horn, Nov 2022; mainline today). The v8 skip
   *                    (skip_sync_if_flush_implies_ipi) may elide it.
   *  'sync_rcu'        tlb_remove_table_sync_rcu() (S4 "RCU everywhere", proposed by Peter
   *                    Zijlstra in the v4 thread, Feb 2026; not merged): a grace period; the v8
   *                    skip applies to this helper too
   *  'synchronize_rcu' synchronize_rcu() called directly (S4 without the helper): never skipped
   *  'none'            nothing: the kernel between 70cbc3cc78a9 (Sep 2022) and 2ba99c5e0881
   */
  readonly collapse_sync: 'sync_one' | 'sync_rcu' | 'synchronize_rcu' | 'none';
  /**
   * How PT_RECLAIM (pt_reclaim: true; mm/pt_reclaim.ts) frees an empty PTE table after
   * madvise(MADV_DONTNEED) cleared its PMD entry:
   *  'pte_free_tlb' free_pte() -> pte_free_tlb() -> tlb_remove_table(): the mmu_gather's RCU batch,
   *                 or call_rcu() on the ptdesc when the batch page cannot be allocated (6375e95f381e,
   *                 Qi Zheng, as merged)
   *  'immediate'    hypothetical: flush the TLB, then pte_free() at once, with no grace period
   */
  readonly pt_reclaim_free: 'pte_free_tlb' | 'immediate';
  /**
   * How a kernel (init_mm) page-table page is freed once unlinked and flushed from the CPUs
   * (pte_free_kernel() -> pagetable_free(); mm/kernel_pgtable.ts):
   *  'immediate' without CONFIG_ASYNC_KERNEL_PGTABLE_FREE (and before Lu Baolu / Dave Hansen's
   *              series "Fix stale IOTLB entries for kernel address space", v7 22 Oct 2025):
   *              __pagetable_free() at once; no IOMMU is told (kernel.md §2.7, §7.10)
   *  'async'     CONFIG_ASYNC_KERNEL_PGTABLE_FREE (v4 5 Sep 2025 onwards; merged form, v7 7/8):
   *              pagetable_free_kernel() queues the page and schedule_work()s kernel_pgtable_work,
   *              whose function calls iommu_sva_invalidate_kva_range() once, then frees the batch
   */
  readonly kernel_pt_free: 'immediate' | 'async';
  /**
   * The workqueue kernel_pgtable_work is queued on (kernel/workqueue.ts):
   *  'system'      schedule_work() on system_wq, as merged (mm/pgtable-generic.c, v7 7/8): no rescuer
   *  'mem_reclaim' a WQ_MEM_RECLAIM workqueue, as Jason Gunthorpe suggested in review of v7 7/8
   *                (not merged): its rescuer runs the work when no kworker can be created
   */
  readonly kernel_free_wq: 'system' | 'mem_reclaim';
  /**
   * Whether the worker pool can create a kworker for queued work (kernel/workqueue.c
   * create_worker() allocates; it fails under memory pressure and is retried after CREATE_COOLDOWN):
   * 'succeeds', or 'may-fail' (a nondeterministic choice: a failure here stands for a pressure that
   * lasts past the end of the execution).
   */
  readonly kworker_create: 'succeeds' | 'may-fail';
  /**
   * An SVA-capable IOMMU is bound to a process (drivers/iommu/iommu-sva.c iommu_sva_bind_device(),
   * 26b25a2b98e4): on x86 it walks and caches the kernel part of the process page tables
   * (kernel.md §1.3), and only iommu_sva_invalidate_kva_range() clears those caches.
   */
  readonly sva: boolean;
  // x86 defaults and guests (issue #11)
  /**
   * Which mms have a global ASID on x86-invlpgb (flush_tlb_mm_range() then uses
   * broadcast_tlb_flush(), INVLPGB + TLBSYNC, instead of IPIs):
   *  'kernel'  as merged (Rik van Riel's INVLPGB series, v6.15; arch/x86/mm/tlb.c read at linux-mm
   *            1f617847): an mm starts with a per-CPU ASID (unless the scenario gives it
   *            `global_asid: true`, i.e. it was active on 4+ CPUs before the scenario starts);
   *            consider_global_asid() after an IPI flush assigns one once mm_active_cpus_exceeds(mm,
   *            3): the mm is loaded, not lazy, on 4 or more CPUs
   *  'always'  force: every user mm has a global ASID from the start (stands for a process active
   *            on 4+ CPUs of a larger machine than the scenario's)
   *  'never'   force: no mm gets one (consider_global_asid() finds no global ASID available, or
   *            the process never runs on 4 CPUs at once): always the IPI path
   */
  readonly x86_global_asid: 'kernel' | 'always' | 'never';

  // per-VMA locks (issue #11)
  /**
   * CONFIG_PER_VMA_LOCK (def_bool y with ARCH_SUPPORTS_PER_VMA_LOCK, MMU and SMP; x86-64 and arm64
   * select it): a page fault first tries lock_vma_under_rcu(), the VMA read lock, and falls back to
   * the mmap_lock when that fails (Suren Baghdasaryan's per-VMA lock series, merged in v6.4: "mm:
   * introduce lock_vma_under_rcu to be used from arch-specific code", "x86/mm: try VMA lock-based
   * page fault handling first", "arm64/mm: try VMA lock-based page fault handling first").
   *  true  as merged (v6.4 onwards)
   *  false before v6.4, or a kernel built without it: every fault takes the mmap_lock for read
   */
  readonly per_vma_lock: boolean;
  /**
   * munmap write-locks each VMA it removes (vms_gather_munmap_vmas() -> vma_start_write()) before
   * detaching it, so that no fault holds its read lock while its page tables are freed ("mm:
   * write-lock VMAs before removing them from VMA tree", per-VMA lock series, v6.4).
   *  true  as merged
   *  false counterfactual: the series without that patch (a fault that locked the VMA before the
   *        detach keeps walking tables munmap frees)
   */
  readonly munmap_vma_start_write: boolean;
  /**
   * Where collapse_huge_page() (mm/khugepaged.c) calls vma_start_write() under the mmap write lock:
   *  'before_check' before check_pmd_still_valid(): 366a4532d96f "mm: fix the race between collapse
   *                 and PT_RECLAIM under per-vma lock" (Barry Song, 5 Aug 2025, v6.17-rc hotfix;
   *                 Fixes: a6fde7add78d); mainline today
   *  'after_check'  after check_pmd_still_valid(): "mm/khugepaged: write-lock VMA while collapsing a
   *                 huge page" (Suren Baghdasaryan, per-VMA lock series, v6.4) until the fix; a
   *                 MADV_DONTNEED under the VMA lock can free the PTE table between the check and
   *                 the lock (Lai Yi's syzkaller report on next-20250801)
   *  'none'         no vma_start_write(): the series without that patch (with per_vma_lock, a fault
   *                 under the VMA lock populates the PMD collapse has cleared)
   */
  readonly collapse_vma_start_write: 'before_check' | 'after_check' | 'none';
  /**
   * The lock madvise(MADV_DONTNEED) takes (mm/madvise.c madvise_lock() / get_lock_mode()):
   *  'vma_read'  MADVISE_VMA_READ_LOCK: try_vma_read_lock() -> lock_vma_under_rcu(), falling back
   *              to mmap_read_lock() when it fails (a6fde7add78d "mm: use per_vma lock for
   *              MADV_DONTNEED", Barry Song, v4 June 2025, v6.17-rc1); needs per_vma_lock
   *  'mmap_read' the mmap_lock for read (every kernel before a6fde7add78d)
   */
  readonly madvise_dontneed_lock: 'vma_read' | 'mmap_read';
  // leaf TLB entries for data pages (issue #11)
  /**
   * When tlb_flush_mmu() frees the data pages zap_pte_range() queued (mm/mmu_gather.ts):
   *  'after_flush'  tlb_flush_mmu_tlbonly() then tlb_flush_mmu_free() (mm/mmu_gather.c, every
   *                 kernel: the split into the two halves is 1cf35d47712d, v3.15, Linus Torvalds,
   *                 Apr 2014; the order is older than git)
   *  'before_flush' the two swapped (deliberately broken, no kernel): pages go back to the
   *                 allocator while other CPUs' TLBs still map them
   */
  readonly tlb_free_pages: 'after_flush' | 'before_flush';
  /**
   * What tlb_finish_mmu() does when mm_tlb_flush_nested() (another thread of the mm is batching
   * PTE changes, mm->tlb_flush_pending > 1):
   *  'force_flush' flush everything: fullmm, __tlb_reset_range(), freed_tables (99baac21e458 "mm:
   *                fix MADV_[FREE|DONTNEED] TLB flush miss problem", Aug 2017, v4.13; the form as
   *                read in mm/mmu_gather.c comes from 7a30df49f63a, v5.2)
   *  'reset_range' __tlb_reset_range() then the caller's range again, without freed_tables (the
   *                form 7a30df49f63a "mm: mmu_gather: remove __tlb_reset_range() for force flush"
   *                fixed, v5.2): once munmap() zaps and frees tables under the mmap_lock held for
   *                read (dd2283f2605e, v4.20), a concurrent MADV_DONTNEED makes munmap's own flush
   *                forget its freed tables: a leaf-only TLBI on arm64, lazy CPUs skipped on x86
   *  'none'        flush only what this gather recorded (before 99baac21e458): a MADV_DONTNEED
   *                that found the PTEs already cleared by a concurrent one returns before that
   *                one's flush, with stale TLB entries for the range
   */
  readonly tlb_finish_nested: 'force_flush' | 'reset_range' | 'none';
  /**
   * How the KVM host's record_steal_time() (arch/x86/kvm/x86.c; arch/x86/kernel/kvm.ts) consumes
   * the guest's KVM_VCPU_FLUSH_TLB when it resumes a vCPU:
   *  'xchg'           xchg(&st->preempted, 0) on the guest's steal_time itself, atomic against the
   *                   guest's cmpxchg in kvm_flush_tlb_multi() (b043138246a4, CVE-2019-3016, v5.6)
   *  'copy_writeback' before b043138246a4: kvm_read_guest_cached() into a host copy, xchg on the
   *                   copy, kvm_write_guest_cached() of the whole copy: a flag the guest sets in
   *                   between is overwritten and the vCPU runs with a stale TLB
   */
  readonly kvm_steal_time_flush: 'xchg' | 'copy_writeback';
  // context switches and mm switching (issue #11)
  /**
   * How x86 switch_mm_irqs_off() maintains mm_cpumask when it switches from prev to next:
   *  'lazy'              mainline since 209954cbc7d0 ("x86/mm/tlb: Update mm_cpumask lazily", Rik
   *                      van Riel, Nov 2024): set the CPU in next's mask if not set yet, never clear
   *                      it from prev's; flush_tlb_func() clears it when an IPI finds another mm
   *                      loaded (arch/x86/mm/tlb.c @ 1f617847)
   *  'clear-after-cr3'   831d52bc1539 ("x86, mm: avoid possible bogus tlb entries by clearing prev
   *                      mm_cpumask after switching mm", 2012) up to 209954cbc7d0: set the CPU in
   *                      next's mask, load CR3, then clear it from prev's mask
   *  'clear-before-cr3'  before 831d52bc1539: clear the CPU from prev's mask, set it in next's,
   *                      then load CR3; prev stays loaded, and walkable, outside its mask
   */
  readonly x86_switch_mm_cpumask: 'lazy' | 'clear-after-cr3' | 'clear-before-cr3';
  /**
   * kthread_use_mm() / kthread_unuse_mm() (kernel/kthread.c):
   *  'off'        since 38cf307c1f20 ("mm: fix kthread_use_mm() vs TLB invalidate", v5.9): IRQs
   *               off across the ->active_mm/->mm update and switch_mm_irqs_off() / enter_lazy_tlb()
   *  'switch_mm'  before: ->active_mm updated with IRQs on, then switch_mm() (x86: IRQs off only
   *               inside it); enter_lazy_tlb() with IRQs on
   */
  readonly kthread_use_mm_irqs: 'off' | 'switch_mm';
  // file THP collapse and split/migration entries (issue #11)
  /**
   * The `freed_tables` argument x86's flush_tlb_range() passes to flush_tlb_mm_range()
   * (arch/x86/include/asm/tlbflush.h), which pmdp_collapse_flush() and pmdp_invalidate() use:
   *  - true:  since 3ef938c35035 "x86/mm: Fix flush_tlb_range() when used for zapping normal
   *           PMDs" (Jann Horn, posted 2025-01-03, Fixes: 016c4d92cd16; backported to the stable
   *           trees down to 5.4 in April 2025): a PMD-stride flush may
   *           remove a page table, so lazy CPUs are IPI'd too (native_flush_tlb_multi());
   *  - false: from 016c4d92cd16 "x86/mm/tlb: Add freed_tables argument to flush_tlb_mm_range"
   *           (v4.20) until 3ef938c35035: lazy CPUs are skipped (should_flush_tlb()), and their
   *           paging-structure caches keep the retracted table.
   * arm64's flush_tlb_range() is never leaf-only, whatever this says.
   */
  readonly x86_flush_tlb_range_freed_tables: boolean;
  // old mmu_gather forms (issue #11)
  /**
   * tlb_needs_table_invalidate() as the arch defines it, or forced false:
   *  true   the asm-generic default `(true)`: tlb_table_invalidate() calls tlb_flush_mmu_tlbonly()
   *         before a batch or a single table is freed (x86 and arm64; made the default by
   *         0ed1325967ab "mm/mmu_gather: invalidate TLB correctly on batch allocation failure and
   *         flush", v5.5, which replaced HAVE_RCU_TABLE_NO_INVALIDATE; x86 had opted in through
   *         HAVE_RCU_TABLE_INVALIDATE since d86564a2f085 "mm/tlb, x86/mm: Support invalidating TLB
   *         caches for RCU_TABLE_FREE", v4.19-rc1, Aug 2018)
   *  false  no invalidate before the free: right for powerpc hash and sparc64, whose hardware does
   *         not walk the Linux page tables (`radix_enabled()` / `(false)`); the bug on x86 with
   *         paravirt RCU_TABLE_FREE before d86564a2f085 (Jann Horn's report: the !*batch slow path
   *         freed a table the paging-structure caches still pointed to)
   */
  readonly table_invalidate: boolean;
  /**
   * The `if (atomic_read(&tlb->mm->mm_users) < 2) { __tlb_remove_table(table); return; }` shortcut
   * at the top of tlb_remove_table() (mm/memory.c, from 267239116987 "mm, powerpc: move the RCU
   * page-table freeing into generic code", v3.4):
   *  false  removed by "mm/tlb: Remove tlb_remove_table() non-concurrent condition" (Peter
   *         Zijlstra, posted 2018-08-22 as [PATCH 2/4], Cc stable, merged for v4.19-rc1): a CPU
   *         with only a lazy (mm_count) reference can still walk the tables speculatively
   *  true   every kernel with HAVE_RCU_TABLE_FREE from v3.4 to v4.18: with fewer than two users
   *         the table is freed at once, before the TLB flush
   */
  readonly mm_users_shortcut: boolean;
  /**
   * Whether pmd_free_pte_page() / pud_free_pmd_page() invalidate the kernel TLB and walk caches
   * between clearing the entry and freeing the table it linked:
   *  'flush'  x86 flush_tlb_kernel_range() (5e0fb5df2ee8 "x86/mm: Add TLB purge to free pmd/pte
   *           page interfaces", Toshi Kani, v4.19-rc1, Cc stable; posted 2018-04-30 / v4
   *           2018-06-27); arm64 __flush_tlb_kernel_pgtable() (ec28bb9c9b08 "arm64: Implement
   *           page table free interfaces", Chintan Pandya, v4.19-rc1, had it from the start)
   *  'none'   x86 between 28ee90fe6048 ("x86/mm: implement free pmd/pte page interfaces", v4.16,
   *           Mar 2018) and 5e0fb5df2ee8: the tables were freed with no purge of the
   *           paging-structure caches; never on arm64 (a deliberately broken variant there)
   */
  readonly kernel_pt_free_flush: 'flush' | 'none';
  // split and migration entries (issue #11)
  /**
   * Which PMDs __split_huge_pmd_locked() (mm/huge_memory.c) passes to pmdp_invalidate():
   *  - 'present_only': since 3a5a8d343e1c "mm: fix race between __split_huge_pmd_locked() and
   *                    GUP-fast" (Ryan Roberts, v6.10; v1 posted 25 Apr 2024 on v6.9-rc5): a PMD
   *                    migration entry is read and replaced under the PMD lock, only a present
   *                    THP is invalidated (and pmdp_invalidate() warns on a non-present PMD);
   *  - 'always':       from 84c3fc4e9c56 "mm: thp: check pmd migration entry in common path"
   *                    (v4.14) until 3a5a8d343e1c: pmdp_invalidate() first, whatever the PMD is,
   *                    then is_pmd_migration_entry() of the old value: pmd_mkinvalid() and a
   *                    flush on a migration entry.
   */
  readonly split_pmd_invalidate: 'present_only' | 'always';
  /**
   * arm64's pmd_mkinvalid() (arch/arm64/include/asm/pgtable.h), which matters only on arm64 and
   * only for a non-present PMD (split_pmd_invalidate: always):
   *  - 'valid_only': since e783331c7720 "arm64/mm: pmd_mkinvalid() must handle swap pmds" (Ryan
   *                  Roberts, v6.9, Cc stable): only a valid PMD becomes present-invalid; a swap
   *                  PMD is left as it is, as every other arch does;
   *  - 'always':     from 53fa117bb33c "arm64/mm: Enable THP migration" (Anshuman Khandual,
   *                  2020; the commit e783331c7720's Fixes: tag names; PMD_PRESENT_INVALID from
   *                  b65399f6111b of the same series) until e783331c7720: set PMD_PRESENT_INVALID
   *                  and clear PMD_SECT_VALID unconditionally, so pmd_present() is true for a
   *                  migration entry thereafter.
   */
  readonly arm64_pmd_mkinvalid: 'valid_only' | 'always';
}

export type KnobId = keyof KernelConfig;

/**
 * Defaults: the merged kernel (nothing of the v8 series), with CONFIG_PT_RECLAIM off,
 * as on an architecture with MMU_GATHER_RCU_TABLE_FREE and HAVE_ARCH_TLB_REMOVE_TABLE (PT_RECLAIM
 * is def_bool y otherwise, x86 and arm64 included): the configuration where the single-table
 * fallback's strategies differ. Scenarios set pt_reclaim (or the pt-reclaim preset) for the rest.
 */
export const DEFAULT_CONFIG: KernelConfig = {
  table_free: 'rcu',
  pt_reclaim: false,
  remove_table_one: 'sync_rcu',
  skip_sync_if_flush_implies_ipi: false,
  // 'false': mainline has no tlb_table_flush_implies_ipi_broadcast() (v8 adds it); inert while
  // skip_sync_if_flush_implies_ipi is false, and the presets that skip set 'v8' themselves.
  implies_ipi_broadcast: 'false',
  x86_freed_tables_ipi_lazy: true,
  batch_alloc: 'may-fail',
  max_table_batch: 8,
  gup_fast_pmd_recheck: true,
  fault_pmd_recheck: true,
  sync_targeted: 'off',
  sync_cpumask_alloc: 'succeeds',
  hugetlb_unshare: 'batched',
  unshare_sync: 'sync_one',
  x86_tlb_flush_unshared_tables: false,
  arm64_tlb_flush_unshared_tables: true,
  collapse_sync: 'sync_one',
  pt_reclaim_free: 'pte_free_tlb',
  kernel_pt_free: 'immediate',
  kernel_free_wq: 'system',
  kworker_create: 'succeeds',
  sva: false,
  // x86 defaults and guests (issue #11)
  x86_global_asid: 'kernel',
  // per-VMA locks (issue #11)
  per_vma_lock: true,
  munmap_vma_start_write: true,
  collapse_vma_start_write: 'before_check',
  madvise_dontneed_lock: 'vma_read',
  // leaf TLB entries for data pages (issue #11)
  tlb_free_pages: 'after_flush',
  tlb_finish_nested: 'force_flush',
  kvm_steal_time_flush: 'xchg',
  // context switches and mm switching (issue #11)
  x86_switch_mm_cpumask: 'lazy',
  kthread_use_mm_irqs: 'off',
  // file THP collapse and split/migration entries (issue #11)
  x86_flush_tlb_range_freed_tables: true,
  // old mmu_gather forms (issue #11)
  table_invalidate: true,
  mm_users_shortcut: false,
  kernel_pt_free_flush: 'flush',
  // split and migration entries (issue #11)
  split_pmd_invalidate: 'present_only',
  arm64_pmd_mkinvalid: 'valid_only',
};

/** The values each knob accepts, for validation and --help. */
export const KNOB_VALUES: { readonly [K in KnobId]: readonly (KernelConfig[K])[] | 'boolean' | 'positive-integer' } = {
  table_free: ['rcu', 'table', 'page'],
  pt_reclaim: 'boolean',
  remove_table_one: ['sync_one', 'synchronize_rcu', 'sync_rcu', 'none'],
  skip_sync_if_flush_implies_ipi: 'boolean',
  implies_ipi_broadcast: ['v8', 'v4-kvm-claims', 'false', 'always'],
  x86_freed_tables_ipi_lazy: 'boolean',
  batch_alloc: ['succeeds', 'fails', 'may-fail'],
  max_table_batch: 'positive-integer',
  gup_fast_pmd_recheck: 'boolean',
  fault_pmd_recheck: 'boolean',
  sync_targeted: ['off', 'rmb', 'mb'],
  sync_cpumask_alloc: ['succeeds', 'may-fail'],
  hugetlb_unshare: ['none', 'per_table_ipi', 'batched', 'batched_sync_after_unlock'],
  unshare_sync: ['sync_one', 'synchronize_rcu'],
  x86_tlb_flush_unshared_tables: 'boolean',
  arm64_tlb_flush_unshared_tables: 'boolean',
  collapse_sync: ['sync_one', 'sync_rcu', 'synchronize_rcu', 'none'],
  pt_reclaim_free: ['pte_free_tlb', 'immediate'],
  kernel_pt_free: ['immediate', 'async'],
  kernel_free_wq: ['system', 'mem_reclaim'],
  kworker_create: ['succeeds', 'may-fail'],
  sva: 'boolean',
  // x86 defaults and guests (issue #11)
  x86_global_asid: ['kernel', 'always', 'never'],
  // per-VMA locks (issue #11)
  per_vma_lock: 'boolean',
  munmap_vma_start_write: 'boolean',
  collapse_vma_start_write: ['before_check', 'after_check', 'none'],
  madvise_dontneed_lock: ['vma_read', 'mmap_read'],
  // leaf TLB entries for data pages (issue #11)
  tlb_free_pages: ['after_flush', 'before_flush'],
  tlb_finish_nested: ['force_flush', 'reset_range', 'none'],
  kvm_steal_time_flush: ['xchg', 'copy_writeback'],
  // context switches and mm switching (issue #11)
  x86_switch_mm_cpumask: ['lazy', 'clear-after-cr3', 'clear-before-cr3'],
  kthread_use_mm_irqs: ['off', 'switch_mm'],
  // file THP collapse and split/migration entries (issue #11)
  x86_flush_tlb_range_freed_tables: 'boolean',
  // old mmu_gather forms (issue #11)
  table_invalidate: 'boolean',
  mm_users_shortcut: 'boolean',
  kernel_pt_free_flush: ['flush', 'none'],
  // split and migration entries (issue #11)
  split_pmd_invalidate: ['present_only', 'always'],
  arm64_pmd_mkinvalid: ['valid_only', 'always'],
};
