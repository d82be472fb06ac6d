/**
 * The checker's entry point: explore a program and turn the exploration into verdicts, one per
 * property, each with the shortest counterexample found; plus deadlocks.
 */
import type { Program } from '../../core/execution.js';
import { Explorer, type Counterexample, type ExploreStats } from './dpor.js';

export type { Counterexample, ExploreStats } from './dpor.js';

export interface CheckOptions {
  /** 'dpor' (default) explores one execution per Mazurkiewicz trace; 'none' tries every interleaving. */
  readonly reduction?: 'dpor' | 'none';
  /** Bound on executions; past it the verdicts are "not violated within the bound". */
  readonly maxExecutions?: number;
  /** Progress callback, called after every execution. */
  readonly onProgress?: (stats: Readonly<ExploreStats>) => void;
  /** Stop once every property is violated (faster when only the counterexamples matter). */
  readonly stopWhenAllViolated?: boolean;
}

export interface PropertyVerdict {
  readonly id: string;
  readonly title: string;
  readonly status: 'holds' | 'violated';
  readonly counterexample: Counterexample | null;
}

export interface CheckResult {
  readonly program: string;
  readonly reduction: 'dpor' | 'none';
  /** True when every interleaving (up to reduction) was explored. */
  readonly exhaustive: boolean;
  readonly stats: Readonly<ExploreStats>;
  readonly verdicts: readonly PropertyVerdict[];
  readonly deadlock: Counterexample | null;
}

export function check(program: Program, opts: CheckOptions = {}): CheckResult {
  const reduction = opts.reduction ?? 'dpor';
  const result = new Explorer(program, {
    reduction,
    maxExecutions: opts.maxExecutions,
    stopWhenAllViolated: opts.stopWhenAllViolated,
    onExecution: opts.onProgress,
  }).run();
  const verdicts = program.properties.map((p): PropertyVerdict => {
    const cx = result.violations.get(p.id) ?? null;
    return { id: p.id, title: p.title, status: cx ? 'violated' : 'holds', counterexample: cx };
  });
  return { program: program.name, reduction, exhaustive: result.exhaustive, stats: result.stats, verdicts, deadlock: result.deadlock };
}
