/**
 * A study's `measure:` list, read from a point's result document: one number per point (per
 * strategy for a compare: the mean over its seeds).
 */
import type { MeasureId } from './study.js';

interface SimDoc {
  time_ns: number;
  metrics: {
    interrupts: Array<{ CAL: number; TLB: number }>;
    ipisSent: number[];
    irqTime: number[];
    gracePeriods: { count: number };
    pendingFree: { peak: number };
    tablesFreed: number;
  };
}
interface CheckDoc {
  stats: { executions: number };
  verdicts: Array<{ status: string }>;
  ok: boolean;
}
interface CompareDoc {
  strategies: string[];
  runs: Array<SimDoc & { strategy: string }>;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

function simMeasure(m: MeasureId, d: SimDoc): number | null {
  switch (m) {
    case 'ipis-received':
      return sum(d.metrics.interrupts.map((i) => i.CAL + i.TLB));
    case 'ipis-sent':
      return sum(d.metrics.ipisSent);
    case 'irq-time':
      return sum(d.metrics.irqTime);
    case 'grace-periods':
      return d.metrics.gracePeriods.count;
    case 'pending-free-peak':
      return d.metrics.pendingFree.peak;
    case 'tables-freed':
      return d.metrics.tablesFreed;
    case 'sim-time':
      return d.time_ns;
    default:
      return null;
  }
}

function checkMeasure(m: MeasureId, d: CheckDoc): number | null {
  if (m === 'executions') return d.stats.executions;
  if (m === 'violated') return d.verdicts.filter((v) => v.status === 'violated').length;
  if (m === 'ok') return d.ok ? 1 : 0;
  return null;
}

/** The measure of a point as text: a number, `a / b / c` per strategy of a compare, or `-` when it does not apply to the run. */
export function measureText(m: MeasureId, kind: 'sim' | 'compare' | 'check', result: unknown): string {
  const fmt = (x: number | null): string => (x === null ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(1));
  if (kind === 'sim') return fmt(simMeasure(m, result as SimDoc));
  if (kind === 'check') return fmt(checkMeasure(m, result as CheckDoc));
  const d = result as CompareDoc;
  return d.strategies
    .map((s) => {
      const xs = d.runs.filter((r) => r.strategy === s).map((r) => simMeasure(m, r));
      return xs.some((x) => x === null) ? '-' : fmt(sum(xs as number[]) / xs.length);
    })
    .join(' / ');
}
