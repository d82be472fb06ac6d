/**
 * The same scenario with its `cpus:` list in another order: the CPUs renumbered.
 *
 * The permutation is applied to the validated document (ScenarioFile), before resolution, because
 * that is the only place a CPU number is written down: a CPU is its index in `cpus`. Nothing else
 * in the format names a CPU (steps name VMAs, slots, pages, mms and hugetlb tables; `machine.cpus`
 * is a count; `walks`, `vcpu_preemptible`, `tlb`, `cstate`... are fields of the CPU's own entry
 * and move with it). resolveScenario() then derives every CPU number the model sees from that
 * index: thread CPUs, the boot state's per-CPU variables and mm_cpumask(), the kernel's
 * preemptible vCPUs and user-mm CPUs. Reordering the list therefore renumbers all of them
 * consistently, and resolving is the only remapping there is to do.
 *
 * Errors found while resolving a permuted scenario still point at the file's text: positions and
 * paths are translated back to the entry's index in the source.
 */
import type { ScenarioFile } from './loader.js';
import { expandGroups, withCpuEntries } from './resolve.js';

/** Whether `order` lists each of 0..n-1 exactly once. */
export function isPermutation(order: readonly number[], n: number): boolean {
  if (order.length !== n) return false;
  const seen = new Set<number>();
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= n || seen.has(i)) return false;
    seen.add(i);
  }
  return true;
}

/** The inverse permutation: `inverse(order)[order[j]] === j`. */
export function inversePermutation(order: readonly number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((from, to) => {
    inv[from] = to;
  });
  return inv;
}

/**
 * `file` with its CPUs in the order `order`: new CPU j is the file's CPU `order[j]` (so
 * `[2, 0, 1]` makes the third entry CPU0). Throws a RangeError when `order` is not a permutation
 * of the file's CPU numbers.
 */
export function permuteCpus(grouped: ScenarioFile, order: readonly number[]): ScenarioFile {
  // CPU groups (count: N) are expanded first: the order is of CPUs, not of the file's entries.
  const file = expandGroups(grouped);
  const cpus = file.data.cpus;
  if (!isPermutation(order, cpus.length)) {
    throw new RangeError(`${file.file}: [${order.join(', ')}] is not a permutation of its ${cpus.length} CPU number(s) 0..${cpus.length - 1}`);
  }
  return withCpuEntries(file, order.map((i) => cpus[i] as (typeof cpus)[number]), order);
}
