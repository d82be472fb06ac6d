/**
 * The scenario file format, as a zod schema. Unknown keys are rejected everywhere. Steps are a
 * small tagged language (`- munmap: heap`, `- gup_fast: {slot: 0}`, `- idle`), validated here too.
 *
 * ```yaml
 * name: munmap-vs-gup-fast
 * expect:                      # expected verdict per invariant (holds | violated), deadlock: yes | no
 *   no-walk-of-freed-table: holds
 * machine: { arch: x86, cpus: 3 }
 * config: { preset: sync-rcu, batch_alloc: fails }
 * mm:
 *   A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
 * cpus:                        # one entry per CPU (or group: count: N), CPU0 first
 *   - { mm: A, run: [ { munmap: heap } ] }   # also: { mmap: heap }, { fault: { slot: 0 } }, { touch: heap }
 *   - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }
 *   - { run: [ idle ] }
 *   - { count: 56, cstate: auto }             # 56 idle CPUs (CPUs 3-58)
 * ```
 */
import { z } from 'zod';
import { ARCH_IDS, KNOB_VALUES, type KnobId } from '../model/config.js';
import { CALL_CONTEXTS, SYNC_FNS } from '../workloads/index.js';
import { didYouMean } from './suggest.js';

export const MAX_CPUS = 1024;

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, _)');

/**
 * Pages of an mm's address space a scenario may use: 2^16 (256 MB of 4 KB pages). The model keeps
 * each page's entries in its store, and a checker explores every page a walk or zap touches.
 */
export const MAX_PAGES = 1 << 16;

const vma = z.strictObject({
  name,
  start: z.int().min(0).max(MAX_PAGES - 1),
  end: z.int().min(1).max(MAX_PAGES),
  /** false: not mapped at boot (no page tables); a workload maps it with `mmap`. Default true. */
  mapped: z.boolean().optional(),
}).refine((v) => v.end > v.start, { message: 'end must be greater than start', path: ['end'] });

const mm = z.strictObject({
  vmas: z.array(vma).min(1),
  ptes_per_table: z.int().min(1).max(8).default(1),
  /**
   * x86-invlpgb: the mm already has a global ASID when the scenario starts (it was active on 4+
   * CPUs earlier). Default false, as for a new mm; consider_global_asid() may give it one later
   * (config x86_global_asid forces either way).
   */
  global_asid: z.boolean().default(false),
  /** A MAP_SHARED mapping of a whole hugetlbfs file (mm/hugetlb.ts): `{ name: shm, file: F }`. */
  hugetlb: z.strictObject({ name, file: name, mapped: z.boolean().default(true) }).optional(),
});

/** The longest duration a scenario or the command line may give: one hour, in ns (a simulation of it already takes hours). */
export const MAX_DURATION_NS = 3600e9;

/**
 * A duration: a number of nanoseconds, or a string with a unit (`500ns`, `1.5us`, `2ms`, `1s`),
 * at most MAX_DURATION_NS.
 */
export const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(\.\d+)?\s*(ns|us|µs|ms|s)$/, "expected a duration such as 500ns, 100us, 10ms or 1s"),
  ])
  .transform((v) => {
    if (typeof v === 'number') return Math.round(v);
    const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)$/.exec(v) as RegExpExecArray;
    const scale = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns'];
    return Math.round(Number(m[1]) * scale);
  })
  .refine((ns) => ns <= MAX_DURATION_NS, { message: 'expected a duration of at most 3600s' });

/** Steps that take arguments, by key: `- { munmap: heap }`, `- { gup_fast: { slot: 0 } }`. */
export const STEP_ARGS = {
  munmap: name,
  mmap: name,
  fault: z.strictObject({ slot: z.int().min(0), page: z.int().min(0).default(0) }),
  touch: name,
  gup_fast: z.strictObject({ slot: z.int().min(0), page: z.int().min(0).default(0), pages: z.int().min(1).default(1) }),
  pte_offset_map: z.strictObject({ slot: z.int().min(0), page: z.int().min(0).default(0) }),
  reuse_table: z.strictObject({ owner: name, entries: z.int().min(1).max(8).default(1) }),
  cyclictest: z.strictObject({ interval: duration }),
  call: z.strictObject({
    fn: z.enum(SYNC_FNS as [string, ...string[]], { error: () => `expected one of ${SYNC_FNS.join(', ')}` }),
    context: z.enum(CALL_CONTEXTS as [string, ...string[]], { error: () => `expected one of ${CALL_CONTEXTS.join(', ')}` }).default('task'),
  }),
  /** khugepaged / MADV_COLLAPSE of a 2 MiB slot; `mm` defaults to the CPU's mm. */
  collapse: z.strictObject({ slot: z.int().min(0), mm: name.optional() }),
  /** Split the THP of a 2 MiB slot of the CPU's mm: `- { split: 0 }`. */
  split: z.int().min(0),
  madvise_dontneed: name,
  gup_fast_hugetlb: z.strictObject({ table: z.int().min(0).default(0), page: z.int().min(0).default(0) }),
  hugetlb_reuse: z.strictObject({ table: z.int().min(0).default(0), page: z.int().min(0).default(0) }),
  // context switches (issue #11)
  /** Schedule to a task of an mm (`{ switch_to: B }`) or to a kernel thread (`{ switch_to: kthread }`). */
  switch_to: name,
  /** A kernel thread adopts an mm: `{ kthread_use_mm: A }` (kthread_unuse_mm is a bare step). */
  kthread_use_mm: name,
  // file THP collapse and split/migration entries (issue #11)
  /** khugepaged / MADV_COLLAPSE of the file pages behind a 2 MiB slot; `mm` defaults to the CPU's mm. */
  collapse_file: z.strictObject({ slot: z.int().min(0), mm: name.optional() }),
  // split and migration entries (issue #11)
  /** Migrate the THP of a 2 MiB slot of the CPU's mm, optionally splitting it meanwhile: `{ migrate_thp: { slot: 0, split: true } }`. */
  migrate_thp: z.strictObject({ slot: z.int().min(0), split: z.boolean().default(false) }),
} as const;

/** Steps written as a bare word: `- idle`. */
export const BARE_STEPS = ['idle', 'user', 'exit_mmap', 'vmap_huge', 'vmap_small', 'kthread_unuse_mm', 'vmap_huge_pud'] as const;

export const STEP_KINDS = ['munmap', 'mmap', 'fault', 'touch', 'exit_mmap', 'gup_fast', 'pte_offset_map', 'idle', 'user', 'reuse_table', 'cyclictest', 'call', 'collapse', 'split', 'madvise_dontneed', 'gup_fast_hugetlb', 'hugetlb_reuse', 'vmap_huge', 'vmap_small', 'switch_to', 'kthread_use_mm', 'kthread_unuse_mm', 'collapse_file', 'vmap_huge_pud', 'migrate_thp'] as const;

type StepArgs = { readonly [K in keyof typeof STEP_ARGS]: { readonly [P in K]: z.output<(typeof STEP_ARGS)[K]> } };
export type StepData = (typeof BARE_STEPS)[number] | StepArgs[keyof StepArgs];

/** A step: dispatched on its key so that errors speak about the step that was meant. */
export const stepSchema = z.unknown().transform((v, ctx): StepData => {
  const expected = `expected a step: one of ${STEP_KINDS.join(', ')} (e.g. 'idle', '{ munmap: heap }', '{ gup_fast: { slot: 0 } }')`;
  if (typeof v === 'string') {
    if ((BARE_STEPS as readonly string[]).includes(v)) return v as StepData;
    const hint = (STEP_KINDS as readonly string[]).includes(v) ? `step '${v}' takes arguments: { ${v}: ... }` : `unknown step '${v}'${didYouMean(v, STEP_KINDS)}; ${expected}`;
    ctx.addIssue({ code: 'custom', message: hint });
    return z.NEVER;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) {
    ctx.addIssue({ code: 'custom', message: expected });
    return z.NEVER;
  }
  const known = Object.keys(v).filter((k) => Object.hasOwn(STEP_ARGS, k));
  if (Object.keys(v).length > 1 && known.length === 1) {
    // `{ munmap: heap, extra: 1 }`: one step with stray keys beside it.
    ctx.addIssue({ code: 'unrecognized_keys', keys: Object.keys(v).filter((k) => k !== known[0]), input: v, message: 'a step has exactly one key' } as never);
    return z.NEVER;
  }
  if (Object.keys(v).length > 1) {
    ctx.addIssue({ code: 'custom', message: `a step has exactly one key; ${expected}` });
    return z.NEVER;
  }
  const [key, arg] = Object.entries(v)[0] as [string, unknown];
  if (!Object.hasOwn(STEP_ARGS, key)) {
    const hint = (BARE_STEPS as readonly string[]).includes(key) ? `step '${key}' takes no arguments: write it as '${key}'` : `unknown step '${key}'${didYouMean(key, STEP_KINDS)}; ${expected}`;
    ctx.addIssue({ code: 'custom', message: hint });
    return z.NEVER;
  }
  const r = STEP_ARGS[key as keyof typeof STEP_ARGS].safeParse(arg);
  if (!r.success) {
    for (const iss of r.error.issues) ctx.addIssue({ ...(iss as z.core.$ZodRawIssue), path: [key, ...iss.path] } as never);
    return z.NEVER;
  }
  return { [key]: r.data } as StepData;
});

const walk = z.strictObject({ slot: z.int().min(0), page: z.int().min(0).default(0), times: z.int().min(1).max(4).default(1) });

/**
 * The most CPUs one `count:` group may stand for (the limits of check and sim, and --max-cpus,
 * apply to the expanded machine when it is resolved).
 */
export const MAX_GROUP_COUNT = 1 << 16;

const cpu = z.strictObject({
  /**
   * A group of identical CPUs: `{ count: 56, cstate: auto }` stands for 56 lines, expanded in
   * order (the group's CPUs get consecutive numbers). Default 1.
   */
  count: z.int().min(1).max(MAX_GROUP_COUNT).default(1),
  mm: name.nullable().default(null),
  lazy: z.boolean().default(false),
  mode: z.enum(['user', 'kernel', 'idle']).optional(),
  tlb: z.enum(['warm', 'cold']).default('warm'),
  run: z.array(stepSchema).default([]),
  walks: z.array(walk).default([]),
  vcpu_preemptible: z.boolean().default(false),
  /** Run the steps this many times ('forever': until the simulation ends; the checker refuses it). */
  repeat: z.union([z.int().min(1).max(1_000_000), z.literal('forever')]).default(1),
  /**
   * The C-state this CPU sleeps in when idle (simulator: exit latency paid by a wakeup): pinned,
   * or `auto` (the default): the cpuidle governor chooses from the profile's idle-state table.
   */
  cstate: z.enum(['C0', 'C1', 'C1E', 'C6', 'auto']).optional(),
  /** cpuidle (issue #12): `idle: poll` is the idle=poll boot option: the CPU polls, no exit latency. */
  idle: z.enum(['poll']).optional(),
  /** cpuidle (issue #12): nohz_full: no tick while a single task runs (isolcpus=nohz,domain + nohz_full). */
  isolated: z.boolean().default(false),
});

function knobSchema(id: KnobId): z.ZodType {
  const v = KNOB_VALUES[id];
  if (v === 'boolean') return z.boolean();
  if (v === 'positive-integer') return z.int().min(1).max(512);
  return z.enum(v as unknown as [string, ...string[]]);
}

const knobs = Object.fromEntries((Object.keys(KNOB_VALUES) as KnobId[]).map((k) => [k, knobSchema(k).optional()]));

const config = z.strictObject({ preset: z.string().optional(), ...knobs });

/** Knob settings alone, as a strategy file's `knobs` gives them (src/scenarios/strategy-file.ts). */
export const knobSettings = z.strictObject(knobs);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  // Checked by resolve, which knows the invariants: holds | violated, and deadlock: yes | no.
  expect: z.record(z.string(), z.union([z.string(), z.boolean()])).default({}),
  machine: z.strictObject({
    arch: z.enum(ARCH_IDS as unknown as [string, ...string[]]),
    cpus: z.int().min(1).max(MAX_CPUS).optional(),
  }),
  config: config.default({}),
  mm: z.record(name, mm).default({}),
  /** hugetlbfs files: PMD tables of 1 GiB (the unit of sharing) and huge pages per table. */
  hugetlbfs: z.record(name, z.strictObject({ tables: z.int().min(1).max(4096), pages: z.int().min(1).max(8).default(1) })).optional(),
  /**
   * Kernel (init_mm) page tables: a PMD table linking a PTE table of `ptes` vmalloc pages
   * (mm/kernel_pgtable.ts); with config.sva, the SVA device's IOMMU does `iommu_walks` DMA walks of
   * the range, and its caches start holding the pointer to the PTE table when `iotlb: warm`.
   */
  kernel_pt: z.strictObject({
    ptes: z.int().min(1).max(8).default(1),
    iommu_walks: z.int().min(0).max(4).default(0),
    iotlb: z.enum(['warm', 'cold']).default('warm'),
    /** (issue #11) a kernel PUD table above the PMD table, for the step vmap_huge_pud. */
    pud: z.boolean().default(false),
  }).optional(),
  cpus: z.array(cpu).min(1).max(MAX_CPUS),
  sim: z.strictObject({
    profile: z.string().optional(),
    duration: duration.default(10_000_000),
    seed: z.int().min(0).max(0xffffffff).default(1),
    alloc_fail_rate: z.number().min(0).max(1).default(0),
    alloc_fail_burst: z.strictObject({ period: duration, length: duration, rate: z.number().min(0).max(1) }).optional(),
    vcpu_preempt_rate: z.number().min(0).max(1).default(0),
    /** Scale every step's duration by a seeded random factor in [1 - jitter, 1 + jitter]. */
    jitter: z.number().min(0).max(0.99).default(0),
    /** Rare long stalls: with probability `rate` a step takes `duration` × U(0.5, 1.5) longer. */
    stalls: z.strictObject({ rate: z.number().min(0).max(1), duration }).optional(),
    costs: z.record(z.string(), z.number().nonnegative()).default({}),
    strategies: z.array(z.string()).min(1).optional(),
    /**
     * Fixed work (issue #12): each workload CPU (a run list without cyclictest) with `repeat:
     * forever` does this many rounds of its run list (finite ones their own count), and the run
     * ends when all have; `compare` runs this way by default (100 rounds when unset). RT CPUs
     * (cyclictest) keep running until then.
     */
    work: z.int().min(1).max(1_000_000).optional(),
    /** The simulated-time limit of a fixed-work run (it stops there, saying the work is unfinished). */
    time_limit: duration.default(10_000_000_000),
  }).optional(),
  check: z.strictObject({
    invariants: z.union([z.literal('all'), z.array(z.string()).min(1)]).default('all'),
    max_steps: z.int().min(10).max(1_000_000).default(20_000),
    /** sc: sequential consistency; tso: x86-TSO store buffers (for barrier questions, e.g. S3). */
    memory_model: z.enum(['sc', 'tso']).default('sc'),
  }).default({ invariants: 'all', max_steps: 20_000, memory_model: 'sc' }),
});

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioData = z.output<typeof scenarioSchema>;
