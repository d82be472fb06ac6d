/**
 * mm/mmu_gather.c: batching of TLB invalidation and of page-table freeing.
 *
 * Semi-RCU freeing of page tables (the comment at the top of the kernel's
 * CONFIG_MMU_GATHER_RCU_TABLE_FREE section, paraphrased): software walkers such as GUP-fast
 * disable IRQs over the walk. Where the TLB flush is an IPI, unlinking, flushing and only then
 * freeing a table is enough, because the flush cannot complete while a walker has IRQs off. Where
 * it is not (hardware broadcast invalidation, paravirt flushes that skip preempted vCPUs), tables
 * are batched and freed after an RCU grace period, which IRQ-off regions also hold off. The batch
 * needs a page, allocated deep inside mm code with GFP_NOWAIT; when that fails, the table is freed
 * on its own through __tlb_remove_table_one(), which must then wait for walkers some other way:
 * that fallback is where the strategies of this model differ.
 *
 * Every function cites the kernel function it follows; see docs/model.md for the
 * simplifications.
 */
import { access, choose, local, type Proc, type Value } from '../../core/index.js';
import type { Ctx } from '../kernel.js';
import {
  __tlb_reset_range,
  new_mmu_gather,
  sync_skipped,
  tlb_flush_mmu_tlbonly,
  tlb_table_flush_implies_ipi_broadcast,
  type mmu_gather,
  type mmu_table_batch,
} from '../include/asm-generic/tlb.js';
import { smp_call_function, smp_call_function_many_wait, type smp_call_func_t } from '../kernel/smp.js';
import { call_rcu, synchronize_rcu } from '../kernel/rcu/tree.js';
import { __get_free_page_batch, free_pages_and_swap_cache, pagetable_free } from './page_alloc.js';
import { cpuLoc, mmLoc, asNumber } from '../state.js';
import { modelDefaults, runHook } from '../strategy-hooks.js';

/** tlb_remove_table_smp_sync(): "Simply deliver the interrupt". */
const tlb_remove_table_smp_sync: smp_call_func_t = {
  name: 'tlb_remove_table_smp_sync',
  irq: 'CAL',
  *run(_cur: Ctx): Proc<void> {
    yield* local({ fn: 'tlb_remove_table_smp_sync', desc: 'empty IPI handler' }, { cls: 'ipi_handler_empty' });
  },
};

/**
 * tlb_remove_table_sync_one(): broadcast an empty IPI to every other online CPU and wait. Not an
 * RCU grace period: enough for walkers that disable IRQs, not for rcu_read_lock()-only ones.
 * With v8 1/2 it returns early when the preceding flush already IPI'd every relevant CPU.
 * Without CONFIG_MMU_GATHER_RCU_TABLE_FREE it is an empty stub (the arch flush is the IPI).
 * A strategy file's hook of the same name replaces the body (model/strategy-hooks.ts); `mm` is
 * the caller's mm where it has one, for such a hook.
 */
export function* tlb_remove_table_sync_one(cur: Ctx, mm: string | null = null): Proc<void> {
  if (cur.k.config.table_free !== 'rcu') return;
  yield* runHook(cur, 'tlb_remove_table_sync_one', { mm }, () => tlb_remove_table_sync_one_body(cur));
}

function* tlb_remove_table_sync_one_body(cur: Ctx): Proc<void> {
  if (cur.k.config.skip_sync_if_flush_implies_ipi && tlb_table_flush_implies_ipi_broadcast(cur)) {
    yield* sync_skipped(cur, 'tlb_remove_table_sync_one');
    return;
  }
  yield* smp_call_function(cur, 'tlb_remove_table_sync_one', tlb_remove_table_smp_sync, true);
}

/**
 * tlb_remove_table_sync_mm(mm) (S3, v4 1/3, not merged): IPI only the CPUs whose
 * active_lockless_pt_walk_mm is `mm`, and wait. Allocates the cpumask with GFP_ATOMIC (on failure:
 * the broadcast); then a read barrier as posted ('rmb', nothing on x86) or a full barrier ('mb');
 * then scans every other online CPU's variable with plain loads. Pairs with GUP-fast's
 * this_cpu_write(); smp_mb(); in gup_fast().
 */
export function* tlb_remove_table_sync_mm(cur: Ctx, mm: string): Proc<void> {
  const { config } = cur.k;
  if (config.table_free !== 'rcu') return;
  if (config.skip_sync_if_flush_implies_ipi && tlb_table_flush_implies_ipi_broadcast(cur)) {
    yield* sync_skipped(cur, 'tlb_remove_table_sync_mm');
    return;
  }
  if (config.sync_cpumask_alloc === 'may-fail') {
    const failed = yield* choose({ fn: 'tlb_remove_table_sync_mm', desc: 'alloc_cpumask_var(GFP_ATOMIC)' }, 'gfp_atomic', ['allocated', 'failed']);
    if (failed === 1) {
      yield* smp_call_function(cur, 'tlb_remove_table_sync_mm', tlb_remove_table_smp_sync, true);
      return;
    }
  }
  if (config.sync_targeted === 'mb') yield* access({ fn: 'tlb_remove_table_sync_mm', desc: 'smp_mb()', ordering: 'full' });
  else yield* access({ fn: 'tlb_remove_table_sync_mm', desc: 'smp_rmb() (a compiler barrier on x86)', ordering: 'load' });
  const targets: number[] = [];
  for (let c = 0; c < cur.k.nr_cpus; c++) {
    if (c === cur.cpu) continue;
    const walking = yield* access<Value>({
      fn: 'tlb_remove_table_sync_mm',
      desc: `READ_ONCE(per_cpu(active_lockless_pt_walk_mm, ${c}))`,
      reads: [cpuLoc.active_lockless_pt_walk_mm(c)],
      ordering: 'load',
      effect: ([v]) => ({ result: v, note: v === null ? 'not walking' : `walking ${String(v)}` }),
    });
    if (walking === mm) targets.push(c);
  }
  if (targets.length > 0) yield* smp_call_function_many_wait(cur, 'tlb_remove_table_sync_mm', targets, tlb_remove_table_smp_sync);
}

/**
 * The walker sync of a path that knows its mm: S3's targeted IPIs when configured, else the
 * broadcast. A strategy file's tlb_remove_table_sync_one hook takes both forms' place.
 */
export function* tlb_remove_table_sync_one_mm(cur: Ctx, mm: string): Proc<void> {
  if (cur.k.config.sync_targeted !== 'off' && !cur.k.hooks?.hooks.tlb_remove_table_sync_one) yield* tlb_remove_table_sync_mm(cur, mm);
  else yield* tlb_remove_table_sync_one(cur, mm);
}

/**
 * tlb_remove_table_sync_rcu() (1fb3d8c20bfa): synchronize_rcu() with RCU table free, an empty
 * stub otherwise. Its kerneldoc: for code that must wait for walkers, not for freeing memory.
 * With v8 1/2 it returns early when tlb_table_flush_implies_ipi_broadcast(). A strategy file's
 * hook of the same name replaces the body.
 */
export function* tlb_remove_table_sync_rcu(cur: Ctx, mm: string | null = null): Proc<void> {
  if (cur.k.config.table_free !== 'rcu') return;
  yield* runHook(cur, 'tlb_remove_table_sync_rcu', { mm }, () => tlb_remove_table_sync_rcu_body(cur));
}

function* tlb_remove_table_sync_rcu_body(cur: Ctx): Proc<void> {
  if (cur.k.config.skip_sync_if_flush_implies_ipi && tlb_table_flush_implies_ipi_broadcast(cur)) {
    yield* sync_skipped(cur, 'tlb_remove_table_sync_rcu');
    return;
  }
  yield* synchronize_rcu(cur, 'tlb_remove_table_sync_rcu');
}

modelDefaults.sync_one = (cur) => (cur.k.config.table_free === 'rcu' ? tlb_remove_table_sync_one_body(cur) : noSteps());
modelDefaults.sync_rcu = (cur) => (cur.k.config.table_free === 'rcu' ? tlb_remove_table_sync_rcu_body(cur) : noSteps());
modelDefaults.implies_ipi_broadcast = tlb_table_flush_implies_ipi_broadcast;

function* noSteps(): Proc<void> {}

/** __tlb_remove_table(): the arch's final free of one table (pagetable_dtor_free()). */
function* __tlb_remove_table(cur: Ctx, table: string, caller: string): Proc<void> {
  yield* pagetable_free(cur, caller, table);
}

/** __tlb_remove_table_free(batch): free every table of the batch, then the batch page. */
function* __tlb_remove_table_free(cur: Ctx, batch: mmu_table_batch, caller: string): Proc<void> {
  for (const t of batch.tables) yield* __tlb_remove_table(cur, t, caller);
}

/**
 * tlb_remove_table_free(batch): with RCU table free, call_rcu(&batch->rcu, tlb_remove_table_rcu);
 * otherwise free at once (CONFIG_MMU_GATHER_TABLE_FREE without RCU).
 */
function* tlb_remove_table_free(cur: Ctx, batch: mmu_table_batch): Proc<void> {
  if (cur.k.config.table_free === 'rcu') {
    yield* call_rcu(cur, `batch[${batch.tables.join(',')}]`, (cb) => __tlb_remove_table_free(cb, batch, 'tlb_remove_table_rcu'), 'tlb_remove_table_rcu');
  } else {
    yield* __tlb_remove_table_free(cur, batch, 'tlb_remove_table_free');
  }
}

/**
 * tlb_needs_table_invalidate() (include/asm-generic/tlb.h; `(true)` unless the arch overrides it,
 * 0ed1325967ab): the arch's value, forced false by config.table_invalidate (powerpc hash and
 * sparc64 define it false; x86 before d86564a2f085 had no invalidate on this path at all).
 */
function tlb_needs_table_invalidate(cur: Ctx): boolean {
  return cur.k.arch.tlb_needs_table_invalidate && cur.k.config.table_invalidate;
}

/**
 * tlb_table_invalidate(): if tlb_needs_table_invalidate(), flush the TLB now ("invalidate
 * page-table caches used by hardware walkers; software walkers may still be in flight").
 */
function* tlb_table_invalidate(cur: Ctx, tlb: mmu_gather): Proc<void> {
  if (tlb_needs_table_invalidate(cur)) yield* tlb_flush_mmu_tlbonly(cur, tlb);
}

/**
 * The pre-v4.19 shortcut of tlb_remove_table() (mm/memory.c as of v4.18, removed by "mm/tlb:
 * Remove tlb_remove_table() non-concurrent condition", 2018-08-22):
 *     if (atomic_read(&tlb->mm->mm_users) < 2) { __tlb_remove_table(table); return; }
 * "When there's less then two users of this mm there cannot be a concurrent page-table walk."
 * It ignores mm_count: a CPU that holds the mm lazily can still walk it speculatively. Returns
 * true when it freed the table.
 */
function* tlb_remove_table_mm_users_shortcut(cur: Ctx, tlb: mmu_gather, table: string): Proc<boolean> {
  const users = yield* access<number>({
    fn: 'tlb_remove_table',
    desc: `atomic_read(&${tlb.mm}->mm_users) < 2`,
    reads: [mmLoc.mm_users(tlb.mm)],
    effect: ([n]) => ({ result: asNumber(n), note: `mm_users = ${asNumber(n)}` }),
  });
  if (users >= 2) return false;
  yield* __tlb_remove_table(cur, table, 'tlb_remove_table');
  return true;
}

/**
 * __tlb_remove_table_one(table): the single-table fallback.
 *  - CONFIG_PT_RECLAIM: call_rcu(&ptdesc->pt_rcu_head, __tlb_remove_table_one_rcu).
 *  - otherwise, per config.remove_table_one: tlb_remove_table_sync_one() (before 2026),
 *    synchronize_rcu() if RCU table free (1fb3d8c20bfa v1), tlb_remove_table_sync_rcu()
 *    (1fb3d8c20bfa as merged), or nothing (broken); then free.
 * A strategy file's hook of the same name replaces it, and must free the table or hand it on.
 */
function* __tlb_remove_table_one(cur: Ctx, table: string, mm: string): Proc<void> {
  yield* runHook(cur, '__tlb_remove_table_one', { table, mm }, () => __tlb_remove_table_one_body(cur, table, mm));
}

function* __tlb_remove_table_one_body(cur: Ctx, table: string, mm: string): Proc<void> {
  const { config } = cur.k;
  if (config.pt_reclaim) {
    yield* call_rcu(cur, `${table}->pt_rcu_head`, (cb) => __tlb_remove_table(cb, table, '__tlb_remove_table_one_rcu'), '__tlb_remove_table_one_rcu');
    return;
  }
  switch (config.remove_table_one) {
    case 'sync_one':
      yield* tlb_remove_table_sync_one_mm(cur, mm);
      break;
    case 'synchronize_rcu':
      if (config.table_free === 'rcu') yield* synchronize_rcu(cur, '__tlb_remove_table_one');
      break;
    case 'sync_rcu':
      yield* tlb_remove_table_sync_rcu(cur, mm);
      break;
    case 'none':
      break;
  }
  yield* __tlb_remove_table(cur, table, '__tlb_remove_table_one');
}

/** tlb_table_flush(): invalidate, then hand the batch to tlb_remove_table_free(). */
function* tlb_table_flush(cur: Ctx, tlb: mmu_gather): Proc<void> {
  if (cur.k.config.table_free === 'page') return;
  const batch = tlb.batch;
  if (batch) {
    yield* tlb_table_invalidate(cur, tlb);
    yield* tlb_remove_table_free(cur, batch);
    tlb.batch = null;
  }
}

/**
 * tlb_remove_table(tlb, table) (via tlb_remove_ptdesc() from the arch's __p*_free_tlb()): add the
 * table to the batch, allocating the batch page with GFP_NOWAIT first; if that fails, invalidate
 * and free this table alone. A full batch is flushed at once.
 * Without CONFIG_MMU_GATHER_TABLE_FREE the table goes with the data pages (tlb_remove_page()).
 */
export function* tlb_remove_table(cur: Ctx, tlb: mmu_gather, table: string): Proc<void> {
  const { config } = cur.k;
  if (config.table_free === 'page') {
    tlb.pages.push(table);
    return;
  }
  // old mmu_gather forms (issue #11): v3.4..v4.18 only.
  if (config.mm_users_shortcut && (yield* tlb_remove_table_mm_users_shortcut(cur, tlb, table))) return;
  if (tlb.batch === null) {
    const ok = yield* __get_free_page_batch(cur, 'tlb_remove_table');
    if (!ok) {
      yield* tlb_table_invalidate(cur, tlb);
      yield* __tlb_remove_table_one(cur, table, tlb.mm);
      return;
    }
    tlb.batch = { tables: [] };
  }
  tlb.batch.tables.push(table);
  if (tlb.batch.tables.length === config.max_table_batch) yield* tlb_table_flush(cur, tlb);
}

/**
 * tlb_batch_pages_flush() (mm/mmu_gather.c, read at 06d07429 (torvalds, ≈v6.10): a loop of
 * free_pages_and_swap_cache()): free the queued data pages, then (without
 * CONFIG_MMU_GATHER_TABLE_FREE) the page tables queued with them.
 */
function* tlb_batch_pages_flush(cur: Ctx, tlb: mmu_gather): Proc<void> {
  const data = tlb.data_pages.splice(0);
  // The free changes no state (data pages are names): its step exists only to be observed.
  if (data.length > 0 && cur.k.observe_data_page_free === true) yield* free_pages_and_swap_cache(cur, 'tlb_batch_pages_flush', tlb.mm, data);
  const pages = tlb.pages.splice(0);
  for (const t of pages) yield* pagetable_free(cur, 'tlb_batch_pages_flush', t);
}

/** tlb_flush_mmu_free(): tlb_table_flush() + free the gathered pages. */
function* tlb_flush_mmu_free(cur: Ctx, tlb: mmu_gather): Proc<void> {
  yield* tlb_table_flush(cur, tlb);
  yield* tlb_batch_pages_flush(cur, tlb);
}

/**
 * tlb_flush_mmu() (mm/mmu_gather.c, read at 06d07429): tlb_flush_mmu_tlbonly(), then
 * tlb_flush_mmu_free(): "1) unhook the page, 2) TLB invalidate the page, 3) free the page" (the
 * rule at the top of include/asm-generic/tlb.h). config.tlb_free_pages 'before_flush' swaps the two
 * calls (deliberately broken, no kernel): the data pages are freed while other CPUs' TLBs may still
 * map them (no-tlb-entry-to-freed-page).
 */
export function* tlb_flush_mmu(cur: Ctx, tlb: mmu_gather): Proc<void> {
  if (cur.k.config.tlb_free_pages === 'before_flush') {
    yield* tlb_flush_mmu_free(cur, tlb);
    yield* tlb_flush_mmu_tlbonly(cur, tlb);
    return;
  }
  yield* tlb_flush_mmu_tlbonly(cur, tlb);
  yield* tlb_flush_mmu_free(cur, tlb);
}

/**
 * tlb_flush_unshared_tables(tlb) (include/asm-generic/tlb.h, 8ce720d5bd91; here rather than in
 * include/asm-generic/tlb.ts because it calls tlb_remove_table_sync_one()): the caller must call it
 * before dropping the locks that keep previously shared PMD tables from being reused
 * (huge_pmd_unshare_flush(), mm/hugetlb.ts).
 *  1. if unshared_tables: tlb_flush_mmu_tlbonly(), the unsharer's TLB flush (on x86 it passes
 *     freed_tables || unshared_tables, so lazy CPUs are IPI'd; on arm64 it is a non-leaf TLBI);
 *  2. if fully_unshared_tables (a table became exclusive): tlb_remove_table_sync_one(), one
 *     broadcast for the whole batch (which v8 1/2 may skip), and clear the flag; with S3
 *     (sync_targeted) tlb_remove_table_sync_mm(tlb->mm), as v4 2/3 converted it; under S4
 *     (config.unshare_sync: synchronize_rcu) a grace period instead, with the locks held.
 * Without RCU table free the sync is an empty stub: the flush is then expected to have IPI'd.
 * A strategy file's unshare_sync hook replaces the sync of step 2.
 */
export function* tlb_flush_unshared_tables(cur: Ctx, tlb: mmu_gather): Proc<void> {
  if (tlb.unshared_tables) yield* tlb_flush_mmu_tlbonly(cur, tlb);
  if (tlb.fully_unshared_tables) {
    const mm = tlb.mm;
    yield* runHook(cur, 'unshare_sync', { mm }, () => tlb_unshare_sync(cur, mm));
    tlb.fully_unshared_tables = false;
  }
}

function* tlb_unshare_sync(cur: Ctx, mm: string): Proc<void> {
  if (cur.k.config.unshare_sync === 'synchronize_rcu') yield* synchronize_rcu(cur, 'tlb_flush_unshared_tables');
  // S3 v4 2/3 made this tlb_remove_table_sync_mm(tlb->mm): only the unsharer's walkers.
  else yield* tlb_remove_table_sync_one_mm(cur, mm);
}

/** __tlb_gather_mmu(): initialise and inc_tlb_flush_pending(mm). */
function* __tlb_gather_mmu(cur: Ctx, mm: string, fullmm: boolean): Proc<mmu_gather> {
  const tlb = new_mmu_gather(mm);
  tlb.fullmm = fullmm;
  __tlb_reset_range(tlb);
  yield* access({
    fn: fullmm ? 'tlb_gather_mmu_fullmm' : 'tlb_gather_mmu',
    desc: `inc_tlb_flush_pending(${mm})`,
    reads: [mmLoc.tlb_flush_pending(mm)],
    writes: [mmLoc.tlb_flush_pending(mm)],
    effect: ([n]) => ({ writes: [[mmLoc.tlb_flush_pending(mm), asNumber(n) + 1]] }),
  });
  return tlb;
}

/** tlb_gather_mmu(tlb, mm) */
export function tlb_gather_mmu(cur: Ctx, mm: string): Proc<mmu_gather> {
  return __tlb_gather_mmu(cur, mm, false);
}

/** tlb_gather_mmu_fullmm(tlb, mm): the whole mm is going away (exit/execve). */
export function tlb_gather_mmu_fullmm(cur: Ctx, mm: string): Proc<mmu_gather> {
  return __tlb_gather_mmu(cur, mm, true);
}

/**
 * tlb_finish_mmu(): warn if hugetlb left fully_unshared_tables set; if another thread is batching
 * flushes on the same mm (mm_tlb_flush_nested()), force a full flush with freed_tables (99baac21e458;
 * the fullmm/freed_tables form as read in mm/mmu_gather.c @06d07429858317ded2db7986113a9e0129cd599b);
 * then tlb_flush_mmu() and dec_tlb_flush_pending().
 */
export function* tlb_finish_mmu(cur: Ctx, tlb: mmu_gather): Proc<void> {
  const mm = tlb.mm;
  const nested = yield* access<boolean>({
    fn: 'tlb_finish_mmu',
    desc: 'mm_tlb_flush_nested()',
    reads: [mmLoc.tlb_flush_pending(mm)],
    effect: ([n]) => ({
      result: asNumber(n) > 1,
      events: tlb.fully_unshared_tables ? [{ type: 'warn', cpu: cur.cpu, fn: 'tlb_finish_mmu', what: 'VM_WARN_ON_ONCE(tlb->fully_unshared_tables)' }] : [],
    }),
  });
  // The deferral 8ce720d5bd91 forbids (config.hugetlb_unshare 'batched_sync_after_unlock'): the
  // unshare flush and sync happen here, after the caller dropped i_mmap_rwsem. The kernel has no
  // such call; its VM_WARN_ON_ONCE above is what catches a caller that left them to this point.
  if (cur.k.config.hugetlb_unshare === 'batched_sync_after_unlock') yield* tlb_flush_unshared_tables(cur, tlb);
  // config.tlb_finish_nested 'none': the kernel before 99baac21e458, which had no such check.
  // 'reset_range': the form 7a30df49f63a fixed. __tlb_reset_range() clears freed_tables and the
  // cleared_* bits; the kernel then re-adjusted the range to the caller's start..end, which made
  // tlb_flush_mmu_tlbonly() (then testing tlb->end) flush that range at the last level; the model,
  // whose tlb_flush_mmu_tlbonly() tests the bits, stands for the range with cleared_ptes.
  if (nested && cur.k.config.tlb_finish_nested === 'reset_range') {
    __tlb_reset_range(tlb);
    tlb.cleared_ptes = true;
  }
  if (nested && cur.k.config.tlb_finish_nested === 'force_flush') {
    tlb.fullmm = true;
    __tlb_reset_range(tlb);
    tlb.freed_tables = true;
  }
  yield* tlb_flush_mmu(cur, tlb);
  yield* access({
    fn: 'tlb_finish_mmu',
    desc: `dec_tlb_flush_pending(${mm})`,
    reads: [mmLoc.tlb_flush_pending(mm)],
    writes: [mmLoc.tlb_flush_pending(mm)],
    effect: ([n]) => ({ writes: [[mmLoc.tlb_flush_pending(mm), asNumber(n) - 1]] }),
  });
}
