/**
 * An execution trace as per-CPU columns, in kernel terms: each row is one step, in the column of
 * the CPU it ran on, as `function: what it did (what it saw)`. Interrupt handlers are marked with
 * `|`, hardware and deferred-callback agents with their role, and the step where an invariant
 * broke with `<<<`.
 */
import type { StepRecord } from '../core/trace.js';
import { TableLedger } from '../model/table-ledger.js';
import { renderTable } from './table.js';

export interface TraceView {
  readonly trace: readonly StepRecord[];
  readonly threadNames: readonly string[];
  readonly threadKinds: readonly string[];
  readonly threadCpus: ReadonlyArray<number | null>;
  readonly cpus: number;
  /** Step index to mark, with a label. */
  readonly mark?: { readonly step: number; readonly label: string };
  /**
   * Names of page-table pages as at a step (TableLedger.rename): `A.pte0@pfn87` for `pfn87`.
   * Default: a ledger of `trace` itself, right for a trace that starts at boot (the checker's,
   * replay's); the simulator's window passes the ledger of its whole run.
   */
  readonly rename?: (text: string, step: number) => string;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length === 0) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
    while (line.length > width) {
      out.push(line.slice(0, width));
      line = line.slice(width);
    }
  }
  if (line.length > 0 || out.length === 0) out.push(line);
  return out;
}

function irqNote(r: StepRecord): string {
  for (const [loc, v] of r.writes) {
    if (loc === `cpu${r.cpu}.irqs_off` && r.kind === 'access' && !r.fn.startsWith('irq_')) return v ? ' [IRQs off]' : ' [IRQs on]';
  }
  return '';
}

function cellText(r: StepRecord, kind: string): string {
  const prefix = kind === 'irq' ? '| ' : kind === 'agent' ? `[${r.threadName}] ` : '';
  const body = r.kind === 'irq-entry' || r.kind === 'irq-exit' ? r.desc : `${r.fn}: ${r.desc}`;
  const choice = r.choice ? ` => ${r.choice.option}` : '';
  const note = r.note ? ` (${r.note})` : '';
  return `${prefix}${body}${choice}${note}${irqNote(r)}`;
}

/** Render the trace; `width` is the total line width to aim for. */
export function renderTrace(view: TraceView, width = 160): string {
  // Beyond 8 CPUs, only the CPUs that appear in the trace get a column.
  const shown = view.cpus <= 8 ? Array.from({ length: view.cpus }, (_, i) => i) : [...new Set(view.trace.flatMap((r) => (r.cpu === null ? [] : [r.cpu])))].sort((a, b) => a - b);
  const ledger = view.rename ? null : TableLedger.of(view.trace);
  const rename = view.rename ?? ((text: string, step: number) => (ledger as TableLedger).rename(text, step));
  const colOf = new Map(shown.map((c, i) => [c, i]));
  const hasOther = view.trace.some((r) => r.cpu === null);
  const ncols = shown.length + (hasOther ? 1 : 0);
  const idxW = Math.max(3, String(view.trace.length).length);
  const colW = Math.max(24, Math.floor((width - idxW - 1) / ncols) - 2);
  const headers: string[] = [];
  for (const c of shown) {
    const task = view.threadNames.find((_, i) => view.threadCpus[i] === c && view.threadKinds[i] === 'task');
    headers.push(`CPU${c}${task ? ` ${task}` : ''}`);
  }
  if (hasOther) headers.push('other');
  // One table: the step number, then a fixed-width column per CPU (cells are wrapped to fit).
  const spec = { columns: [{ align: 'right' as const, width: idxW, fixed: true }, ...headers.map(() => ({ width: colW, fixed: true }))], gap: [' ', ...headers.map(() => '  ')] };
  const rows: string[][] = [['', ...headers.map((h) => h.slice(0, colW))], ['', ...headers.map(() => '-'.repeat(colW))]];
  const marks = new Map<number, string>();
  for (const r of view.trace) {
    const kind = r.threadKind;
    const col = r.cpu !== null ? (colOf.get(r.cpu) as number) : ncols - 1;
    const cell = wrap(rename(cellText(r, kind), r.index), colW);
    cell.forEach((text, k) => {
      if (view.mark?.step === r.index && k === 0) marks.set(rows.length, `  <<< ${view.mark.label}`);
      rows.push([k === 0 ? String(r.index) : '', ...headers.map((_, c) => (c === col ? text : ''))]);
    });
  }
  const lines = renderTable(rows, spec).map((line, i) => line + (marks.get(i) ?? ''));
  return lines.join('\n');
}

/** One step as the per-CPU columns show it (`function: what it did (what it saw)`), for the web explorer's swimlanes. */
export function stepText(r: StepRecord): string {
  return cellText(r, r.threadKind);
}
