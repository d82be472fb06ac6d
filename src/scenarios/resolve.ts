/**
 * Resolving a validated scenario into a runnable program: the booted kernel (configuration with
 * the preset and knobs applied), the initial state, one task per CPU, the hardware walkers and
 * the KVM host, and the invariants to check. The resolved configuration is returned too, so that
 * every result can echo exactly what ran.
 */
import type { Program, ThreadSpec } from '../core/index.js';
import { archOps } from '../model/arch/index.js';
import { boot, bootInitial, type CpuBoot } from '../model/boot.js';
import { DEFAULT_CONFIG, KNOB_VALUES, type ArchId, type KernelConfig, type KnobId } from '../model/config.js';
import type { Kernel, MmSpec } from '../model/kernel.js';
import { lockLoc } from '../model/kernel/locking/spinlock.js';
import { INVARIANT_IDS, invariantById } from '../invariants/index.js';
import { builtinStrategyIds, isStrategyPath, strategyById, strategyFileLoader, type Strategy } from '../strategies/index.js';
import { iommuWalkerThread } from '../model/hw/iommu.js';
import { describeStep, hwWalkerThread, kvmHostThread, taskThread, validateStep, type Step } from '../workloads/index.js';
import { formatIssue, loadScenario, parseScenario, ScenarioError, type ScenarioFile, type ScenarioIssue } from './loader.js';
import type { ScenarioData, StepData } from './schema.js';
import { didYouMean } from './suggest.js';

export type Verdict = 'holds' | 'violated';

export interface Expectation {
  readonly invariants: Readonly<Record<string, Verdict>>;
  /** Expected deadlock, or null when the scenario does not say. */
  readonly deadlock: boolean | null;
}

/** Everything that defines a run, as plain data (echoed in results). */
export interface ResolvedScenario {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly arch: ArchId;
  readonly cpus: number;
  readonly preset: string | null;
  readonly config: KernelConfig;
  readonly mm: Readonly<Record<string, MmSpec>>;
  readonly cpu: ReadonlyArray<{
    readonly cpu: number;
    readonly mm: string | null;
    readonly lazy: boolean;
    readonly mode: string;
    readonly tlb: string;
    readonly run: readonly string[];
    readonly repeat: number | 'forever';
    readonly cstate: string | null;
    readonly walks: ReadonlyArray<{ slot: number; page: number; times: number }>;
    readonly vcpu_preemptible: boolean;
    /** cpuidle (issue #12): 'poll' (idle=poll) or 'cpuidle'. */
    readonly idle: 'poll' | 'cpuidle';
    /** nohz_full: no tick while a single task runs; its RCU quiescent states come from dyntick-idle/user. */
    readonly isolated: boolean;
  }>;
  readonly invariants: readonly string[];
  readonly max_steps: number;
  readonly memory_model: 'sc' | 'tso';
}

export interface LoadedScenario {
  readonly file: ScenarioFile;
  readonly resolved: ResolvedScenario;
  readonly expect: Expectation;
  readonly kernel: Kernel;
  readonly program: Program;
  /** The scenario's `sim:` section (defaults applied), for the simulator. */
  readonly sim: ScenarioData['sim'];
  /** With Overrides.work: the thread ids of the workload CPUs' tasks (every run list without cyclictest). */
  readonly workThreads: readonly number[];
  /** The overrides it was resolved with. */
  readonly overrides: Overrides;
}

function toStep(raw: StepData, cpuMm: string | null): Step {
  if (raw === 'exit_mmap') return { kind: 'exit_mmap', mm: cpuMm ?? '' };
  if (typeof raw === 'string') return { kind: raw };
  if ('pte_offset_map' in raw) return { kind: 'pte_offset_map', ...raw.pte_offset_map };
  if ('munmap' in raw) return { kind: 'munmap', vma: raw.munmap };
  if ('mmap' in raw) return { kind: 'mmap', vma: raw.mmap };
  if ('fault' in raw) return { kind: 'fault', ...raw.fault };
  if ('touch' in raw) return { kind: 'touch', vma: raw.touch };
  if ('gup_fast' in raw) return { kind: 'gup_fast', ...raw.gup_fast };
  if ('reuse_table' in raw) return { kind: 'reuse_table', ...raw.reuse_table };
  if ('cyclictest' in raw) return { kind: 'cyclictest', interval: raw.cyclictest.interval };
  if ('collapse' in raw) return { kind: 'collapse', mm: raw.collapse.mm ?? cpuMm ?? '', slot: raw.collapse.slot };
  if ('split' in raw) return { kind: 'split', slot: raw.split };
  if ('madvise_dontneed' in raw) return { kind: 'madvise_dontneed', vma: raw.madvise_dontneed };
  if ('gup_fast_hugetlb' in raw) return { kind: 'gup_fast_hugetlb', ...raw.gup_fast_hugetlb };
  if ('hugetlb_reuse' in raw) return { kind: 'hugetlb_reuse', ...raw.hugetlb_reuse };
  if ('kthread_use_mm' in raw) return { kind: 'kthread_use_mm', mm: raw.kthread_use_mm };
  if ('switch_to' in raw) return { kind: 'switch_to', mm: raw.switch_to === 'kthread' ? null : raw.switch_to };
  if ('collapse_file' in raw) return { kind: 'collapse_file', mm: raw.collapse_file.mm ?? cpuMm ?? '', slot: raw.collapse_file.slot };
  if ('migrate_thp' in raw) return { kind: 'migrate_thp', ...raw.migrate_thp };
  return { kind: 'call', fn: raw.call.fn, context: raw.call.context } as Step;
}

function commOf(steps: readonly Step[], cpu: number): string {
  const first = steps.find((s) => s.kind !== 'idle' && s.kind !== 'user');
  if (!first) return `swapper/${cpu}`;
  if (first.kind === 'collapse' || first.kind === 'collapse_file') return 'khugepaged';
  return first.kind === 'call' ? first.fn : first.kind;
}

/** Command-line overrides of a scenario's configuration (`--preset`, `--set knob=value`). */
export interface Overrides {
  /**
   * What the program is for: the simulator marks workload operations and accepts
   * `repeat: forever`; the checker needs finite runs (default 'check').
   */
  readonly purpose?: 'check' | 'sim';
  readonly preset?: string;
  /**
   * Knob settings: `"knob=value"` strings (as `--set` takes them), an object `{ batch_alloc:
   * 'fails' }`, or a list of both (applied in order).
   */
  readonly set?: ReadonlyArray<string | KnobSettings> | KnobSettings;
  /**
   * Fixed work (simulator only): every workload CPU (a run list without cyclictest) with
   * `repeat: forever` runs its list this many times instead; LoadedScenario.workThreads names the
   * workload CPUs' tasks (finite ones included), the ones the run waits for.
   */
  readonly work?: number;
  /** Refuse scenarios with more CPUs than this (default MAX_CPUS for the purpose). */
  readonly maxCpus?: number;
  /** Steps an execution may take before it is an error (default: the scenario's check.max_steps). */
  readonly maxSteps?: number;
}

/**
 * The largest machines ptlab takes by default (`--max-cpus` raises them): the checker explores
 * every interleaving of the CPUs, exponential in their number (the catalog uses 2–4, the Spin
 * benchmark up to 9), and a simulation's cost grows with CPUs times events.
 */
export const MAX_CPUS = { check: 12, sim: 4096 } as const;

/** Knob settings as an object: `{ batch_alloc: 'fails', pt_reclaim: true }` (values as in a scenario's `config:`). */
export type KnobSettings = { readonly [K in KnobId]?: KernelConfig[K] | string };

/** One knob setting, or (`bad`) a malformed one. */
interface SetEntry {
  readonly key: string;
  readonly raw: string;
  readonly where: Omit<ScenarioIssue, 'message'>;
  readonly bad?: string;
}

/** The `k=v` strings of Overrides.set, or its object's entries, each with where to report it. */
function setEntries(sets: ReadonlyArray<string | KnobSettings> | KnobSettings, issues: ScenarioIssue[]): SetEntry[] {
  if (typeof sets !== 'object' || sets === null) {
    issues.push({ file: 'set', pos: null, path: '', message: `expected "knob=value" strings or an object of knob settings, got ${sets === null ? 'null' : typeof sets}` });
    return [];
  }
  if (!Array.isArray(sets)) {
    return Object.entries(sets).map(([key, v]) => ({ key, raw: typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v), where: { file: 'set', pos: null, path: key } }));
  }
  const out: SetEntry[] = [];
  for (const s of sets as readonly unknown[]) {
    if (typeof s === 'object' && s !== null && !Array.isArray(s)) {
      out.push(...setEntries(s as KnobSettings, issues));
      continue;
    }
    const where = { file: '--set', pos: null, path: String(s) } as const;
    const m = typeof s === 'string' ? /^([a-z_0-9]+)=(.*)$/.exec(s) : null;
    // A malformed one is reported in its place among the others.
    if (!m) out.push({ key: '', raw: '', where, bad: `expected KNOB=VALUE, got '${String(s)}'` });
    else out.push({ key: m[1] as string, raw: m[2] as string, where });
  }
  return out;
}

/** Parse knob overrides into typed knob values; problems are reported as issues. */
function parseSets(sets: ReadonlyArray<string | KnobSettings> | KnobSettings, issues: ScenarioIssue[]): Partial<KernelConfig> {
  const out: Record<string, unknown> = {};
  for (const { key, raw, where, bad } of setEntries(sets, issues)) {
    if (bad !== undefined) {
      issues.push({ ...where, message: bad });
      continue;
    }
    const kind = Object.hasOwn(KNOB_VALUES, key) ? (KNOB_VALUES as Record<string, unknown>)[key] : undefined;
    if (kind === undefined) {
      issues.push({ ...where, message: `unknown knob '${key}'${didYouMean(key, Object.keys(KNOB_VALUES))}; expected one of ${Object.keys(KNOB_VALUES).join(', ')}` });
    } else if (kind === 'boolean') {
      if (raw === 'true' || raw === 'false') out[key] = raw === 'true';
      else issues.push({ ...where, message: `${key} takes true or false, got '${raw}'` });
    } else if (kind === 'positive-integer') {
      const n = Number(raw);
      if (Number.isInteger(n) && n >= 1 && n <= 512) out[key] = n;
      else issues.push({ ...where, message: `${key} takes an integer in 1..512, got '${raw}'` });
    } else if ((kind as readonly string[]).includes(raw)) {
      out[key] = raw;
    } else {
      issues.push({ ...where, message: `${key} takes one of ${(kind as readonly string[]).join(', ')}, got '${raw}'` });
    }
  }
  return out as Partial<KernelConfig>;
}

/** Resolve a parsed scenario. Throws ScenarioError for every semantic problem found. */
export function resolveScenario(source: ScenarioFile, overrides: Overrides = {}): LoadedScenario {
  const issues: ScenarioIssue[] = [];
  const arch = source.data.machine.arch as ArchId;
  const total = source.data.cpus.reduce((n, c) => n + c.count, 0);
  const listed = `${total} CPU${total === 1 ? ' is' : 's are'} listed under 'cpus'${total !== source.data.cpus.length ? ` (in ${source.data.cpus.length} entries with their count)` : ''}`;
  if (source.data.machine.cpus !== undefined && source.data.machine.cpus !== total) {
    issues.push(source.issue(['machine', 'cpus'], `machine.cpus is ${source.data.machine.cpus} but ${listed}`));
  }
  const purpose = overrides.purpose ?? 'check';
  const maxCpus = overrides.maxCpus ?? MAX_CPUS[purpose];
  if (total > maxCpus) {
    const why = purpose === 'check' ? 'the checker explores every interleaving, exponential in the CPUs; use --random N, --estimate to see how big the check would be, or' : 'use';
    issues.push(source.issue(source.data.machine.cpus !== undefined ? ['machine', 'cpus'] : ['cpus'], `${total} CPUs is past the limit of ${maxCpus} for ${purpose} (${why} --max-cpus N to raise it)`));
  }
  // Past the limit the groups are not expanded (the other problems are still found, once per line).
  const file = total > maxCpus ? source : expandGroups(source);
  const d = file.data;

  // Configuration: defaults <- preset <- knobs <- command-line preset <- command-line knobs.
  const preset = overrides.preset ?? d.config.preset ?? null;
  let config: KernelConfig = { ...DEFAULT_CONFIG };
  let strategy: Strategy | undefined;
  if (preset !== null && isStrategyPath(preset)) {
    // A strategy file: relative to the scenario's folder when the scenario names it.
    const load = strategyFileLoader();
    const where = overrides.preset === undefined ? file.issue(['config', 'preset'], '') : { file: '--preset', pos: null, path: '', message: '' };
    if (!load) issues.push({ ...where, message: `'${preset}' names a strategy file, which only ptlab on Node (the command line or the library) can load` });
    else {
      try {
        strategy = load(preset, overrides.preset === undefined ? file.file : null);
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        // What has no place in the file (a missing file, one that will not load) is said where
        // the scenario or the command line names it.
        issues.push(...e.issues.map((i) => (i.pos === null ? { ...where, message: `strategy file ${i.file}: ${i.message}` } : i)));
      }
    }
    if (strategy) config = { ...config, ...strategy.knobs };
  } else if (preset !== null) {
    strategy = strategyById(preset);
    const ids = builtinStrategyIds();
    const why = `unknown preset '${preset}'${didYouMean(preset, ids)}; expected one of ${ids.join(', ')}, or the path of a strategy file`;
    if (!strategy && overrides.preset !== undefined) issues.push({ file: '--preset', pos: null, path: '', message: why });
    else if (!strategy) issues.push(file.issue(['config', 'preset'], why));
    else config = { ...config, ...strategy.knobs };
  }
  for (const [key, value] of Object.entries(d.config)) {
    if (key === 'preset' || value === undefined) continue;
    // A command-line preset replaces the scenario's preset and the knobs it sets.
    if (overrides.preset !== undefined && strategy?.knobs[key as KnobId] !== undefined) continue;
    config = { ...config, [key as KnobId]: value } as KernelConfig;
  }
  config = { ...config, ...parseSets(overrides.set ?? [], issues) };
  if (config.pt_reclaim && config.table_free !== 'rcu') {
    issues.push(file.issue(['config'], `pt_reclaim needs table_free: rcu (CONFIG_PT_RECLAIM depends on CONFIG_MMU_GATHER_RCU_TABLE_FREE); table_free is ${config.table_free}`));
  }

  // Address spaces.
  const mms = new Map<string, MmSpec>();
  for (const [name, m] of Object.entries(d.mm)) {
    const seen = new Set<string>();
    m.vmas.forEach((v, i) => {
      if (seen.has(v.name)) issues.push(file.issue(['mm', name, 'vmas', i, 'name'], `VMA name '${v.name}' is used twice in mm ${name}`));
      seen.add(v.name);
      for (const w of m.vmas.slice(0, i)) {
        if (v.start < w.end && w.start < v.end) issues.push(file.issue(['mm', name, 'vmas', i], `VMA ${v.name} [${v.start}, ${v.end}) overlaps ${w.name} [${w.start}, ${w.end})`));
      }
    });
    const h = m.hugetlb;
    if (h && !Object.hasOwn(d.hugetlbfs ?? {}, h.file)) issues.push(file.issue(['mm', name, 'hugetlb', 'file'], `unknown hugetlbfs file '${h.file}'; the scenario defines: ${Object.keys(d.hugetlbfs ?? {}).join(', ') || 'none'}`));
    if (h && seen.has(h.name)) issues.push(file.issue(['mm', name, 'hugetlb', 'name'], `VMA name '${h.name}' is used twice in mm ${name}`));
    mms.set(name, { name, vmas: m.vmas, ptes_per_table: m.ptes_per_table, global_asid: m.global_asid, ...(h ? { hugetlb: h } : {}) });
  }
  const hugetlbfs = new Map(Object.entries(d.hugetlbfs ?? {}).map(([name, f]) => [name, { name, tables: f.tables, pages: f.pages }]));

  const preemptible = d.cpus.flatMap((c, i) => (c.vcpu_preemptible ? [i] : []));
  // A CPU that switches to a task of an mm during the run can have it loaded too.
  const switchesToMm = (c: (typeof d.cpus)[number]): boolean => c.run.some((r) => typeof r === 'object' && (('switch_to' in r && r.switch_to !== 'kthread') || 'kthread_use_mm' in r));
  const userMmCpus = d.cpus.flatMap((c, i) => (c.mm !== null || switchesToMm(c) ? [i] : []));
  const kernel: Kernel = { arch: archOps(arch), config, nr_cpus: d.cpus.length, mms, preemptible_vcpus: preemptible, user_mm_cpus: userMmCpus, mark_operations: purpose === 'sim', rcu_tree_gp: purpose === 'sim', fifo_locks: purpose === 'sim', observe_zap_return: checks(d.check.invariants, 'no-stale-tlb-after-zap'), observe_data_page_free: checks(d.check.invariants, 'no-tlb-entry-to-freed-page'), hugetlbfs, ...(strategy?.hooks && Object.keys(strategy.hooks).length > 0 ? { hooks: { strategy: strategy.id, file: strategy.file ?? preset ?? '', hooks: strategy.hooks } } : {}), ...(d.kernel_pt ? { kernel_pt: { ptes: d.kernel_pt.ptes, iommu_walks: d.kernel_pt.iommu_walks, iotlb_warm: d.kernel_pt.iotlb === 'warm', pud: d.kernel_pt.pud } } : {}) };

  // CPUs.
  const threads: ThreadSpec[] = [];
  const workThreads: number[] = [];
  const cpuBoot: CpuBoot[] = [];
  const resolvedCpus: Array<ResolvedScenario['cpu'][number]> = [];
  let usesDemoLock = false;
  d.cpus.forEach((c, i) => {
    const at = ['cpus', i];
    if (c.mm !== null && !mms.has(c.mm)) issues.push(file.issue([...at, 'mm'], `unknown mm '${c.mm}'; the scenario defines: ${[...mms.keys()].join(', ') || 'none'}`));
    if (c.lazy && c.mm === null) issues.push(file.issue([...at, 'lazy'], 'a lazy CPU borrows an mm: set mm too'));
    if (c.vcpu_preemptible && arch !== 'x86-kvm' && arch !== 'x86-kvm-nopv') issues.push(file.issue([...at, 'vcpu_preemptible'], `only an x86-kvm or x86-kvm-nopv guest has vCPUs the host can preempt (arch is ${arch})`));
    const steps = c.run.map((r) => toStep(r, c.mm));
    const taskMm = c.lazy ? null : c.mm;
    // current->mm as the run list goes: a switch_to changes it for the steps after it.
    let stepMm = taskMm;
    const loadable = new Set(c.mm !== null ? [c.mm] : []);
    // After a switch to an mm the scenario does not have (reported at that step), the steps that
    // follow are not checked: they would be checked against an mm that does not exist.
    let unknownMm = false;
    steps.forEach((s, j) => {
      if ((c.mm !== null && !mms.has(c.mm)) || unknownMm) return;
      const msg = validateStep(kernel, stepMm, s);
      if (s.kind === 'switch_to' || s.kind === 'kthread_use_mm') {
        stepMm = s.mm;
        if (s.mm !== null && !mms.has(s.mm)) unknownMm = true;
        else if (s.mm !== null) loadable.add(s.mm);
      }
      if (s.kind === 'kthread_unuse_mm') stepMm = null;
      if (msg) issues.push(file.issue([...at, 'run', j], msg));
      if (s.kind === 'call' && s.context === 'spinlock') usesDemoLock = true;
    });
    c.walks.forEach((w, j) => {
      if (loadable.size === 0) issues.push(file.issue([...at, 'walks', j], 'hardware walks need a loaded mm: set mm, or switch_to one in the run list'));
      // The walk's address must be inside a VMA of some mm the CPU can have loaded.
      const ms = [...loadable].flatMap((n) => mms.get(n) ?? []);
      if (ms.length > 0 && !ms.some((m) => m.vmas.some((v) => w.slot >= v.start && w.slot < v.end))) issues.push(file.issue([...at, 'walks', j, 'slot'], `slot ${w.slot} is not inside a VMA of ${[...loadable].join(' or ')}`));
      if (ms.length > 0 && ms.every((m) => w.page >= m.ptes_per_table)) issues.push(file.issue([...at, 'walks', j, 'page'], `page ${w.page} is beyond ptes_per_table ${Math.max(...ms.map((m) => m.ptes_per_table))}`));
    });
    const mode = c.mode ?? (steps.length === 0 || steps[0]?.kind === 'idle' ? 'idle' : 'kernel');
    cpuBoot.push({ mm: c.mm, lazy: c.lazy, mode, warm_tlb: c.tlb === 'warm' });
    if (c.repeat === 'forever' && purpose === 'check') {
      issues.push(file.issue([...at, 'repeat'], "repeat: forever runs until the simulation stops; the checker needs a finite count"));
    }
    // Fixed work: a CPU's task is work unless it runs cyclictest (an RT CPU: it measures, it
    // keeps running). A forever loop becomes `work` rounds; a finite run list keeps its count.
    const isWork = overrides.work !== undefined && purpose === 'sim' && steps.length > 0 && !steps.some((s) => s.kind === 'cyclictest');
    const fixedWork = isWork && c.repeat === 'forever';
    const times = fixedWork ? (overrides.work as number) : c.repeat === 'forever' ? Number.POSITIVE_INFINITY : c.repeat;
    if (isWork) workThreads.push(threads.length);
    if (steps.length > 0) threads.push(taskThread(kernel, i, commOf(steps, i), taskMm, steps, times));
    for (const w of c.walks) threads.push(hwWalkerThread(kernel, i, w.slot, w.page, w.times));
    if (c.vcpu_preemptible) threads.push(kvmHostThread(kernel, i));
    resolvedCpus.push({ cpu: i, mm: c.mm, lazy: c.lazy, mode, tlb: c.tlb, run: steps.map(describeStep), repeat: fixedWork ? (overrides.work as number) : c.repeat, cstate: c.cstate && c.cstate !== 'auto' ? c.cstate : null, walks: c.walks, vcpu_preemptible: c.vcpu_preemptible, idle: c.idle ?? 'cpuidle', isolated: c.isolated });
    if (c.idle === 'poll' && c.cstate !== undefined && c.cstate !== 'auto') issues.push(file.issue([...at, 'idle'], `idle: poll never enters a C-state; drop cstate: ${c.cstate}`));
  });

  // The SVA device's DMA walks of the kernel range (hw/iommu.ts).
  if (d.kernel_pt && d.kernel_pt.iommu_walks > 0) {
    if (!config.sva) issues.push(file.issue(['kernel_pt', 'iommu_walks'], 'IOMMU DMA walks need an SVA-bound IOMMU: set config.sva: true'));
    else threads.push(iommuWalkerThread(kernel, 0, d.kernel_pt.iommu_walks));
  }

  // The kernel range (kernel_pt) is one vmalloc area: the kernel's allocator gives each vmap its
  // own range, so two CPUs never map and unmap the same one at once. One CPU may churn it.
  const VMAP_STEPS: readonly string[] = ['vmap_huge', 'vmap_small', 'vmap_huge_pud'];
  const vmapCpus = d.cpus.flatMap((c, i) => {
    const j = c.run.findIndex((r) => typeof r === 'string' && VMAP_STEPS.includes(r));
    return j >= 0 ? [{ cpu: i, step: j }] : [];
  });
  for (const v of vmapCpus.slice(1)) {
    issues.push(file.issue(['cpus', v.cpu, 'run', v.step], `CPU${(vmapCpus[0] as { cpu: number }).cpu} already maps the kernel range; the kernel's vmalloc allocator gives each mapping a range of its own, so only one CPU may run vmap steps`));
  }

  // mmap/munmap order on each CPU: mapping a VMA that is mapped, or unmapping one that is not, is
  // a model error at run time; say so now when no other CPU could have changed the VMA before.
  const stepsOf = d.cpus.map((c) => (c.mm !== null && mms.has(c.mm) ? c.run.map((r) => toStep(r, c.mm)) : []));
  d.cpus.forEach((c, i) => {
    const m = c.mm !== null ? mms.get(c.mm) : undefined;
    if (!m || c.lazy) return;
    const others = (kind: 'mmap' | 'munmap', vma: string): boolean =>
      d.cpus.some((o, j) => j !== i && o.mm === c.mm && (stepsOf[j] ?? []).some((s) => s.kind === kind && s.vma === vma));
    const mapped = new Set(m.vmas.filter((v) => v.mapped !== false).map((v) => v.name));
    (stepsOf[i] ?? []).forEach((s, j) => {
      if ((s.kind !== 'mmap' && s.kind !== 'munmap') || !m.vmas.some((v) => v.name === s.vma)) return;
      if (s.kind === 'mmap' && mapped.has(s.vma) && !others('munmap', s.vma)) {
        issues.push(file.issue(['cpus', i, 'run', j], `mmap: VMA ${s.vma} of ${m.name} is already mapped here (munmap it first, or declare it 'mapped: false')`));
      }
      if (s.kind === 'munmap' && !mapped.has(s.vma) && !others('mmap', s.vma)) {
        issues.push(file.issue(['cpus', i, 'run', j], `munmap: VMA ${s.vma} of ${m.name} is not mapped here (it is 'mapped: false' or already unmapped)`));
      }
      if (s.kind === 'mmap') mapped.add(s.vma);
      else mapped.delete(s.vma);
    });
  });

  // Invariants and expectations.
  const invariants = d.check.invariants === 'all' ? [...INVARIANT_IDS] : d.check.invariants;
  invariants.forEach((id, j) => {
    if (!invariantById(id)) issues.push(file.issue(['check', 'invariants', j], `unknown invariant '${id}'${didYouMean(id, INVARIANT_IDS)}; expected one of ${INVARIANT_IDS.join(', ')}`));
  });
  const expInv: Record<string, Verdict> = {};
  let deadlock: boolean | null = null;
  for (const [key, value] of Object.entries(d.expect)) {
    if (key === 'deadlock') {
      if (value !== 'yes' && value !== 'no') issues.push(file.issue(['expect', 'deadlock'], `expected yes or no, got '${String(value)}'`));
      else deadlock = value === 'yes';
    } else if (!invariantById(key)) {
      issues.push(file.issue(['expect'], `unknown invariant '${key}'${didYouMean(key, [...INVARIANT_IDS, 'deadlock'])}; expected deadlock or one of ${INVARIANT_IDS.join(', ')}`, key));
    } else if (value !== 'holds' && value !== 'violated') {
      issues.push(file.issue(['expect', key], `expected holds or violated, got '${String(value)}'`));
    } else if (!invariants.includes(key)) {
      issues.push(file.issue(['expect'], `'${key}' has an expected verdict but is not among check.invariants`, key));
    } else {
      expInv[key] = value;
    }
  }
  if (threads.length === 0) issues.push(file.issue(['cpus'], 'no CPU runs anything: give at least one CPU a run list or walks'));
  // A group's CPUs share its line: one problem of the line is said once.
  if (issues.length > 0) throw new ScenarioError([...new Map(issues.map((i) => [formatIssue(i), i])).values()]);

  const init = boot(kernel, cpuBoot);
  if (usesDemoLock) init.set(lockLoc('demo_lock'), null);
  const program: Program = {
    name: d.name,
    machine: { cpus: d.cpus.length, stoppable: preemptible },
    init,
    initial: bootInitial(kernel),
    memoryModel: d.check.memory_model,
    threads,
    properties: invariants.map((id) => invariantById(id)!),
    maxSteps: overrides.maxSteps ?? d.check.max_steps,
  };
  const resolved: ResolvedScenario = {
    name: d.name,
    description: d.description,
    file: file.file,
    arch,
    cpus: d.cpus.length,
    preset,
    config,
    mm: Object.fromEntries(mms),
    cpu: resolvedCpus,
    invariants,
    max_steps: d.check.max_steps,
    memory_model: d.check.memory_model,
  };
  return { file: source, resolved, expect: { invariants: expInv, deadlock }, kernel, program, sim: d.sim, workThreads, overrides };
}

/**
 * `file` with its CPU groups (`count: N`) expanded into N entries each, in order: CPU i of the
 * result comes from entry `from[i]` of the file, where its problems are reported.
 */
export function expandGroups(file: ScenarioFile): ScenarioFile {
  const cpus = file.data.cpus;
  if (cpus.every((c) => c.count === 1)) return file;
  const from: number[] = [];
  const expanded: Array<(typeof cpus)[number]> = [];
  cpus.forEach((c, j) => {
    const one = { ...c, count: 1 };
    for (let k = 0; k < c.count; k++) {
      expanded.push(one);
      from.push(j);
    }
  });
  return withCpuEntries(file, expanded, from);
}

/**
 * `file` with `cpus` as its CPU list, entry j taken from the file's entry `from[j]`, and `data`
 * over its other fields: problems found in entry j are reported at entry `from[j]` of the file.
 * What expandGroups(), permuteCpus() and withoutCpus() build.
 */
export function withCpuEntries(file: ScenarioFile, cpus: ScenarioFile['data']['cpus'], from: readonly number[], data: Partial<ScenarioFile['data']> = {}): ScenarioFile {
  const toSource = (path: ReadonlyArray<PropertyKey>): ReadonlyArray<PropertyKey> => {
    const [head, index, ...rest] = path;
    return head === 'cpus' && typeof index === 'number' && index < from.length ? [head, from[index] as number, ...rest] : path;
  };
  return {
    file: file.file,
    source: file.source,
    data: { ...file.data, ...data, cpus },
    posOf: (path, key) => file.posOf(toSource(path), key),
    issue: (path, message, key) => file.issue(toSource(path), message, key),
  };
}

/** Load, validate and resolve a scenario file. */
export function openScenario(path: string, overrides: Overrides = {}): LoadedScenario {
  return resolveScenario(loadScenario(path), overrides);
}

/** The same from text (tests, the web UI). */
export function scenarioFromText(text: string, name = '<scenario>', overrides: Overrides = {}): LoadedScenario {
  return resolveScenario(parseScenario(text, name), overrides);
}

/** Whether the scenario checks invariant `id` (Kernel.observe_zap_return, observe_data_page_free). */
function checks(invariants: 'all' | readonly string[], id: string): boolean {
  return invariants === 'all' || invariants.includes(id);
}
