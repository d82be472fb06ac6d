/**
 * The kernel's state at one step of an execution, named as state.ts names it, for the explorer's
 * state panel: page-table pages (owner, generation, freed or reused, entries), each CPU's IRQ,
 * preempt and RCU state, loaded mm and lazy flag, its TLB and walk-cache entries (stale ones
 * marked), the IOMMU's IOTLB, IPIs sent and not yet acked (call_single_data locked), grace
 * periods started and not ended. Everything else in the store is listed as it is (`other`), so
 * that nothing the model keeps is hidden.
 */
import type { DomainEvent, Loc, Value } from '../core/value.js';
import type { PageState, PtEntry, RcuState, TlbEntry } from './state.js';
import { iommuTlbLoc } from './drivers/iommu/iommu-sva.js';

export interface TableSnapshot {
  readonly id: string;
  readonly level: string | null;
  readonly owner: string | null;
  readonly gen: number;
  /** 'pgtable' in use; 'free' freed to the buddy allocator; 'data' reused for data. */
  readonly state: string;
  readonly freed: boolean;
  readonly reused: boolean;
  /** Entries by index, as text (`-> A.pte0 gen 1`, `maps A.p0.0`, `none`). */
  readonly entries: ReadonlyArray<{ readonly index: number; readonly text: string }>;
}

export interface TlbSnapshot {
  readonly mm: string;
  readonly level: string;
  readonly path: string;
  /** `-> table (gen g)` for a walk-cache entry, `maps pfn` for a leaf. */
  readonly text: string;
  /** Points at a table that is now freed, reused or of another generation. */
  readonly stale: boolean;
}

export interface CpuSnapshot {
  readonly cpu: number;
  readonly irqsOff: boolean;
  readonly preemptCount: number;
  readonly hardirq: boolean;
  readonly rcuReader: boolean;
  readonly rcuNesting: number;
  readonly rcuQs: number;
  readonly loadedMm: string | null;
  readonly lazy: boolean;
  readonly mode: string | null;
  readonly locksHeld: readonly string[];
  readonly tlb: readonly TlbSnapshot[];
}

export interface KernelSnapshot {
  readonly tables: readonly TableSnapshot[];
  readonly cpus: readonly CpuSnapshot[];
  readonly iommu: readonly TlbSnapshot[] | null;
  /** IPIs sent and not yet acked: sender -> target (a locked call_single_data). */
  readonly pendingIpis: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  /** Grace periods started and not yet ended, by name. */
  readonly gracePeriods: readonly string[];
  readonly freeList: readonly string[];
  readonly other: ReadonlyArray<readonly [Loc, string]>;
}

function entryText(e: PtEntry): string {
  if (e === null) return 'none';
  if ('table' in e) return `-> ${e.table} gen ${e.gen}`;
  if ('pfn' in e) return `maps ${e.pfn}${e.invalid ? ' (invalid)' : ''}`;
  return `migration ${e.migration}${e.invalid ? ' (invalid)' : ''}`;
}

function tlbOf(entries: readonly TlbEntry[], page: (id: string) => PageState | undefined): TlbSnapshot[] {
  return entries.map((t) => {
    const pg = t.table !== null ? page(t.table) : undefined;
    const stale = t.table !== null && (pg === undefined || pg.state !== 'pgtable' || pg.gen !== t.gen);
    return { mm: t.mm, level: t.level, path: t.path, text: t.table !== null ? `-> ${t.table} gen ${t.gen}` : `maps ${t.pfn}`, stale };
  });
}

/**
 * The snapshot of `store` (every location and its value, as Execution.snapshot() gives them) on a
 * machine of `cpus` CPUs, after the steps whose events are `events` (for the grace periods).
 */
export function kernelSnapshot(store: ReadonlyArray<readonly [Loc, Value]>, cpus: number, events: readonly DomainEvent[]): KernelSnapshot {
  const m = new Map(store);
  const used = new Set<Loc>();
  const get = (loc: Loc): Value | undefined => {
    used.add(loc);
    return m.get(loc);
  };
  const pages = new Map<string, PageState>();
  for (const [loc, v] of store) {
    if (loc.startsWith('page.') && v !== null && typeof v === 'object' && 'state' in v) pages.set(loc.slice(5), v as PageState);
  }
  const tables: TableSnapshot[] = [...pages.entries()].map(([id, pg]) => {
    get(`page.${id}`);
    const entries: Array<{ index: number; text: string }> = [];
    for (const [loc, v] of store) {
      if (!loc.startsWith(`pt.${id}.`)) continue;
      const index = Number(loc.slice(id.length + 4));
      if (!Number.isInteger(index)) continue;
      get(loc);
      entries.push({ index, text: entryText(v as PtEntry) });
    }
    entries.sort((a, b) => a.index - b.index);
    return { id, level: pg.level, owner: pg.owner, gen: pg.gen, state: pg.state, freed: pg.state === 'free', reused: pg.state === 'data', entries };
  });
  const cpuList: CpuSnapshot[] = Array.from({ length: cpus }, (_, c) => {
    const rcu = get(`cpu${c}.rcu`) as RcuState | undefined;
    const mm = get(`cpu${c}.loaded_mm`);
    const mode = get(`cpu${c}.mode`);
    return {
      cpu: c,
      irqsOff: get(`cpu${c}.irqs_off`) === true,
      preemptCount: Number(get(`cpu${c}.preempt_count`) ?? 0),
      hardirq: get(`cpu${c}.hardirq`) === true,
      rcuReader: rcu?.reader === true,
      rcuNesting: Number(get(`cpu${c}.rcu_read_lock_nesting`) ?? 0),
      rcuQs: rcu?.qs ?? 0,
      loadedMm: typeof mm === 'string' ? mm : null,
      lazy: get(`cpu${c}.is_lazy`) === true,
      mode: typeof mode === 'string' ? mode : null,
      locksHeld: ((get(`cpu${c}.locks_held`) as readonly string[] | undefined) ?? []).map(String),
      tlb: tlbOf((get(`cpu${c}.tlb`) as readonly TlbEntry[] | undefined) ?? [], (id) => pages.get(id)),
    };
  });
  const iotlb = get(iommuTlbLoc);
  const pendingIpis: Array<{ from: number; to: number }> = [];
  for (const [loc, v] of store) {
    const mm = /^csd\.(\d+)\.(\d+)$/.exec(loc);
    if (!mm) continue;
    used.add(loc);
    if (v !== null && v !== false) pendingIpis.push({ from: Number(mm[1]), to: Number(mm[2]) });
  }
  const open = new Map<string, true>();
  for (const ev of events) {
    if (ev.type === 'gp_start') open.set(String(ev.gp), true);
    else if (ev.type === 'gp_end') open.delete(String(ev.gp));
  }
  const freeList = ((get('buddy.free_list') as readonly string[] | undefined) ?? []).map(String);
  const other = store.filter(([loc]) => !used.has(loc) && !loc.startsWith('page.')).map(([loc, v]): readonly [Loc, string] => [loc, JSON.stringify(v)]);
  return {
    tables,
    cpus: cpuList,
    iommu: Array.isArray(iotlb) ? tlbOf(iotlb as readonly TlbEntry[], (id) => pages.get(id)) : null,
    pendingIpis,
    gracePeriods: [...open.keys()],
    freeList,
    other,
  };
}
