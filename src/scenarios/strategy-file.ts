/**
 * Strategy files: a strategy of the user's own, in a TypeScript or JavaScript file, with hooks at
 * the model's synchronisation points (src/model/strategy-hooks.ts, docs/strategies.md).
 *
 * The file default-exports a StrategyFile. Loading is synchronous, so that a scenario can name the
 * file as its preset and be resolved as any other:
 *  1. a .ts file is type-checked with TypeScript against ptlab's own types (`import type { ... }
 *     from 'ptlab'` resolves to them), and any syntax or type error is reported at its file, line
 *     and column;
 *  2. the file is transpiled to CommonJS and evaluated with a require() relative to it;
 *  3. its export is validated: id, kernel, known knobs with allowed values, known hooks that are
 *     generator functions (did-you-mean for names).
 * A file is loaded once per path and modification time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFunction } from 'node:vm';
import type ts from 'typescript';
import type { KernelConfig } from '../model/config.js';
import { HOOK_NAMES, PLAIN_HOOKS, type StrategyHooks } from '../model/strategy-hooks.js';
import { ScenarioError, type ScenarioIssue } from './loader.js';
import { knobSettings } from './schema.js';
import { didYouMean } from './suggest.js';
import { isStrategyPath, noteStrategyFile, setStrategyFileLoader, strategyById, type Strategy } from '../strategies/index.js';

/** What a strategy file default-exports. */
export interface StrategyFile {
  /** Its name in output and in `--preset`-style references: letters, digits, '.', '_', '-'. */
  readonly id: string;
  readonly title?: string;
  readonly description?: string;
  /** The kernel it is: a version or commit, a posted patch, or 'idea, not posted'. */
  readonly kernel: string;
  /** Knob settings the strategy starts from (as `ptlab list knobs` lists them). */
  readonly knobs?: Partial<KernelConfig>;
  readonly hooks?: StrategyHooks;
}

export { isStrategyPath };

const cache = new Map<string, { mtimeMs: number; strategy: Strategy }>();

/** TypeScript, loaded on the first strategy file only (it takes a while to load). */
let tsModule: typeof ts | undefined;
function typescript(): typeof ts {
  return (tsModule ??= createRequire(import.meta.url)('typescript') as typeof ts);
}

/** Load (once per path and mtime) the strategy file at `path`, relative to `base` (a directory). */
export function loadStrategyFile(path: string, base = process.cwd()): Strategy {
  const file = isAbsolute(path) ? path : resolve(base, path);
  let mtimeMs: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw fail(file, 'not a regular file');
    mtimeMs = st.mtimeMs;
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw fail(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such strategy file' : `cannot read it (${(e as Error).message})`);
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.strategy;
  const source = readFileSync(file, 'utf8');
  const ext = extname(file);
  if (!/^\.[cm]?[jt]s$/.test(ext)) throw fail(file, `a strategy file is TypeScript (.ts, .mts, .cts) or JavaScript (.js, .mjs, .cjs), not '${ext || 'no extension'}'`);
  if (/^\.[cm]?ts$/.test(ext) && !typeChecked(file, source)) typeCheck(file, source);
  const exported = evaluate(file, source);
  const strategy = validate(file, source, exported);
  cache.set(file, { mtimeMs, strategy });
  noteStrategyFile(strategy);
  return strategy;
}

function fail(file: string, message: string, pos: ScenarioIssue['pos'] = null): ScenarioError {
  return new ScenarioError([{ file, pos, path: '', message }]);
}

/** The package's root (where package.json is), from this module's place in src/ or dist/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('ptlab: cannot find the package root');
    dir = up;
  }
  return dir;
}

/** ptlab's types as `import type ... from 'ptlab'` sees them: the built declarations, else the sources. */
function ptlabTypes(): string {
  const root = packageRoot();
  const built = join(root, 'dist', 'index.d.ts');
  return existsSync(built) ? built : join(root, 'src', 'index.ts');
}

/**
 * A type check takes 1-3 s, so a clean one is remembered in the user's cache folder, keyed by the
 * file's path and text, ptlab's types and version; the files it imports are checked unchanged too.
 * Catalog workers and later runs then only transpile.
 */
function cacheEntry(file: string, source: string): string {
  const types = ptlabTypes();
  const key = createHash('sha256').update(`${file}\0${source}\0${types}\0${statSync(types).mtimeMs}\0${process.version}`).digest('hex');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ptlab', 'strategy-typecheck', key.slice(0, 32));
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function typeChecked(file: string, source: string): boolean {
  try {
    const deps = JSON.parse(readFileSync(cacheEntry(file, source), 'utf8')) as Array<[string, string]>;
    return deps.every(([f, h]) => digest(f) === h);
  } catch {
    return false;
  }
}

function noteTypeChecked(file: string, source: string, deps: readonly string[]): void {
  try {
    const entry = cacheEntry(file, source);
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, JSON.stringify(deps.map((f) => [f, digest(f)])));
  } catch {
    // A cache that cannot be written only costs the next run another check.
  }
}

/**
 * The globals a hook may use beyond ES2022: console, for debugging. (lib.dom would give it too,
 * at five times the cost of the whole check.)
 */
const GLOBALS_FILE = '/__ptlab_strategy_globals.d.ts';
const GLOBALS = 'declare const console: { log(...data: unknown[]): void; error(...data: unknown[]): void; warn(...data: unknown[]): void };\n';

function typeCheck(file: string, source: string): void {
  const ts = typescript();
  const root = packageRoot();
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    paths: { ptlab: [ptlabTypes()] },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === GLOBALS_FILE ? ts.createSourceFile(name, GLOBALS, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === GLOBALS_FILE || fileExists(name);
  const program = ts.createProgram([file, GLOBALS_FILE], options, host);
  // The user's files only: ptlab's declarations and the libs are not checked again (a second saved).
  const mine = program.getSourceFiles().filter((f) => f.fileName === file || (!program.isSourceFileDefaultLibrary(f) && !f.fileName.startsWith(root + '/') && !f.fileName.includes('/node_modules/') && f.fileName !== GLOBALS_FILE));
  const diags = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...mine.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)])];
  if (diags.length === 0) {
    noteTypeChecked(file, source, mine.map((f) => f.fileName).filter((f) => f !== file));
    return;
  }
  throw new ScenarioError(
    diags.slice(0, 20).map((d) => {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
      if (!d.file || d.start === undefined) return { file, pos: null, path: '', message: `TS${d.code}: ${msg}` };
      const lc = d.file.getLineAndCharacterOfPosition(d.start);
      return { file: d.file.fileName, pos: { line: lc.line + 1, col: lc.character + 1 }, path: '', message: `TS${d.code}: ${msg}` };
    }),
  );
}

function evaluate(file: string, source: string): unknown {
  const ts = typescript();
  // As CommonJS whatever the extension (TypeScript would keep an .mjs or .mts file ESM).
  const out = ts.transpileModule(source, {
    fileName: file.replace(/\.[cm]([jt]s)$/, '.$1'),
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, allowJs: true },
  });
  const syntax = out.diagnostics ?? [];
  if (syntax.length > 0) {
    throw new ScenarioError(
      syntax.slice(0, 20).map((d) => {
        const lc = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
        return { file, pos: lc ? { line: lc.line + 1, col: lc.character + 1 } : null, path: '', message: ts.flattenDiagnosticMessageText(d.messageText, '\n  ') };
      }),
    );
  }
  const module = { exports: {} as Record<string, unknown> };
  try {
    const fn = compileFunction(out.outputText, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
    fn(module.exports, createRequire(file), module, file, dirname(file));
  } catch (e) {
    const line = e instanceof Error ? new RegExp(`${escape(file)}:(\\d+):(\\d+)`).exec(e.stack ?? '') : null;
    throw fail(file, `loading it threw ${e instanceof Error ? e.message : String(e)}`, line ? { line: Number(line[1]), col: Number(line[2]) } : null);
  }
  const m = module.exports;
  return 'default' in m ? m.default : m;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The line and column of the first occurrence of `word` in the source, for a message. */
function posOf(source: string, word: string): ScenarioIssue['pos'] {
  const i = source.search(new RegExp(`\\b${escape(word)}\\b`));
  if (i < 0) return null;
  const before = source.slice(0, i).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function validate(file: string, source: string, x: unknown): Strategy & { readonly file: string } {
  const issues: ScenarioIssue[] = [];
  const at = (word: string, message: string): void => void issues.push({ file, pos: posOf(source, word), path: '', message });
  if (typeof x !== 'object' || x === null) throw fail(file, 'expected a default export: an object with id, kernel, and knobs and/or hooks (see docs/strategies.md)');
  const s = x as Record<string, unknown>;
  const known = ['id', 'title', 'description', 'kernel', 'knobs', 'hooks'];
  for (const key of Object.keys(s)) if (!known.includes(key)) at(key, `unknown field '${key}'${didYouMean(key, known)}; expected ${known.join(', ')}`);
  if (typeof s.id !== 'string' || !ID.test(s.id)) at('id', `id: expected a name of letters, digits, '.', '_' and '-', got ${JSON.stringify(s.id)}`);
  else if (strategyById(s.id)) at('id', `id: '${s.id}' is a built-in strategy's; give yours a name of its own`);
  if (typeof s.kernel !== 'string' || s.kernel.trim() === '') at('kernel', "kernel: expected the kernel it follows (a version, a commit, a posted patch, or 'idea, not posted')");
  for (const key of ['title', 'description']) if (s[key] !== undefined && typeof s[key] !== 'string') at(key, `${key}: expected a string`);
  let knobs: Partial<KernelConfig> = {};
  if (s.knobs !== undefined) {
    const r = knobSettings.safeParse(s.knobs);
    if (r.success) knobs = r.data as Partial<KernelConfig>;
    else {
      for (const i of r.error.issues) {
        const key = String(i.path[0] ?? (i.code === 'unrecognized_keys' ? i.keys[0] : 'knobs'));
        const hint = i.code === 'unrecognized_keys' ? `unknown knob '${i.keys[0]}'${didYouMean(String(i.keys[0]), Object.keys(knobSettings.shape))}` : i.message;
        at(key, `knobs.${key}: ${hint}`);
      }
    }
  }
  const hooks: Record<string, unknown> = {};
  if (s.hooks !== undefined) {
    if (typeof s.hooks !== 'object' || s.hooks === null) at('hooks', 'hooks: expected an object of hook functions');
    else {
      for (const [name, fn] of Object.entries(s.hooks)) {
        if (!(HOOK_NAMES as readonly string[]).includes(name)) {
          at(name, `unknown hook '${name}'${didYouMean(name, HOOK_NAMES)}; the hooks are ${HOOK_NAMES.join(', ')}`);
        } else if (typeof fn !== 'function') {
          at(name, `hook ${name}: expected a function, got ${fn === null ? 'null' : typeof fn}`);
        } else if (PLAIN_HOOKS.has(name) !== (fn.constructor.name !== 'GeneratorFunction')) {
          at(name, PLAIN_HOOKS.has(name) ? `hook ${name}: expected a plain function returning a boolean, not a generator function` : `hook ${name}: expected a generator function (\`*${name}(api, ctx) { ... }\`), got ${fn.constructor.name === 'AsyncFunction' ? 'an async function' : 'a plain function'}`);
        } else hooks[name] = fn;
      }
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  return {
    id: s.id as string,
    title: (s.title as string | undefined) ?? `${s.id as string} (${file})`,
    description: (s.description as string | undefined) ?? '',
    kernel: s.kernel as string,
    knobs,
    hooks: hooks as StrategyHooks,
    file,
  };
}

// Presets that name files resolve through this loader (src/scenarios/resolve.ts).
setStrategyFileLoader((path, scenarioFile) => loadStrategyFile(path, scenarioFile !== null && existsSync(scenarioFile) ? dirname(scenarioFile) : process.cwd()));
