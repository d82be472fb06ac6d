/**
 * What a differential-testing campaign covered: the programs run and skipped, the executions each
 * exploration took, the op mix (how many programs contained each op kind, and how many ops of
 * each kind in all), the kinds of threads and memory models. `npm run fuzz:check` prints it.
 */
import type { ExploreStats } from '../../src/engines/check/dpor.js';
import type { Reduction } from '../../src/engines/check/index.js';
import type { Comparison } from './differential.js';
import { OP_KINDS, allOps, programThreads, type OpKind, type ProgramSpec } from './program-spec.js';

interface Totals {
  executions: number;
  complete: number;
  sleepBlocked: number;
  deadlocks: number;
  /** Programs where the exploration had a sleep-set blocked execution. */
  programsSleepBlocked: number;
}

type ThreadCategory = 'agent' | 'task' | 'irq' | 'spawned';

export class Coverage {
  programs = 0;
  skipped = 0;
  tso = 0;
  readonly explorations = new Map<Reduction, Totals>();
  /** Per op kind: programs containing it, and ops of that kind in all. */
  readonly opPrograms = new Map<OpKind, number>();
  readonly opTotal = new Map<OpKind, number>();
  readonly threads = new Map<ThreadCategory, number>();

  add(spec: ProgramSpec, c: Comparison): void {
    this.programs++;
    if (c.skipped) this.skipped++;
    if (spec.memoryModel === 'tso') this.tso++;
    const kinds = new Set<OpKind>();
    for (const t of spec.threads) {
      for (const op of allOps(t.ops)) {
        kinds.add(op.op);
        bump(this.opTotal, op.op);
      }
    }
    for (const k of kinds) bump(this.opPrograms, k);
    const initial = new Set(spec.threads);
    for (const t of programThreads(spec)) bump(this.threads, initial.has(t) ? t.kind : 'spawned');
    if (c.skipped) return;
    for (const [reduction, stats] of Object.entries(c.stats) as Array<[Reduction, ExploreStats]>) {
      let t = this.explorations.get(reduction);
      if (!t) this.explorations.set(reduction, (t = { executions: 0, complete: 0, sleepBlocked: 0, deadlocks: 0, programsSleepBlocked: 0 }));
      t.executions += stats.executions;
      t.complete += stats.complete;
      t.sleepBlocked += stats.sleepBlocked;
      t.deadlocks += stats.deadlocks;
      if (stats.sleepBlocked > 0) t.programsSleepBlocked++;
    }
  }

  /** The report, as lines. */
  format(cap: number): string[] {
    const compared = this.programs - this.skipped;
    const lines = [
      `programs: ${this.programs} run, ${this.skipped} skipped (over ${cap} executions without reduction), ${compared} compared; ${this.tso} under x86-TSO`,
      `threads: ${(['agent', 'task', 'irq', 'spawned'] as const).map((k) => `${this.threads.get(k) ?? 0} ${k}`).join(', ')}`,
      'executions explored (compared programs):',
    ];
    for (const [reduction, t] of this.explorations) {
      lines.push(
        `  ${reduction.padEnd(12)} ${String(t.executions).padStart(10)} executions, ${t.complete} complete, ${t.deadlocks} deadlocked, ` +
          `${t.sleepBlocked} sleep-blocked (in ${t.programsSleepBlocked} programs)`,
      );
    }
    lines.push('op mix:', `  ${'op'.padEnd(11)} ${'programs'.padStart(9)} ${'ops'.padStart(9)}`);
    for (const k of OP_KINDS) lines.push(`  ${k.padEnd(11)} ${String(this.opPrograms.get(k) ?? 0).padStart(9)} ${String(this.opTotal.get(k) ?? 0).padStart(9)}`);
    return lines;
  }
}

function bump<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
