/**
 * Reading results for the report: a JSONL file of PointRecords, one per line. Every problem is
 * an error naming the file, line and column, and what was expected; nothing is rendered from a
 * file with a bad line.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { PointRecord } from './record.js';
import { readRecords as readStore } from '../sweep/record.js';

export class ResultsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultsError';
  }
}

/** Limits: a results file past these is refused with a message, not half-read. */
export const MAX_RESULTS_BYTES = 256 * 2 ** 20;
export const MAX_RECORDS = 100_000;

const KINDS = new Set(['sim', 'compare', 'check']);
const SCHEMA_OF: Record<PointRecord['kind'], string> = { sim: 'ptlab.sim/1', compare: 'ptlab.compare/2', check: 'ptlab.check/2' };

/** The column (1-based) of a JSON.parse error in the line `text`. */
function jsonErrorColumn(e: unknown, text: string): number {
  const m = /position (\d+)/.exec(String((e as Error).message));
  if (m) return Number(m[1]) + 1;
  // Without a position, V8 says either that the input ended early, or names a bad first token.
  return /end of JSON input/.test(String((e as Error).message)) ? text.length + 1 : 1;
}

/** Check one parsed line's shape; returns the problem, or null. */
function problem(v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'expected a JSON object (a PointRecord)';
  const r = v as Record<string, unknown>;
  if (typeof r.study !== 'string') return "expected 'study' to be a string";
  if (!Number.isSafeInteger(r.index) || (r.index as number) < 0) return "expected 'index' to be a non-negative integer";
  if (typeof r.key !== 'string') return "expected 'key' to be a string";
  if (r.axes === null || typeof r.axes !== 'object' || Array.isArray(r.axes)) return "expected 'axes' to be an object";
  for (const [k, a] of Object.entries(r.axes as object)) {
    if (!['string', 'number', 'boolean'].includes(typeof a)) return `expected axis '${k}' to be a string, number or boolean`;
  }
  if (typeof r.kind !== 'string' || !KINDS.has(r.kind)) return "expected 'kind' to be sim, compare or check";
  if (typeof r.ptlabVersion !== 'string') return "expected 'ptlabVersion' to be a string";
  const res = r.result as Record<string, unknown> | null;
  const want = SCHEMA_OF[r.kind as PointRecord['kind']];
  if (res === null || typeof res !== 'object' || res.schema !== want) return `expected 'result' to be a ${want} document (kind ${r.kind as string})`;
  return null;
}

/** Parse JSONL text (blank lines are skipped). */
export function parseRecords(text: string, file: string): PointRecord[] {
  const out: PointRecord[] = [];
  const lines = text.split('\n');
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new ResultsError(`${file}:${i + 1}:${jsonErrorColumn(e, line)}: expected one JSON PointRecord per line: ${(e as Error).message}`);
    }
    const p = problem(v);
    if (p) throw new ResultsError(`${file}:${i + 1}:1: ${p}`);
    const r = v as PointRecord;
    const id = `${r.study}\u0000${r.key}`;
    const dup = seen.get(id);
    if (dup !== undefined) throw new ResultsError(`${file}:${i + 1}:1: point '${r.key}' of study '${r.study}' is already on line ${dup}`);
    seen.set(id, i + 1);
    out.push(r);
    if (out.length > MAX_RECORDS) throw new ResultsError(`${file}:${i + 1}:1: more than ${MAX_RECORDS} records: split the results`);
  }
  if (out.length === 0) throw new ResultsError(`${file}:1:1: expected at least one PointRecord, found none`);
  return out;
}

/** The first bytes of an SQLite database file (a sweep's store). */
const SQLITE_MAGIC = 'SQLite format 3\0';

function isSqlite(file: string): boolean {
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(SQLITE_MAGIC.length);
      return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === SQLITE_MAGIC;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Read a results file: a sweep's SQLite store (`ptlab sweep -o`), or JSONL of PointRecords. */
export function readRecords(file: string): PointRecord[] {
  if (isSqlite(file)) {
    let records: PointRecord[];
    try {
      records = readStore(file);
    } catch (e) {
      throw new ResultsError(`${file}: cannot read the sweep's store (${e instanceof Error ? e.message : String(e)})`);
    }
    if (records.length === 0) throw new ResultsError(`${file}: the store has no finished point yet`);
    return records;
  }
  let text: string;
  try {
    // Checked before reading: past the limit the file would not fit in one string anyway.
    if (statSync(file).size > MAX_RESULTS_BYTES) throw new ResultsError(`${file}: larger than ${MAX_RESULTS_BYTES / 2 ** 20} MiB: split the results`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ResultsError) throw e;
    throw new ResultsError(`${file}: cannot read the results (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseRecords(text, file);
}
