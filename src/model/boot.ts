/**
 * The state of the machine when a scenario starts: every CPU's per-CPU variables, every mm's page
 * tables (all generation 1), mm_cpumask(), the TLBs (warm: each CPU that has an mm loaded has
 * already walked all its present mappings), and KVM's steal-time flags.
 *
 * A VMA declared `mapped: false` has no page tables at boot (its PMD entries are none), and an mm
 * none of whose VMAs is mapped has only its PGD, with PGD[0] none: the PUD and PMD tables are
 * allocated by the first fault, as after free_pgtables() of the last VMA.
 */
import type { Loc, Value } from '../core/index.js';
import { pmd_slots, type Kernel } from './kernel.js';
import { RWSEM_UNLOCKED } from './kernel/locking/rwsem.js';
import { lockLoc } from './kernel/locking/spinlock.js';
import { page_table_lock, ptl } from './mm/memory.js';
import { hugetlb_boot } from './mm/hugetlb.js';
import { kernel_pt_boot, kptListLoc, KERNEL_PGTABLE_WORK } from './mm/kernel_pgtable.js';
import { workPendingLoc } from './kernel/workqueue.js';
import { dataPage, pgdTable, pmdTable, pteTable, pudTable } from './include/linux/pgtable.js';
import { initial_global_asid } from './arch/x86/mm/tlb.js';
import { cpuLoc, FOLIO_MAPPED, freeListLoc, mmLoc, nextPfnLoc, pageLoc, rcuLoc, ptLoc, rwsemTimedOutLoc, type Level, type PageState, type TlbEntry, VMA_UNLOCKED } from './state.js';

/** What runs on a CPU when the scenario starts. */
export interface CpuBoot {
  /** The mm whose page tables are loaded (current->mm for a user task; the borrowed mm when lazy). */
  readonly mm: string | null;
  /** A kthread or the idle task runs on a borrowed mm (x86 lazy TLB). */
  readonly lazy: boolean;
  readonly mode: 'user' | 'kernel' | 'idle';
  /** Walk caches and TLB start filled with the loaded mm's present mappings. */
  readonly warm_tlb: boolean;
}

/**
 * Locations whose initial value is implied rather than stored: the call_single_data lock of each
 * (source, target) pair of CPUs (a million pairs on 1024 CPUs) starts unlocked; every data folio
 * starts mapped with no extra reference (folio.<page>); every PMD table starts with no deposited
 * PTE table (pmd_huge_pte.<table>).
 */
export function bootInitial(k: Kernel): (loc: Loc) => Value | undefined {
  return (loc) => {
    if (loc.startsWith('folio.')) return FOLIO_MAPPED;
    if (loc.startsWith('pmd_huge_pte.')) return [];
    // per-VMA locks (issue #11): every VMA starts unlocked.
    if (loc.startsWith('vma.')) return VMA_UNLOCKED;
    // CONFIG_ASYNC_KERNEL_PGTABLE_FREE's list and work item start empty and idle.
    if (loc === kptListLoc) return [];
    if (loc === workPendingLoc(KERNEL_PGTABLE_WORK)) return false;
    const m = /^csd\.(\d+)\.(\d+)$/.exec(loc);
    if (!m) return undefined;
    const src = Number(m[1]);
    const dst = Number(m[2]);
    return src !== dst && src < k.nr_cpus && dst < k.nr_cpus ? null : undefined;
  };
}

export function boot(k: Kernel, cpus: readonly CpuBoot[]): Map<Loc, Value> {
  const s = new Map<Loc, Value>();
  const page = (id: string, owner: string, level: Level): void => {
    const st: PageState = { state: 'pgtable', gen: 1, owner, level };
    s.set(pageLoc(id), st);
  };
  const warm = new Map<string, TlbEntry[]>();

  for (const [name, mm] of k.mms) {
    const entries: TlbEntry[] = [];
    const slots = pmd_slots(mm);
    const mapped = mm.vmas.filter((v) => v.mapped !== false);
    page(pgdTable(name), name, 'pgd');
    s.set(lockLoc(page_table_lock(name)), null);
    if (mapped.length === 0) {
      s.set(ptLoc(pgdTable(name), 0), null);
    } else {
      page(pudTable(name), name, 'pud');
      page(pmdTable(name), name, 'pmd');
      s.set(ptLoc(pgdTable(name), 0), { table: pudTable(name), gen: 1 });
      s.set(ptLoc(pudTable(name), 0), { table: pmdTable(name), gen: 1 });
      entries.push({ mm: name, level: 'pgd', path: '0', table: pudTable(name), gen: 1, pfn: null });
      entries.push({ mm: name, level: 'pud', path: '0', table: pmdTable(name), gen: 1, pfn: null });
    }
    for (let slot = 0; slot < slots && mapped.length > 0; slot++) {
      if (!mapped.some((v) => slot >= v.start && slot < v.end)) {
        s.set(ptLoc(pmdTable(name), slot), null);
        continue;
      }
      const pte = pteTable(name, slot);
      page(pte, name, 'pte');
      s.set(lockLoc(ptl(pte)), null);
      s.set(ptLoc(pmdTable(name), slot), { table: pte, gen: 1 });
      entries.push({ mm: name, level: 'pmd', path: `${slot}`, table: pte, gen: 1, pfn: null });
      for (let i = 0; i < mm.ptes_per_table; i++) {
        s.set(ptLoc(pte, i), { pfn: dataPage(name, slot, i) });
        entries.push({ mm: name, level: 'pte', path: `${slot}.${i}`, table: null, gen: null, pfn: dataPage(name, slot, i) });
      }
    }
    warm.set(name, entries);
    // mm_cpumask(): x86 sets a CPU's bit in switch_mm_irqs_off(); arm64 has not touched it since
    // 38d96287504a ("arm64: mm: kill mm_cpumask usage", v4.10; a 2019 revert was not merged), so
    // there it stays empty (mm_init_cpumask()).
    s.set(mmLoc.cpumask(name), k.arch.id === 'arm64' ? [] : cpus.flatMap((c, i) => (c.mm === name ? [i] : [])));
    s.set(mmLoc.mmap_lock(name), RWSEM_UNLOCKED);
    s.set(rwsemTimedOutLoc(mmLoc.mmap_lock(name)), 0);
    s.set(mmLoc.tlb_flush_pending(name), 0);
    s.set(mmLoc.vmas(name), mapped.map((v) => v.name));
    // x86 defaults and guests (issue #11): the mm's global ASID, on an INVLPGB machine only.
    if (k.arch.id === 'x86-invlpgb') s.set(mmLoc.global_asid(name), initial_global_asid(k, name));
    // old mmu_gather forms (issue #11): a user per CPU running a thread of the mm; a lazy CPU
    // holds mm_count only (mmgrab() in enter_lazy_tlb's callers, kernel/sched/core.c).
    const users = cpus.filter((c) => c.mm === name && !c.lazy).length;
    const lazy = cpus.filter((c) => c.mm === name && c.lazy).length;
    s.set(mmLoc.mm_users(name), users);
    s.set(mmLoc.mm_count(name), (users > 0 ? 1 : 0) + lazy);
  }
  s.set(freeListLoc, []);
  s.set(nextPfnLoc, 0);
  // Tree RCU grace periods (issue #12): no grace period yet, none needed, no GP kthread.
  s.set(rcuLoc.gp_seq, 0);
  s.set(rcuLoc.gp_seq_needed, 0);
  s.set(rcuLoc.gp_kthread, false);
  // hugetlbfs mappings: PGD entry 1, their (shared) PMD tables and their warm entries.
  for (const [mm, entries] of hugetlb_boot(k, s)) warm.set(mm, [...(warm.get(mm) ?? []), ...entries]);
  // Kernel page tables (kernel_pt): every CPU with a warm TLB has touched the vmalloc range.
  const kernelWarm = kernel_pt_boot(k, s);

  cpus.forEach((c, i) => {
    if (c.mm !== null && !k.mms.has(c.mm)) throw new Error(`CPU${i} runs unknown mm '${c.mm}'`);
    s.set(cpuLoc.irqs_off(i), false);
    s.set(cpuLoc.preempt_count(i), 0);
    s.set(cpuLoc.hardirq(i), false);
    s.set(cpuLoc.locks_held(i), []);
    s.set(cpuLoc.rcu_nesting(i), 0);
    s.set(cpuLoc.rcu(i), { reader: false, qs: 0 });
    s.set(cpuLoc.rcu_gp_started(i), 0);
    s.set(cpuLoc.active_lockless_pt_walk_mm(i), null);
    s.set(cpuLoc.loaded_mm(i), c.mm ?? 'init_mm');
    s.set(cpuLoc.is_lazy(i), c.mm !== null && c.lazy);
    s.set(cpuLoc.mode(i), c.mode);
    s.set(cpuLoc.tlb(i), [...(c.mm !== null && c.warm_tlb ? (warm.get(c.mm) ?? []) : []), ...(c.warm_tlb ? kernelWarm : [])]);
    if (k.preemptible_vcpus.includes(i)) {
      s.set(cpuLoc.stopped(i), false);
      s.set(cpuLoc.steal_time(i), { preempted: false, flush: false });
    }
  });
  return s;
}
