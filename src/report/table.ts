/**
 * Plain text tables, kernel style: columns separated by spaces, no rules or boxes, as
 * /proc/interrupts and cyclictest print them. One renderer for every table the reports print
 * (verdicts, the catalog, compare, the simulator's interrupts and latencies, the per-CPU trace).
 *
 * Widths count characters (a `µ` is one), each column as wide as its widest cell or its
 * `width`. Trailing blanks are trimmed from every line.
 */
export type Align = 'left' | 'right';

export interface ColumnSpec {
  readonly align?: Align;
  /** The least width; cells may be wider, unless `fixed` (then they must fit: the caller wraps them). */
  readonly width?: number;
  readonly fixed?: boolean;
}

export interface TableSpec {
  readonly columns: readonly ColumnSpec[];
  /** Between columns: one string for all, or one per gap (before column i+1). Default two spaces. */
  readonly gap?: string | readonly string[];
  /** Before the first column. */
  readonly indent?: string;
}

/** Pad `text` to `width`, on the right (left-aligned) or on the left (right-aligned). */
export function pad(text: string, width: number, align: Align = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - text.length));
  return align === 'left' ? text + fill : fill + text;
}

/** The lines of a table: one per row; a row may have fewer cells than there are columns. */
export function renderTable(rows: ReadonlyArray<readonly string[]>, spec: TableSpec): string[] {
  const widths = spec.columns.map((c, i) => (c.fixed ? (c.width ?? 0) : Math.max(c.width ?? 0, ...rows.map((r) => (r[i] ?? '').length))));
  const gapAt = (i: number): string => (typeof spec.gap === 'string' || spec.gap === undefined ? (spec.gap ?? '  ') : (spec.gap[i] ?? '  '));
  return rows.map((r) => {
    let line = spec.indent ?? '';
    r.forEach((cell, i) => {
      const col = spec.columns[i] ?? {};
      if (i > 0) line += gapAt(i - 1);
      line += pad(cell, widths[i] ?? 0, col.align);
    });
    return line.trimEnd();
  });
}
