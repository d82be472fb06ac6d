/**
 * A ProgramSpec as TypeScript source, ready to paste into a regression test: one thread per
 * line, keys unquoted, strings in single quotes, e.g.
 *
 *   {
 *     threads: [
 *       { kind: 'agent', cpu: null, ops: [{ op: 'lock', m: 'm' }, { op: 'unlock', m: 'm' }] },
 *     ],
 *     properties: [],
 *   }
 */
import type { ProgramSpec } from './program-spec.js';

/** A JSON-able value as a one-line TypeScript literal. */
export function literal(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${literal(x)}`).join(', ')} }`;
  }
  throw new Error(`not a JSON value: ${String(v)}`);
}

/** `spec` as a multi-line literal, indented by `indent`. */
export function specLiteral(spec: ProgramSpec, indent = ''): string {
  const i1 = `${indent}  `;
  const i2 = `${indent}    `;
  const lines = ['{'];
  if (spec.memoryModel !== undefined) lines.push(`${i1}memoryModel: ${literal(spec.memoryModel)},`);
  lines.push(`${i1}threads: [`, ...spec.threads.map((t) => `${i2}${literal(t)},`), `${i1}],`);
  lines.push(spec.properties.length === 0 ? `${i1}properties: [],` : `${i1}properties: [${spec.properties.map(literal).join(', ')}],`);
  lines.push(`${indent}}`);
  return lines.join('\n');
}
