/**
 * Loading a scenario file: YAML with positions, validated at the boundary. Every error names the
 * file, the line and column, the path inside the document, and what was expected.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { scenarioSchema, type ScenarioData } from './schema.js';
import { didYouMean, keysAt } from './suggest.js';

export interface SourcePos {
  readonly line: number;
  readonly col: number;
}

export interface ScenarioIssue {
  readonly file: string;
  readonly pos: SourcePos | null;
  /** Path inside the document, e.g. `cpus[1].run[0]`. */
  readonly path: string;
  readonly message: string;
}

/** Issues in source order; those without a position (command-line overrides) first. */
function bySource(a: ScenarioIssue, b: ScenarioIssue): number {
  const ka = a.pos ? a.pos.line * 100_000 + a.pos.col : -1;
  const kb = b.pos ? b.pos.line * 100_000 + b.pos.col : -1;
  return ka - kb;
}

export class ScenarioError extends Error {
  readonly issues: readonly ScenarioIssue[];
  constructor(unsorted: readonly ScenarioIssue[]) {
    const issues = [...unsorted].sort(bySource);
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ScenarioError';
    this.issues = issues;
  }
}

export function formatIssue(i: ScenarioIssue): string {
  const where = i.pos ? `${i.file}:${i.pos.line}:${i.pos.col}` : i.file;
  return `${where}: error: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** A parsed scenario file: the data, and a way back from a path to a position. */
export interface ScenarioFile {
  readonly file: string;
  readonly source: string;
  readonly data: ScenarioData;
  /** Position of the node at `path` (or of its nearest existing ancestor). */
  posOf(path: ReadonlyArray<PropertyKey>, key?: string): SourcePos | null;
  issue(path: ReadonlyArray<PropertyKey>, message: string, key?: string): ScenarioIssue;
}

function positions(doc: Document, lc: LineCounter) {
  // Each mapping's pairs indexed by key once: a lookup per problem stays cheap when a mapping has
  // many keys (50,000 unknown keys under expect: used to take 35 s).
  const index = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: string): Pair | undefined => {
    let m = index.get(map);
    if (!m) {
      m = new Map();
      for (const it of map.items) if (isPair(it) && isScalar(it.key) && !m.has(String(it.key.value))) m.set(String(it.key.value), it);
      index.set(map, m);
    }
    return m.get(key);
  };
  const nodeAt = (keys: ReadonlyArray<string | number>): Node | undefined => {
    let node: unknown = doc.contents;
    for (const k of keys) {
      if (isMap(node)) node = pairOf(node, String(k))?.value;
      else if (isSeq(node) && typeof k === 'number') node = node.items[k];
      else return undefined;
    }
    return node as Node | undefined;
  };
  return (path: ReadonlyArray<PropertyKey>, key?: string): SourcePos | null => {
    const keys = path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    for (let n = keys.length; n >= 0; n--) {
      const node = nodeAt(keys.slice(0, n));
      if (!node || !('range' in node) || !node.range) continue;
      if (n === keys.length && key !== undefined && isMap(node)) {
        const pair = pairOf(node, key);
        if (pair && isScalar(pair.key) && pair.key.range) {
          const p = lc.linePos(pair.key.range[0]);
          return { line: p.line, col: p.col };
        }
      }
      const p = lc.linePos(node.range[0]);
      return { line: p.line, col: p.col };
    }
    return null;
  };
}

/** A zod error as issues placed by `posOf`; `schema` is the one validated against (for did-you-mean on unknown keys). */
export function zodIssues(file: string, posOf: ScenarioFile['posOf'], error: z.ZodError, schema: z.ZodType = scenarioSchema): ScenarioIssue[] {
  const out: ScenarioIssue[] = [];
  for (const iss of error.issues) {
    const parent = iss.path.slice(0, -1);
    const last = iss.path[iss.path.length - 1];
    if (iss.code === 'invalid_type' && /received undefined$/.test(iss.message) && typeof last === 'string') {
      out.push({ file, pos: posOf(parent), path: formatPath(iss.path), message: `missing key '${last}' (${iss.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})` });
      continue;
    }
    if (iss.code === 'invalid_key' && typeof last === 'string') {
      const why = iss.issues.map((i) => i.message).join('; ');
      out.push({ file, pos: posOf(parent, last), path: formatPath(iss.path), message: `invalid name '${last}': ${why}` });
      continue;
    }
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) {
        out.push({ file, pos: posOf(iss.path, key), path: formatPath([...iss.path, key]), message: `unknown key '${key}'${didYouMean(key, keysAt(schema, iss.path))}` });
      }
      continue;
    }
    out.push({ file, pos: posOf(iss.path), path: formatPath(iss.path), message: iss.message });
  }
  return out;
}

/**
 * A YAML syntax error in a scenario's terms: what to fix in the file, with the YAML library's
 * own words after it for the cases it names precisely.
 */
export function yamlMessage(code: string, message: string): string {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indentation: use spaces, not tabs';
    case 'DUPLICATE_KEY':
      return 'this key appears twice in the same mapping';
    case 'BAD_INDENT':
      if (/sequence items/i.test(message)) return "indentation: the items of a list (each '- ' under cpus:, vmas:, run:, walks:) must start in the same column";
      if (/mapping items/i.test(message)) return 'indentation: the keys of a mapping must start in the same column as the key above them';
      if (/flow map/i.test(message)) return "a '{ ... }' mapping is not closed with '}' on its line, or its next line is not indented under its key";
      if (/flow seq/i.test(message)) return "a '[ ... ]' list is not closed with ']' on its line, or its next line is not indented under its key";
      return `indentation: ${message}`;
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return "indentation: this line is indented deeper than the key before it; a key's value goes after its colon, or on the lines below indented under the key";
    case 'MISSING_CHAR':
      if (/without - indicator/i.test(message)) return "this line is in a list but does not start with '- '; indent it under the item it belongs to, or start a new item";
      return `YAML: ${message}`;
    default:
      return `YAML: ${message}`;
  }
}

/** Parse and validate scenario text. Throws ScenarioError with every problem found. */
export function parseScenario(source: string, file: string): ScenarioFile {
  const { raw, posOf } = parseYaml(source, file);
  return validateScenario(raw, file, source, posOf, { line: 1, col: 1 });
}

/**
 * YAML text as plain data, and a way back from a path in it to a line and column: the YAML
 * checks every ptlab file goes through (syntax, duplicate keys, `__proto__`, aliases). Throws
 * ScenarioError.
 */
export function parseYaml(source: string, file: string): { raw: unknown; posOf: ScenarioFile['posOf'] } {
  const lc = new LineCounter();
  // Duplicate keys are found below with a set per mapping: the YAML library's own check
  // (uniqueKeys) compares every pair with every other, quadratic in a mapping's size.
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    const issues: ScenarioIssue[] = [];
    for (const e of doc.errors) {
      const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      // One problem often gives two errors at the same place; the first says it best.
      if (seen.has(`${p.line}:${p.col}`)) continue;
      seen.add(`${p.line}:${p.col}`);
      issues.push({ file, pos: { line: p.line, col: p.col }, path: '', message: yamlMessage(e.code, e.message.split('\n')[0] as string) });
    }
    throw new ScenarioError(issues);
  }
  // One pass over the mappings' keys: duplicates, and `__proto__`, which toJS() would turn into
  // the object's prototype and drop silently.
  const duplicates: ScenarioIssue[] = [];
  const reserved: ScenarioIssue[] = [];
  const at = (range: readonly number[], message: string): ScenarioIssue => {
    const p = lc.linePos(range[0] as number);
    return { file, pos: { line: p.line, col: p.col }, path: '', message };
  };
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const it of map.items) {
        if (!isPair(it) || !isScalar(it.key) || !it.key.range) continue;
        const k = String(it.key.value);
        if (seen.has(k)) duplicates.push(at(it.key.range, yamlMessage('DUPLICATE_KEY', '')));
        if (it.key.value === '__proto__') reserved.push(at(it.key.range, "'__proto__' is a reserved name"));
        seen.add(k);
      }
    },
  });
  if (duplicates.length > 0) throw new ScenarioError(duplicates);
  if (reserved.length > 0) throw new ScenarioError(reserved);
  const posOf = positions(doc, lc);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias to no anchor, or aliases that expand past maxAliasCount (an "alias bomb").
    if (!(e instanceof ReferenceError)) throw e;
    let at = { line: 1, col: 1 };
    visit(doc, {
      Alias(_, node) {
        if (node.range) {
          at = lc.linePos(node.range[0]);
          return visit.BREAK;
        }
        return undefined;
      },
    });
    throw new ScenarioError([{ file, pos: { line: at.line, col: at.col }, path: '', message: `YAML: ${e.message.split('\n')[0]}` }]);
  }
  return { raw, posOf };
}

/** Validate parsed scenario data: the schema, with issues placed by `posOf` where it knows. */
function validateScenario(raw: unknown, file: string, source: string, posOf: ScenarioFile['posOf'], top: SourcePos | null): ScenarioFile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError([{ file, pos: top, path: '', message: 'expected a mapping with name, machine, cpus, ...' }]);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(zodIssues(file, posOf, parsed.error));
  return {
    file,
    source,
    data: parsed.data,
    posOf,
    issue: (path, message, key) => ({ file, pos: posOf(path, key), path: formatPath(key ? [...path, key] : path), message }),
  };
}

/**
 * Validate a scenario given as data (a parsed YAML or JSON object, for the library API): the same
 * schema and checks as a file; with no source text, issues name their path in the object
 * (`cpus[1].run[0]`) instead of a line and column. `file` names the scenario in messages and results.
 */
export function scenarioFromData(data: unknown, file = '<object>'): ScenarioFile {
  // A JSON.parse()d object can carry an own '__proto__' key, which the YAML loader refuses too.
  if (data !== null && typeof data === 'object' && Object.hasOwn(data, '__proto__')) {
    throw new ScenarioError([{ file, pos: null, path: '', message: "'__proto__' is a reserved name" }]);
  }
  return validateScenario(data, file, '', () => null, null);
}

/** The largest scenario file read (the catalog's largest is under 4 KB). */
export const MAX_SCENARIO_BYTES = 1 << 20;

/** Read and parse a scenario file. */
export function loadScenario(file: string): ScenarioFile {
  return parseScenario(readBounded(file, 'scenario'), file);
}

/** The text of a file of at most MAX_SCENARIO_BYTES (a scenario, a study); `what` names it in errors. */
export function readBounded(file: string, what: string): string {
  let source: string;
  try {
    // Read at most one byte past the limit: a device such as /dev/zero never ends.
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_SCENARIO_BYTES + 1);
      let n = 0;
      for (;;) {
        const r = readSync(fd, buf, n, buf.length - n, null);
        n += r;
        if (r === 0 || n === buf.length) break;
      }
      if (n > MAX_SCENARIO_BYTES) throw new ScenarioError([{ file, pos: null, path: '', message: `${what} file larger than ${MAX_SCENARIO_BYTES} bytes` }]);
      source = buf.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const why = e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);
    throw new ScenarioError([{ file, pos: null, path: '', message: `cannot read ${what} (${why})` }]);
  }
  return source;
}
