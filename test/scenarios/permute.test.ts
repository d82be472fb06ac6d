/**
 * Renumbering a scenario's CPUs (src/scenarios/permute.ts): a permuted scenario resolves to the
 * same program up to the renaming of CPUs (threads, boot state, the kernel's CPU lists), a
 * permutation followed by its inverse gives back the same program, errors still point at the
 * file's text, and the scenario format has no other place that names a CPU (a tripwire for
 * fields added later).
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Value } from '../../src/core/index.js';
import { parseScenario, type ScenarioFile } from '../../src/scenarios/loader.js';
import { inversePermutation, isPermutation, permuteCpus } from '../../src/scenarios/permute.js';
import { resolveScenario, type LoadedScenario } from '../../src/scenarios/resolve.js';
import { scenarioSchema, STEP_KINDS } from '../../src/scenarios/schema.js';
import { rejectionOf, textAt } from './helpers.js';

/** Four CPUs that differ in every per-CPU setting: mm, lazy, mode, TLB, walks, vCPU, repeat, C-state. */
const FIXTURE = `name: permute-fixture
expect:
  no-walk-of-freed-table: holds
machine: { arch: x86-kvm, cpus: 4 }
config: { preset: sync-rcu, batch_alloc: fails }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 1 }
      - { name: stack, start: 1, end: 2 }
  B:
    vmas:
      - { name: data, start: 0, end: 1 }
cpus:
  - { mm: A, run: [ { munmap: heap } ], cstate: C6 }
  - { mm: A, tlb: cold, run: [ { gup_fast: { slot: 0 } } ], walks: [ { slot: 1 } ] }
  - { mm: A, lazy: true, vcpu_preemptible: true }
  - { mm: B, mode: user, repeat: 2, run: [ { reuse_table: { owner: B } } ] }
check:
  invariants: [no-walk-of-freed-table, no-stale-walk-cache]
`;

const fixture = (): ScenarioFile => parseScenario(FIXTURE, 'fixture.yaml');

/** Every permutation of 0..n-1. */
function allOrders(n: number): number[][] {
  if (n === 0) return [[]];
  return allOrders(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** Old CPU number -> new CPU number, for the order `order` (new CPU j is old CPU order[j]). */
const renumber = (order: readonly number[]) => {
  const inv = inversePermutation(order);
  return (c: number): number => inv[c] as number;
};

/** A location of the boot state under the renumbering: `cpuN.x` and `csd.S.D` name CPUs. */
function renameLoc(loc: string, to: (c: number) => number): string {
  return loc.replace(/^cpu(\d+)\./, (_, c: string) => `cpu${to(Number(c))}.`).replace(/^csd\.(\d+)\.(\d+)$/, (_, s: string, d: string) => `csd.${to(Number(s))}.${to(Number(d))}`);
}

/** A thread's name under the renumbering (`CPU1 MMU`, `host vCPU2`, `swapper/3`). */
function renameThread(name: string, to: (c: number) => number): string {
  return name.replace(/CPU(\d+)/g, (_, c: string) => `CPU${to(Number(c))}`).replace(/\/(\d+)$/, (_, c: string) => `/${to(Number(c))}`);
}

/** The boot state with every CPU renumbered: locations, and the CPU lists of mm_cpumask(). */
function renamedInit(s: LoadedScenario, to: (c: number) => number): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [loc, v] of s.program.init) {
    const cpumask = /^mm\.[^.]+\.cpumask$/.test(loc);
    out.set(renameLoc(loc, to), cpumask ? (v as number[]).map(to).sort((a, b) => a - b) : v);
  }
  return out;
}

const threadsOf = (s: LoadedScenario, to: (c: number) => number = (c) => c) =>
  s.program.threads.map((t) => ({ name: renameThread(t.name, to), cpu: t.cpu === null ? null : to(t.cpu), kind: t.kind })).sort((a, b) => `${a.cpu}/${a.name}`.localeCompare(`${b.cpu}/${b.name}`));

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

describe('permuteCpus', () => {
  it('rejects an order that is not a permutation of the CPU numbers', () => {
    for (const bad of [[0, 1, 2], [0, 1, 2, 2], [0, 1, 2, 4], [1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1.5, 2, 3]]) {
      expect(() => permuteCpus(fixture(), bad), `[${bad.join(', ')}]`).toThrow(RangeError);
    }
    expect(isPermutation([3, 1, 0, 2], 4)).toBe(true);
    expect(inversePermutation([3, 1, 0, 2])).toEqual([2, 1, 3, 0]);
  });

  it('moves each CPU entry, with all its settings, to its new number', () => {
    const order = [3, 0, 2, 1];
    const p = permuteCpus(fixture(), order);
    expect(p.data.cpus).toEqual(order.map((i) => fixture().data.cpus[i]));
    expect({ ...p.data, cpus: [] }).toEqual({ ...fixture().data, cpus: [] });
  });

  it.each(allOrders(4).map((o) => [o.join(''), o] as const))('order %s resolves to the same program with the CPUs renumbered', (_, order) => {
    const base = resolveScenario(fixture());
    const perm = resolveScenario(permuteCpus(fixture(), order));
    const to = renumber(order);
    // The resolved CPUs: new CPU j is the old CPU order[j].
    expect(perm.resolved.cpu).toEqual(order.map((from, j) => ({ ...base.resolved.cpu[from], cpu: j })));
    expect({ ...perm.resolved, cpu: [] }).toEqual({ ...base.resolved, cpu: [] });
    expect(perm.expect).toEqual(base.expect);
    // The kernel's CPU lists, and the CPUs the machine may stop.
    expect(perm.kernel.nr_cpus).toBe(base.kernel.nr_cpus);
    expect(sorted(perm.kernel.preemptible_vcpus)).toEqual(sorted(base.kernel.preemptible_vcpus.map(to)));
    expect(sorted(perm.kernel.user_mm_cpus)).toEqual(sorted(base.kernel.user_mm_cpus.map(to)));
    expect(sorted(perm.program.machine.stoppable ?? [])).toEqual(sorted((base.program.machine.stoppable ?? []).map(to)));
    // The boot state, location by location.
    expect(perm.program.init).toEqual(renamedInit(base, to));
    for (let s = 0; s < 4; s++) for (let d = 0; d < 4; d++) expect(perm.program.initial?.(`csd.${to(s)}.${to(d)}`)).toEqual(base.program.initial?.(`csd.${s}.${d}`));
    // The threads: the same ones, on the renumbered CPUs, in the new CPU order.
    expect(threadsOf(perm)).toEqual(threadsOf(base, to));
    const cpusInOrder = perm.program.threads.flatMap((t) => (t.cpu === null ? [] : [t.cpu]));
    expect(cpusInOrder).toEqual(sorted(cpusInOrder));
    expect(perm.program.properties.map((p) => p.id)).toEqual(base.program.properties.map((p) => p.id));
  });

  it.each(allOrders(4).map((o) => [o.join(''), o] as const))('order %s and then its inverse give back the same program', (_, order) => {
    const base = resolveScenario(fixture());
    const back = permuteCpus(permuteCpus(fixture(), order), inversePermutation(order));
    expect(back.data).toEqual(fixture().data);
    const again = resolveScenario(back);
    expect(again.resolved).toEqual(base.resolved);
    expect(again.kernel.preemptible_vcpus).toEqual(base.kernel.preemptible_vcpus);
    expect(again.kernel.user_mm_cpus).toEqual(base.kernel.user_mm_cpus);
    expect(again.program.init).toEqual(base.program.init);
    expect(again.program.threads.map((t) => [t.name, t.cpu, t.kind])).toEqual(base.program.threads.map((t) => [t.name, t.cpu, t.kind]));
  });

  it("keeps each CPU's mm: mm_cpumask() lists the renumbered CPUs that run it", () => {
    // B runs on the old CPU3 only; [3, 0, 2, 1] makes it CPU0, and A's CPUs 1, 2, 3.
    const p = resolveScenario(permuteCpus(fixture(), [3, 0, 2, 1]));
    expect(p.program.init.get('mm.B.cpumask')).toEqual([0]);
    expect(p.program.init.get('mm.A.cpumask')).toEqual([1, 2, 3]);
    expect(p.kernel.preemptible_vcpus).toEqual([2]);
    expect(p.program.threads.find((t) => t.kind === 'agent' && t.cpu !== null)?.name).toBe('CPU3 MMU');
    expect(p.program.threads.find((t) => t.cpu === null)?.name).toBe('host vCPU2');
  });

  it('reports errors at the entry in the file, whatever its new number', () => {
    const text = FIXTURE.replace('{ mm: B, mode: user', '{ mm: C, mode: user');
    const file = parseScenario(text, 'fixture.yaml');
    const e = rejectionOf(() => resolveScenario(permuteCpus(file, [3, 0, 1, 2])));
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]?.path).toBe('cpus[3].mm');
    expect(textAt(text, e.issues[0]!.pos)).toMatch(/^C, mode: user/);
  });
});

/** Every key path of a zod schema with the kind of value at its leaves (`cpus[].walks[].slot: number`). */
function schemaLeaves(s: z.core.$ZodType, at: string, out: Set<string>): Set<string> {
  const def = s._zod.def as unknown as { type: string } & Record<string, unknown>;
  const child = (key: string): string => (at ? `${at}.${key}` : key);
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) schemaLeaves(v, child(k), out);
      break;
    case 'array':
      schemaLeaves(def.element as z.core.$ZodType, `${at}[]`, out);
      break;
    case 'record':
      schemaLeaves(def.valueType as z.core.$ZodType, child('*'), out);
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      schemaLeaves(def.innerType as z.core.$ZodType, at, out);
      break;
    case 'pipe':
      schemaLeaves(def.in as z.core.$ZodType, at, out);
      break;
    case 'union':
      for (const o of def.options as z.core.$ZodType[]) schemaLeaves(o, at, out);
      break;
    default:
      out.add(`${at}: ${def.type}`);
  }
  return out;
}

describe('the scenario format names a CPU only by its place in cpus', () => {
  // If one of these tests fails, a field was added: if it names a CPU (a CPU number, a list of
  // CPUs, a per-CPU map), permuteCpus() must remap it; then update the lists below.
  it('has no numbers but counts, sizes, slots, pages and rates outside the CPU entries', () => {
    const numbers = [...schemaLeaves(scenarioSchema, '', new Set())].filter((p) => p.endsWith(': number')).map((p) => p.replace(/: number$/, ''));
    expect(numbers.sort()).toEqual([
      'check.max_steps',
      'config.max_table_batch',
      'cpus[].count', // a group of CPUs: permuteCpus() expands it first
      'cpus[].repeat',
      'cpus[].walks[].page',
      'cpus[].walks[].slot',
      'cpus[].walks[].times',
      'hugetlbfs.*.pages',
      'hugetlbfs.*.tables',
      'kernel_pt.iommu_walks',
      'kernel_pt.ptes',
      'machine.cpus', // a count
      'mm.*.ptes_per_table',
      'mm.*.vmas[].end',
      'mm.*.vmas[].start',
      'sim.alloc_fail_burst.length',
      'sim.alloc_fail_burst.period',
      'sim.alloc_fail_burst.rate',
      'sim.alloc_fail_rate',
      'sim.costs.*',
      'sim.duration',
      'sim.jitter',
      'sim.seed',
      'sim.stalls.duration',
      'sim.stalls.rate',
      'sim.time_limit',
      'sim.vcpu_preempt_rate',
      'sim.work', // rounds per workload CPU
    ]);
  });

  it('keys its maps by names (invariants, mms, hugetlbfs files, cost parameters), not CPUs', () => {
    const maps = new Set([...schemaLeaves(scenarioSchema, '', new Set())].flatMap((p) => (p.includes('*') ? [p.slice(0, p.lastIndexOf('*') + 1)] : [])));
    expect([...maps].sort()).toEqual(['expect.*', 'hugetlbfs.*', 'mm.*', 'sim.costs.*']);
  });

  it('keeps every per-CPU setting inside the CPU entry', () => {
    const fields = new Set([...schemaLeaves(scenarioSchema, '', new Set())].filter((p) => p.startsWith('cpus[].')).map((p) => p.slice('cpus[].'.length).split(/[.[:]/)[0]));
    expect([...fields].sort()).toEqual(['count', 'cstate', 'idle', 'isolated', 'lazy', 'mm', 'mode', 'repeat', 'run', 'tlb', 'vcpu_preemptible', 'walks']);
  });

  it('has no step that names a CPU', () => {
    // Their arguments: VMAs, slots, pages, mms, a split flag, hugetlb tables, sync functions and contexts, intervals; switch_to and kthread_use_mm name an mm.
    expect([...STEP_KINDS].sort()).toEqual(['call', 'collapse', 'collapse_file', 'cyclictest', 'exit_mmap', 'fault', 'gup_fast', 'gup_fast_hugetlb', 'hugetlb_reuse', 'idle', 'kthread_unuse_mm', 'kthread_use_mm', 'madvise_dontneed', 'migrate_thp', 'mmap', 'munmap', 'pte_offset_map', 'reuse_table', 'split', 'switch_to', 'touch', 'user', 'vmap_huge', 'vmap_huge_pud', 'vmap_small']);
  });
});
