/**
 * Order independence of the exhaustive checker's verdicts, shared by the permutations-*.test.ts
 * files (split so that vitest runs them on several workers).
 *
 * A scenario's CPUs are numbered by their place in its `cpus:` list, so a permutation of the list
 * is the same machine with the CPUs renumbered (src/scenarios/permute.ts). The checker explores
 * every interleaving up to partial-order reduction, so each invariant's verdict (holds or
 * violated) and whether a deadlock exists must not depend on that numbering. The renumbering also
 * reorders the program's threads, which is what exposes an exploration that depends on it.
 *
 * What a CPU's number means in the model besides naming it, and why permuting it is neutral:
 *  - nothing treats a CPU number specially: there is no boot or housekeeping CPU (the IOMMU and
 *    the KVM host are threads of no CPU), and every per-CPU setting is in the CPU's own list entry
 *    and moves with it;
 *  - loops over CPUs run in ascending order, as for_each_cpu() does in the kernel:
 *    smp_call_function_many_cond() takes each target's csd and sends its IPI, then waits for
 *    each, in that order; synchronize_rcu_expedited() IPIs the readers in that order; S3's
 *    tlb_remove_table_sync_mm() reads each CPU's active_lockless_pt_walk_mm in that order. A
 *    renumbering changes the order of these steps of one thread. Each touches only its target's
 *    csd or per-CPU variable, so when the targets do not wait on one another meanwhile, any
 *    outcome of one order is an outcome of the other with the targets' own steps moved (a
 *    handler run later, a walk begun earlier). Every catalog scenario is of that kind, and the test
 *    relies on it: a scenario where one target waits for another while a sender works through
 *    its list could legitimately give order-dependent verdicts, in the kernel too;
 *  - the simulator (not checked here) also maps numbers to sockets (cross-socket IPI costs), so
 *    its timings are not order-independent.
 */
import { expect, it } from 'vitest';
import { findScenarios } from '../../src/api/index.js';
import { check } from '../../src/engines/check/index.js';
import { loadScenario, type ScenarioFile } from '../../src/scenarios/loader.js';
import { permuteCpus } from '../../src/scenarios/permute.js';
import { resolveScenario } from '../../src/scenarios/resolve.js';
import { cpuOrders } from './orders.js';

/** Verdicts by name: each invariant's `holds` or `violated`, and `deadlock`: `yes` or `no`. */
export type Verdicts = Readonly<Record<string, string>>;

/** The exhaustive verdicts (optimal DPOR, the default) of `file` with its CPUs in `order`. */
export function verdictsUnder(file: ScenarioFile, order: readonly number[]): Verdicts {
  const result = check(resolveScenario(permuteCpus(file, order)).program);
  expect(result.exhaustive, `order [${order.join(',')}] was explored exhaustively`).toBe(true);
  return { ...Object.fromEntries(result.verdicts.map((v) => [v.id, v.status])), deadlock: result.deadlock ? 'yes' : 'no' };
}

/** How `got` differs from `written`, one `id: got (written order: ...)` per verdict, or []. */
export function differences(written: Verdicts, got: Verdicts): string[] {
  const ids = [...new Set([...Object.keys(written), ...Object.keys(got)])];
  return ids.filter((id) => written[id] !== got[id]).map((id) => `${id}: ${got[id] ?? 'absent'} (written order: ${written[id] ?? 'absent'})`);
}

/**
 * For each scenario file, a test that checks it under every order of cpuOrders() and expects
 * the verdicts of the order as written. A failure lists each order that differs, and how.
 */
export function testOrderIndependence(files: readonly string[]): void {
  it.each(files)('%s: the same verdicts under every order of its cpus', (path) => {
    const file = loadScenario(path);
    const [written, ...others] = cpuOrders(file.data.cpus.length, path);
    const base = verdictsUnder(file, written as number[]);
    const differing = others.flatMap((order) => {
      const d = differences(base, verdictsUnder(file, order));
      return d.length > 0 ? [`cpus in order [${order.join(',')}]: ${d.join('; ')}`] : [];
    });
    expect(differing, `${path}: verdicts depend on the order of cpus (order [a,b,...]: CPU0 is the written CPU a, CPU1 the written CPU b, ...)`).toEqual([]);
  }, 600_000);
}

/**
 * The catalog in parts, one per test file, so that vitest spreads them over its workers: the
 * munmap matrix and its neighbours (all orders: about 8 s of one core), PT_RECLAIM (23 s, 20 of
 * them pt-reclaim+arm64+fault+gup-fast), and the rest, every directory not named here (14 s).
 */
const PARTS = {
  munmap: ['munmap-vs-gup-fast', 'history', 'exit', 'context'],
  reclaim: ['pt-reclaim', 'rcu-walker', 'reuse'],
} as const;

/** The catalog scenarios of one part. */
export function catalogPart(part: keyof typeof PARTS | 'rest'): string[] {
  const dirOf = (f: string): string => f.replace(/^.*scenarios\/check\//, '').split('/')[0] as string;
  const named = Object.values(PARTS).flat() as string[];
  return findScenarios('scenarios/check').filter((f) => (part === 'rest' ? !named.includes(dirOf(f)) : (PARTS[part] as readonly string[]).includes(dirOf(f))));
}
