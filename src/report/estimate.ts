/**
 * `ptlab check --estimate`: the smaller runs and the extrapolated size of the exploration, as text
 * and as the `ptlab.estimate/1` document (docs/json.md).
 */
import type { SizeEstimate } from '../api/estimate.js';
import { cpuList, formatSeconds } from './format.js';
import { renderTable } from './table.js';

/** About three significant digits: 827,736 -> "828,000". */
function roughly(n: number): string {
  if (n < 1000) return n.toLocaleString('en-US');
  const unit = 10 ** (Math.floor(Math.log10(n)) - 2);
  return (Math.round(n / unit) * unit).toLocaleString('en-US');
}

/** The text: which CPUs, each smaller run, the growth and the estimate (times unless `timing` is false). */
export function estimateText(e: SizeEstimate, timing = true): string {
  if (e.identical.length === 0) return `${e.scenario}: no estimate: ${e.why}`;
  const n = e.identical.length;
  const out = [`${e.scenario}: CPUs ${cpuList(e.identical)} are identical (the same workload, mm and options)`];
  if (e.runs.length > 0) {
    out.push(`exhaustive runs (${e.reduction}) with fewer of them:`);
    const rows = [['CPUs', 'executions', ...(timing ? ['time'] : [])]];
    for (const r of e.runs) rows.push([String(r.kept), `${r.exhaustive ? '' : '> '}${r.executions.toLocaleString('en-US')}`, ...(timing ? [formatSeconds(r.ms / 1000)] : [])]);
    out.push(...renderTable(rows, { columns: [{ align: 'right' }, { align: 'right' }, { align: 'right' }], indent: '  ' }));
  }
  if (e.executions === null || e.growth === null) {
    out.push(`no estimate: ${e.why}`);
    return out.join('\n');
  }
  out.push(`growth: ${e.growth < 10 ? e.growth.toFixed(2) : e.growth.toFixed(1)}x per CPU (the last two runs)`);
  const time = timing && e.seconds !== null ? `, ~${formatSeconds(e.seconds)} on one thread at the rate of the largest run` : '';
  out.push(`estimate with all ${n}: ~${roughly(e.executions)} executions${time}`);
  out.push('(every interleaving; a run that stops at the answer may explore fewer)');
  return out.join('\n');
}

/** The `ptlab.estimate/1` document: the same without the times, so that it is the same run to run. */
export function estimateJson(e: SizeEstimate): unknown {
  return {
    schema: 'ptlab.estimate/1',
    scenario: e.scenario,
    reduction: e.reduction,
    identical: e.identical,
    runs: e.runs.map((r) => ({ kept: r.kept, executions: r.executions, exhaustive: r.exhaustive })),
    growth: e.growth,
    executions: e.executions,
    why: e.why,
  };
}
