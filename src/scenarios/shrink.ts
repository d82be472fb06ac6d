/**
 * The same scenario with fewer of its identical CPUs: what `ptlab check --estimate` runs to
 * extrapolate the size of an exploration before it starts (src/api/estimate.ts).
 *
 * Like permute.ts, this works on the validated document (ScenarioFile), before resolution: a CPU
 * is its index in `cpus`, and nothing else in the format names one, so dropping entries and
 * lowering `machine.cpus` to match renumbers everything consistently when the result is resolved.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ScenarioFile } from './loader.js';
import { expandGroups, withCpuEntries } from './resolve.js';

/**
 * The classes of identical CPUs, each of at least two: CPUs whose entries (workload, mm, and
 * every per-CPU option) are equal after `count:` groups are expanded. Ascending CPU numbers,
 * classes in the order of their first CPU.
 */
export function identicalCpus(grouped: ScenarioFile): number[][] {
  const cpus = expandGroups(grouped).data.cpus;
  const classes: number[][] = [];
  cpus.forEach((c, i) => {
    const same = classes.find((cl) => isDeepStrictEqual(cpus[cl[0] as number], c));
    if (same) same.push(i);
    else classes.push([i]);
  });
  return classes.filter((cl) => cl.length >= 2);
}

/**
 * `file` without the CPUs `drop` (CPU numbers after `count:` groups are expanded); the CPUs after
 * them move down. Throws a RangeError when a number is not one of the file's CPUs, or when no CPU
 * would be left.
 */
export function withoutCpus(grouped: ScenarioFile, drop: readonly number[]): ScenarioFile {
  const file = expandGroups(grouped);
  const cpus = file.data.cpus;
  const gone = new Set(drop);
  for (const i of gone) if (!Number.isInteger(i) || i < 0 || i >= cpus.length) throw new RangeError(`${file.file}: it has no CPU${i} (CPUs 0..${cpus.length - 1})`);
  const kept = cpus.flatMap((_, i) => (gone.has(i) ? [] : [i]));
  if (kept.length === 0) throw new RangeError(`${file.file}: dropping every CPU leaves no scenario`);
  const machine = file.data.machine.cpus === undefined ? file.data.machine : { ...file.data.machine, cpus: kept.length };
  return withCpuEntries(file, kept.map((i) => cpus[i] as (typeof cpus)[number]), kept, { machine });
}
