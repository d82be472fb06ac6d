/**
 * Strategy hooks: a user's own code at the model's synchronisation points (issue #17).
 *
 * A strategy file (src/scenarios/strategy-file.ts loads it) may replace, with generator functions of its
 * own, the points where the strategies of this model differ:
 *
 *   tlb_remove_table_sync_one               the walker sync after a flush (IPI broadcast form)
 *   tlb_remove_table_sync_rcu               the walker sync after a flush (RCU form, 1fb3d8c20bfa)
 *   __tlb_remove_table_one                  the single-table fallback when the batch page fails
 *   tlb_table_flush_implies_ipi_broadcast   the arch's answer (v8 1/2), a plain function
 *   collapse_sync                           collapse_huge_page()'s walker sync after pmdp_collapse_flush()
 *   unshare_sync                            tlb_flush_unshared_tables()'s sync (8ce720d5bd91)
 *   pagetable_free_kernel                   the free of a kernel page table (the deferred free)
 *
 * A hook gets a HookApi: the same ops and kernel names the model uses (smp_call_function_many(),
 * synchronize_rcu(), call_rcu(), mm_cpumask(), per-CPU tlb state, ...), each a generator the hook
 * runs with `yield*`, so that every access to shared state is a step the checker sees. A hook
 * must be deterministic in the values its steps return and keep no state of its own between
 * calls (the op protocol, src/core/op.ts): state lives in the kernel.
 *
 * runHook() drives a hook and turns its misbehaviour into a ModelError that names the hook and its
 * file: an exception, a result that is not a generator, an API call it did not run (`api.x()`
 * without `yield*`: it returned without waiting), a table it neither freed nor handed on (a
 * leak), or more steps in one call than any sync needs (a loop that never ends).
 */
import { access, local, ModelError, type Op, type Proc } from '../core/index.js';
import type { ArchId, KernelConfig } from './config.js';
import { cpu_online_mask, type Ctx } from './kernel.js';
import { smp_call_function, smp_call_function_many_wait, type smp_call_func_t } from './kernel/smp.js';
import { call_rcu, synchronize_rcu } from './kernel/rcu/tree.js';
import { queue_work, system_wq } from './kernel/workqueue.js';
import { iommu_sva_invalidate_kva_range } from './drivers/iommu/iommu-sva.js';
import { pagetable_free } from './mm/page_alloc.js';
import { __pagetable_free_kernel_page } from './mm/kernel_pgtable.js';
import { asNumbers, cpuLoc, mmLoc } from './state.js';

/** What a hook may ask of the kernel. Every generator is one or more steps: run it with `yield*`. */
export interface HookApi {
  /** smp_processor_id(): the CPU the hook runs on. */
  readonly cpu: number;
  /** nr_cpu_ids */
  readonly nr_cpu_ids: number;
  readonly arch: ArchId;
  /** The kernel configuration the scenario resolved to (knobs, see `ptlab list knobs`). */
  readonly config: Readonly<KernelConfig>;
  /** cpu_online_mask: every CPU (the model does not hotplug). No step. */
  cpu_online_mask(): number[];
  /** tlb_table_flush_implies_ipi_broadcast(), the strategy's hook included. No step. */
  tlb_table_flush_implies_ipi_broadcast(): boolean;
  /** One step: READ_ONCE of mm_cpumask(mm) (x86 keeps it, lazily; arm64 leaves it empty). */
  mm_cpumask(mm: string): Proc<number[]>;
  /** One step: per_cpu(cpu_tlbstate.loaded_mm, cpu), null when the CPU runs init_mm. */
  loaded_mm(cpu: number): Proc<string | null>;
  /** One step: per_cpu(cpu_tlbstate_shared.is_lazy, cpu). */
  is_lazy(cpu: number): Proc<boolean>;
  /** One step: per_cpu(active_lockless_pt_walk_mm, cpu) (S3's variable; null unless a walker set it). */
  active_lockless_pt_walk_mm(cpu: number): Proc<string | null>;
  /**
   * smp_call_function_many(mask, tlb_remove_table_smp_sync, NULL, true): an empty IPI to the CPUs
   * of `mask` other than this one, and wait for each to run it. Returns the CPUs sent an IPI.
   */
  smp_call_function_many(mask: readonly number[]): Proc<number[]>;
  /** smp_call_function(tlb_remove_table_smp_sync, NULL, 1): the empty IPI to every other online CPU, waited for. */
  smp_call_function(): Proc<number[]>;
  /** synchronize_rcu(): might_sleep(), then wait for a grace period. */
  synchronize_rcu(): Proc<void>;
  /** call_rcu(): run `fn` after a grace period, in RCU callback context (another thread). */
  call_rcu(what: string, fn: (api: HookApi) => Proc<void>): Proc<void>;
  /** schedule_work() on system_wq: run `fn` later in a kworker. `name` must be unique per pending work. */
  schedule_work(name: string, fn: (api: HookApi) => Proc<void>): Proc<void>;
  /** The model's tlb_remove_table_sync_one() (the IPI broadcast, v8's skip included), not the hook's. */
  tlb_remove_table_sync_one(): Proc<void>;
  /** The model's tlb_remove_table_sync_rcu(), not the hook's. */
  tlb_remove_table_sync_rcu(): Proc<void>;
  /** __tlb_remove_table(): free a user page table now (pagetable_free()). */
  free_table(table: string): Proc<void>;
  /** __pagetable_free() of a kernel page table now. */
  free_kernel_table(table: string): Proc<void>;
  /** iommu_sva_invalidate_kva_range(): invalidate the SVA IOMMUs' caches of the kernel range. */
  iommu_sva_invalidate_kva_range(): Proc<void>;
  /** A step that does nothing but show `what` in traces. */
  comment(what: string): Proc<void>;
}

/** What each hook is called with, besides the API. `default()` runs the model's own code for the point. */
export interface HookArgs {
  tlb_remove_table_sync_one: { readonly mm: string | null };
  tlb_remove_table_sync_rcu: { readonly mm: string | null };
  __tlb_remove_table_one: { readonly table: string; readonly mm: string };
  collapse_sync: { readonly mm: string };
  unshare_sync: { readonly mm: string };
  pagetable_free_kernel: { readonly table: string };
}
export type HookName = keyof HookArgs;
export type HookContext<K extends HookName> = HookArgs[K] & { default(): Proc<void> };

/** What tlb_table_flush_implies_ipi_broadcast() may look at: it is a boot-time constant, no steps. */
export interface ArchInfo {
  readonly arch: ArchId;
  readonly config: Readonly<KernelConfig>;
  readonly nr_cpu_ids: number;
  /** The model's own answer (the arch's static key, or implies_ipi_broadcast). */
  readonly default: boolean;
}

/** Every hook a strategy file may define, in the order docs/strategies.md lists them. */
export const HOOK_NAMES = [
  'tlb_remove_table_sync_one',
  'tlb_remove_table_sync_rcu',
  '__tlb_remove_table_one',
  'tlb_table_flush_implies_ipi_broadcast',
  'collapse_sync',
  'unshare_sync',
  'pagetable_free_kernel',
] as const satisfies ReadonlyArray<HookName | 'tlb_table_flush_implies_ipi_broadcast'>;
/** The hooks that are plain functions (no steps), not generator functions. */
export const PLAIN_HOOKS: ReadonlySet<string> = new Set(['tlb_table_flush_implies_ipi_broadcast']);

export type StrategyHooks = {
  readonly [K in HookName]?: (api: HookApi, ctx: HookContext<K>) => Proc<void>;
} & {
  readonly tlb_table_flush_implies_ipi_broadcast?: (info: ArchInfo) => boolean;
};

/** The hooks of the kernel's strategy, and where they come from (for messages). */
export interface KernelHooks {
  readonly strategy: string;
  readonly file: string;
  readonly hooks: StrategyHooks;
}

/** Hooks that take a table and must free it or hand it on. */
const OWES_TABLE: ReadonlySet<HookName> = new Set(['__tlb_remove_table_one', 'pagetable_free_kernel']);
/** API calls without a step that one hook call may make: past this, a loop that never yields. */
const MAX_CALLS = 1_000_000;
/** Steps one hook call may take: far more than any sync of nr_cpus CPUs needs. */
function maxSteps(nr_cpus: number): number {
  return 10_000 + 64 * nr_cpus;
}

/** A hook's misbehaviour, reported as a model error that names the hook and its file. */
export class HookError extends ModelError {
  constructor(h: KernelHooks, hook: string, what: string) {
    super(`strategy '${h.strategy}' (${h.file}): hook ${hook}: ${what}`);
  }
}

/** tlb_remove_table_smp_sync(): the empty IPI handler the API's IPIs run. */
const hook_smp_sync: smp_call_func_t = {
  name: 'tlb_remove_table_smp_sync',
  irq: 'CAL',
  *run(_cur: Ctx): Proc<void> {
    yield* local({ fn: 'tlb_remove_table_smp_sync', desc: 'empty IPI handler' }, { cls: 'ipi_handler_empty' });
  },
};

/** One hook invocation's bookkeeping: API generators made and not run, the table it owes, calls. */
class Call {
  readonly unstarted = new Map<object, string>();
  settled = false;
  calls = 0;
  constructor(
    readonly h: KernelHooks,
    readonly hook: string,
    readonly owes: string | null,
  ) {}
  error(what: string): HookError {
    return new HookError(this.h, this.hook, what);
  }
  tick(): void {
    if (++this.calls > MAX_CALLS) throw this.error(`more than ${MAX_CALLS.toLocaleString('en-US')} API calls in one call without finishing: a loop that never ends?`);
  }
  /** Wrap an API generator so that one never run with `yield*` is noticed when the hook returns. */
  track<R>(name: string, make: () => Proc<R>): Proc<R> {
    this.tick();
    const token = {};
    this.unstarted.set(token, name);
    const unstarted = this.unstarted;
    return (function* (): Proc<R> {
      unstarted.delete(token);
      return yield* make();
    })();
  }
}

function checkCpu(c: Call, cur: Ctx, fn: string, cpu: unknown): number {
  if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= cur.k.nr_cpus) {
    throw c.error(`api.${fn}(${String(cpu)}): no such CPU (nr_cpu_ids = ${cur.k.nr_cpus})`);
  }
  return cpu;
}

function checkMm(c: Call, cur: Ctx, fn: string, mm: unknown): string {
  if (typeof mm !== 'string' || !cur.k.mms.has(mm)) throw c.error(`api.${fn}(${String(mm)}): no such mm (the scenario has: ${[...cur.k.mms.keys()].join(', ')})`);
  return mm;
}

function perCpuRead<T>(cur: Ctx, fn: string, desc: string, loc: string, note: (v: T) => string): Proc<T> {
  return access<T>({ fn, desc, reads: [loc], ordering: 'load', effect: ([v]) => ({ result: v as T, note: note(v as T) }) });
}

function hookApi(cur: Ctx, c: Call): HookApi {
  const fn = c.hook;
  const k = cur.k;
  const callback = (kind: string, what: string, body: (api: HookApi) => Proc<void>) => (cbcur: Ctx): Proc<void> =>
    driveHook(cbcur, new Call(c.h, `${c.hook} (${kind} ${what})`, c.owes), (api) => body(api));
  const settle = (table: string | null): void => {
    if (c.owes !== null && (table === null || table === c.owes)) c.settled = true;
  };
  return {
    cpu: cur.cpu,
    nr_cpu_ids: k.nr_cpus,
    arch: k.arch.id,
    config: k.config,
    cpu_online_mask: () => (c.tick(), [...cpu_online_mask(k)]),
    tlb_table_flush_implies_ipi_broadcast: () => (c.tick(), modelDefaults.implies_ipi_broadcast(cur)),
    mm_cpumask: (mm) =>
      c.track('mm_cpumask', () => {
        const m = checkMm(c, cur, 'mm_cpumask', mm);
        return access<number[]>({
          fn,
          desc: `READ_ONCE(mm_cpumask(${m}))`,
          reads: [mmLoc.cpumask(m)],
          ordering: 'load',
          effect: ([v]) => ({ result: [...asNumbers(v)], note: `mm_cpumask(${m}) = [${asNumbers(v).join(',')}]` }),
        });
      }),
    loaded_mm: (cpu) =>
      c.track('loaded_mm', () => {
        const n = checkCpu(c, cur, 'loaded_mm', cpu);
        return perCpuRead<string | null>(cur, fn, `per_cpu(cpu_tlbstate.loaded_mm, ${n})`, cpuLoc.loaded_mm(n), (v) => `CPU${n} runs ${v ?? 'init_mm'}`);
      }),
    is_lazy: (cpu) =>
      c.track('is_lazy', () => {
        const n = checkCpu(c, cur, 'is_lazy', cpu);
        return perCpuRead<boolean>(cur, fn, `per_cpu(cpu_tlbstate_shared.is_lazy, ${n})`, cpuLoc.is_lazy(n), (v) => (v ? `CPU${n} is lazy` : `CPU${n} is not lazy`));
      }),
    active_lockless_pt_walk_mm: (cpu) =>
      c.track('active_lockless_pt_walk_mm', () => {
        const n = checkCpu(c, cur, 'active_lockless_pt_walk_mm', cpu);
        return perCpuRead<string | null>(cur, fn, `READ_ONCE(per_cpu(active_lockless_pt_walk_mm, ${n}))`, cpuLoc.active_lockless_pt_walk_mm(n), (v) => (v === null ? 'not walking' : `walking ${v}`));
      }),
    smp_call_function_many: (mask) =>
      c.track('smp_call_function_many', () => {
        if (!Array.isArray(mask)) throw c.error(`api.smp_call_function_many(${String(mask)}): expected an array of CPU numbers`);
        const cpus = [...new Set(mask.map((x) => checkCpu(c, cur, 'smp_call_function_many', x)))].sort((a, b) => a - b);
        return smp_call_function_many_wait(cur, fn, cpus, hook_smp_sync);
      }),
    smp_call_function: () => c.track('smp_call_function', () => smp_call_function(cur, fn, hook_smp_sync, true)),
    synchronize_rcu: () => c.track('synchronize_rcu', () => synchronize_rcu(cur, fn)),
    call_rcu: (what, body) =>
      c.track('call_rcu', () => {
        if (typeof body !== 'function') throw c.error(`api.call_rcu('${what}', ...): the callback must be a generator function`);
        settle(null);
        return call_rcu(cur, String(what), callback('call_rcu', String(what), body), `${fn} callback`);
      }),
    schedule_work: (name, body) =>
      c.track('schedule_work', () => {
        if (typeof body !== 'function') throw c.error(`api.schedule_work('${name}', ...): the work function must be a generator function`);
        settle(null);
        return queueWork(cur, fn, String(name), callback('work', String(name), body));
      }),
    tlb_remove_table_sync_one: () => c.track('tlb_remove_table_sync_one', () => modelDefaults.sync_one(cur)),
    tlb_remove_table_sync_rcu: () => c.track('tlb_remove_table_sync_rcu', () => modelDefaults.sync_rcu(cur)),
    free_table: (table) =>
      c.track('free_table', () => {
        settle(String(table));
        return pagetable_free(cur, fn, String(table));
      }),
    free_kernel_table: (table) =>
      c.track('free_kernel_table', () => {
        settle(String(table));
        return __pagetable_free_kernel_page(cur, fn, String(table));
      }),
    iommu_sva_invalidate_kva_range: () => c.track('iommu_sva_invalidate_kva_range', () => iommu_sva_invalidate_kva_range(cur, fn)),
    comment: (what) => c.track('comment', () => local({ fn, desc: String(what) })),
  };
}

function* queueWork(cur: Ctx, caller: string, name: string, func: (cur: Ctx) => Proc<void>): Proc<void> {
  yield* queue_work(cur, caller, system_wq, { name, func });
}

/**
 * The model's tlb_remove_table_sync_one() and _rcu() without their hooks, and
 * tlb_table_flush_implies_ipi_broadcast(), which the API offers. Set by mm/mmu_gather.ts (which
 * imports this module), so that this module need not import it back.
 */
export const modelDefaults: {
  sync_one: (cur: Ctx) => Proc<void>;
  sync_rcu: (cur: Ctx) => Proc<void>;
  implies_ipi_broadcast: (cur: Ctx) => boolean;
} = {
  sync_one: notLoaded,
  sync_rcu: notLoaded,
  implies_ipi_broadcast: notLoaded,
};
function notLoaded(): never {
  throw new Error('mm/mmu_gather.ts not loaded');
}

function isGenerator(x: unknown): x is Proc<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { next?: unknown }).next === 'function' && typeof (x as { throw?: unknown }).throw === 'function';
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

/** Run one hook call (or a callback of one) as a process, turning misbehaviour into a HookError. */
function* driveHook(cur: Ctx, c: Call, start: (api: HookApi) => unknown): Proc<void> {
  const api = hookApi(cur, c);
  let it: unknown;
  try {
    it = start(api);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw c.error(`threw: ${describe(e)}`);
  }
  if (!isGenerator(it)) {
    const what = it instanceof Promise ? 'a Promise (hooks are generator functions, `*name(api, ctx) { ... }`, not async ones)' : `${it === undefined ? 'undefined' : typeof it} (hooks are generator functions: \`*name(api, ctx) { ... }\`)`;
    throw c.error(`returned ${what}`);
  }
  const limit = maxSteps(cur.k.nr_cpus);
  let steps = 0;
  let input: unknown = undefined;
  for (;;) {
    let r: IteratorResult<Op, unknown>;
    try {
      r = it.next(input);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw c.error(`threw: ${describe(e)}`);
    }
    if (r.done) break;
    if (++steps > limit) throw c.error(`took more than ${limit.toLocaleString('en-US')} steps in one call: a loop that never ends?`);
    input = yield r.value;
  }
  if (c.unstarted.size > 0) {
    const names = [...new Set(c.unstarted.values())];
    const call = (n: string): string => (n === 'default' ? 'ctx.default' : `api.${n}`);
    throw c.error(`returned without waiting: it called ${names.map((n) => `${call(n)}()`).join(', ')} without running ${names.length === 1 ? 'it' : 'them'} (write \`yield* ${call(names[0]!)}(...)\`)`);
  }
  if (c.owes !== null && !c.settled) {
    throw c.error(`returned without freeing ${c.owes} or handing it on (api.free_table(), api.free_kernel_table(), api.call_rcu(), api.schedule_work() or ctx.default()): the table would leak`);
  }
}

/**
 * Run the strategy's hook for `name` if it has one; else the model's own code (`dflt`). The hook's
 * `ctx.default()` runs `dflt` too, and counts as freeing the table for the hooks that owe one.
 */
export function runHook<K extends HookName>(cur: Ctx, name: K, args: HookArgs[K], dflt: () => Proc<void>): Proc<void> {
  const h = cur.k.hooks;
  const hook = h?.hooks[name];
  // Not a generator itself: without a hook the model's own process runs with no frame between
  // it and the engine (these are the checker's hot paths).
  if (!h || !hook) return dflt();
  const owes = OWES_TABLE.has(name) ? (args as { table: string }).table : null;
  const c = new Call(h, name, owes);
  const ctx = {
    ...args,
    default: () =>
      c.track('default', () => {
        c.settled = true;
        return dflt();
      }),
  };
  const call = hook as (api: HookApi, ctx: HookContext<K>) => unknown;
  return driveHook(cur, c, (api) => call(api, ctx));
}

/** tlb_table_flush_implies_ipi_broadcast(): the strategy's answer if it has the hook, else `dflt`. */
export function hookedImpliesIpiBroadcast(cur: Ctx, dflt: boolean): boolean {
  const h = cur.k.hooks;
  const hook = h?.hooks.tlb_table_flush_implies_ipi_broadcast;
  if (!h || !hook) return dflt;
  const c = new Call(h, 'tlb_table_flush_implies_ipi_broadcast', null);
  let v: unknown;
  try {
    v = hook({ arch: cur.k.arch.id, config: cur.k.config, nr_cpu_ids: cur.k.nr_cpus, default: dflt });
  } catch (e) {
    throw c.error(`threw: ${describe(e)}`);
  }
  if (typeof v !== 'boolean') throw c.error(`returned ${v === null ? 'null' : typeof v}, expected a boolean`);
  return v;
}
