/**
 * A structure-aware fuzzer of scenario files (issue #17): fast-check mutations of the built-in
 * scenarios, and the contract every mutant must meet when given to the CLI.
 *
 * Mutations work on the parsed document, so that they hit the schema where it matters: a value of
 * the wrong type, a number out of range (negative, fractional, 2^32, 1e308), an unknown key
 * (including `__proto__`, `toString`, `constructor`), a key removed, a list element duplicated
 * or dropped, a value moved from elsewhere in the catalog; and on the text: YAML syntax broken
 * (a character dropped or inserted, a tab in the indentation, an undefined alias, an alias bomb).
 *
 * Contract (`runMutant`): the file is either accepted and runs (`check` with tight limits, or
 * `sim` for 20 µs: exit 0 or 1, or a run-time limit that names its flag), or rejected with exit 2
 * and a `file:line:col` position in the message. Never an exception out of main(), never a stack
 * trace on stderr.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { main } from '../../src/cli/main.js';

/** Every YAML file under a directory, sorted (the catalog's order does not depend on the disk). */
export function scenarioFiles(dir = 'scenarios'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...scenarioFiles(p));
    else if (e.endsWith('.yaml')) out.push(p);
  }
  return out;
}

export interface Seed {
  readonly file: string;
  readonly text: string;
  /** A sim scenario (repeat: forever, sim: section): run with `sim`, not `check`. */
  readonly sim: boolean;
}

export function seeds(files: readonly string[] = scenarioFiles()): Seed[] {
  return files.map((file) => {
    const text = readFileSync(file, 'utf8');
    return { file, text, sim: file.includes('/sim/') };
  });
}

/** Paths to every node of a document: keys and indices from the root. */
function paths(doc: Document): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  const walk = (node: unknown, path: Array<string | number>): void => {
    out.push(path);
    if (isMap(node)) for (const it of node.items) walk(it.value, [...path, isScalar(it.key) ? String(it.key.value) : String(it.key)]);
    else if (isSeq(node)) node.items.forEach((it, i) => walk(it, [...path, i]));
  };
  walk(doc.contents, []);
  return out;
}

/** Values of every kind a field might wrongly get. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, '', 'x', 'heap', 'A', 'forever', 'all', 'holds', 'violated', 'yes', '1e3', '-1', '0x10', '10ms', '1e23s', '5 furlongs', [], {}, [1, 2], { a: 1 }),
  fc.constantFrom(-1, 0, 1, 2, 3, 7, 8, 9, 64, 1024, 1025, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308, 0.5, 1.5, -0.0),
  fc.integer({ min: -5, max: 70000 }),
  fc.string({ maxLength: 12 }),
  fc.dictionary(fc.constantFrom('slot', 'page', 'name', 'start', 'end', 'mm', 'fn', 'x'), fc.constantFrom<unknown>(0, 1, 'heap', null), { maxKeys: 3 }),
);

const unknownKey = fc.oneof(fc.constantFrom('__proto__', 'toString', 'hasOwnProperty', 'constructor', 'valueOf', 'prototype', 'nmae', 'cpu', 'expected', 'invariant', 'Idle', ''), fc.string({ minLength: 1, maxLength: 8 }));

export type Mutation =
  | { readonly kind: 'set'; readonly at: number; readonly value: unknown }
  | { readonly kind: 'add-key'; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number }
  | { readonly kind: 'transplant'; readonly at: number; readonly from: number; readonly fromPath: number }
  | { readonly kind: 'text-drop'; readonly at: number; readonly length: number }
  | { readonly kind: 'text-insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'alias'; readonly at: number; readonly bomb: boolean };

/** A mutation; `at`, `from` and `fromPath` are picked modulo what the scenario has. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: wrongValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add-key' as const), at: fc.nat(), key: unknownKey, value: wrongValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('transplant' as const), at: fc.nat(), from: fc.nat(), fromPath: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('text-drop' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('text-insert' as const), at: fc.nat(), text: fc.constantFrom(':', '[', ']', '{', '}', '\t', '- ', '"', "'", '*x', '&a', '!!binary ', '? ', '|', '#', ' ', '\n  ', '%YAML 1.1\n', '---\n') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alias' as const), at: fc.nat(), bomb: fc.boolean() }) },
);

export interface Mutant {
  readonly base: Seed;
  readonly mutations: readonly Mutation[];
  readonly text: string;
  readonly sim: boolean;
}

/** An alias bomb ("billion laughs"): nine levels of nine aliases each. */
const BOMB = ['a0: &a0 [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`)].join('\n');

function applyOne(text: string, m: Mutation, all: readonly Seed[]): string {
  try {
    return applyUnsafe(text, m, all);
  } catch {
    // A document the yaml library cannot print back (an earlier mutation left an unresolved
    // alias): this mutation leaves the text as it is.
    return text;
  }
}

function applyUnsafe(text: string, m: Mutation, all: readonly Seed[]): string {
  switch (m.kind) {
    case 'text-drop': {
      const at = text.length ? m.at % text.length : 0;
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case 'text-insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'alias': {
      const lines = text.split('\n');
      const at = m.at % (lines.length + 1);
      if (m.bomb) return `${BOMB}\n${text}`;
      // An alias to an anchor that does not exist, as a value.
      lines.splice(at, 0, 'name: *undefined_anchor');
      return lines.join('\n');
    }
    default:
      break;
  }
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) return text;
  const ps = paths(doc);
  const path = ps[m.at % ps.length] as Array<string | number>;
  const parent = path.slice(0, -1);
  const node = path.length ? doc.getIn(path, true) : doc.contents;
  switch (m.kind) {
    case 'set':
      if (path.length === 0) return JSON.stringify(m.value);
      doc.setIn(path, doc.createNode(m.value));
      break;
    case 'add-key': {
      const target = isMap(node) ? path : parent;
      const map = target.length ? doc.getIn(target, true) : doc.contents;
      if (isMap(map)) map.add(doc.createPair(m.key, m.value));
      break;
    }
    case 'delete':
      if (path.length === 0) return '';
      doc.deleteIn(path);
      break;
    case 'duplicate': {
      const seq = parent.length ? doc.getIn(parent, true) : doc.contents;
      if (isSeq(seq) && node) seq.items.push((node as Node).clone?.() ?? node);
      break;
    }
    case 'transplant': {
      const other = all[m.from % all.length] as Seed;
      const od = parseDocument(other.text);
      const ops = paths(od);
      const from = ops[m.fromPath % ops.length] as Array<string | number>;
      const value = from.length ? od.getIn(from) : od.toJS();
      if (path.length === 0) return other.text;
      doc.setIn(path, doc.createNode(value));
      break;
    }
  }
  return doc.toString();
}

export function mutantArb(all: readonly Seed[]): fc.Arbitrary<Mutant> {
  return fc
    .record({ base: fc.nat({ max: all.length - 1 }), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), asSim: fc.boolean() })
    .map(({ base, mutations, asSim }) => {
      const seed = all[base] as Seed;
      let text = seed.text;
      for (const m of mutations) text = applyOne(text, m, all);
      return { base: seed, mutations, text, sim: seed.sim || (asSim && /\bsim:/.test(text)) };
    });
}

export interface Outcome {
  readonly code: number;
  readonly stderr: string;
  /** What broke the contract, or null. */
  readonly failure: string | null;
}

const POSITION = /:\d+:\d+: /;
/** A run-time limit of a scenario that is valid: it ran, and stopped at a limit that names its flag. */
const LIMIT = /--max-steps|--max-executions|--max-cpus|--max-memory|check\.max_steps/;

/**
 * Give the mutant to the CLI, in this process (main() with stdout and stderr captured), and
 * judge the outcome against the contract.
 */
export async function runMutant(mutant: Mutant, dir: string): Promise<Outcome> {
  const file = join(dir, 'mutant.yaml');
  writeFileSync(file, mutant.text);
  const argv = mutant.sim ? ['sim', file, '--duration', '20us', '--no-timing', '--max-cpus', '64'] : ['check', file, '--max-executions', '3', '--max-steps', '3000', '--no-timing', '--max-cpus', '64'];
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(argv, () => undefined);
  } catch (e) {
    return { code: -1, stderr, failure: `uncaught exception: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}` };
  } finally {
    process.stderr.write = write;
  }
  if (/\n\s+at .+[(:]\d+:\d+\)?/.test(stderr)) return { code, stderr, failure: 'a stack trace on stderr' };
  if (code === 0 || code === 1) return { code, stderr, failure: null };
  if (code === 2 && (POSITION.test(stderr) || LIMIT.test(stderr))) return { code, stderr, failure: null };
  return { code, stderr, failure: code === 2 ? 'rejected without a file:line:col position' : `exit ${code}` };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ptlab-fuzz-'));
}
