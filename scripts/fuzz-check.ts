/**
 * A differential-testing campaign against the checker: run many random programs
 * (test/toys/random-programs.ts) through every reduction and the exploration of every
 * interleaving (test/toys/differential.ts), then print what was covered and every kind of
 * disagreement found, each shrunk (fast-check, then minimize()) to a literal ready to paste into
 * test/engines/check/differential-regressions.test.ts, with the seed and path that reproduce it.
 * Exit status 1 when some program disagreed.
 *
 *   npm run fuzz:check -- --runs 100000 --seed 42 [--profile every-op] [--cap 2000] [--max-shrinks 20]
 *   npm run fuzz:check -- --seed 42 --path 1234:5:0     # the program at that path, again
 *
 * A failing program is shrunk only when its class (which reductions disagree how, and whether
 * the program blocks, has a cas, spawns) is new, at most --max-shrinks times, keeping every kind
 * of disagreement it shows, by the same reductions; the others are counted in their class.
 */
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { Coverage } from '../test/toys/coverage.js';
import { compareReductions, type Comparison } from '../test/toys/differential.js';
import { minimize } from '../test/toys/minimize.js';
import { mayBlock, programOps, programThreads, type ProgramSpec } from '../test/toys/program-spec.js';
import { arbProgram, PROFILES, type ProfileName } from '../test/toys/random-programs.js';
import { specLiteral } from '../test/toys/spec-literal.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '42' },
    profile: { type: 'string', default: 'every-op' },
    cap: { type: 'string', default: '2000' },
    'max-shrinks': { type: 'string', default: '20' },
    path: { type: 'string' },
  },
});

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) usage(`--${name} wants a non-negative integer, got '${text}'`);
  return n;
}

function usage(message: string): never {
  process.stderr.write(`fuzz:check: ${message}\nprofiles: ${Object.keys(PROFILES).join(', ')}\n`);
  process.exit(2);
}

if (!(args.profile in PROFILES)) usage(`unknown profile '${args.profile}'`);
const profile = args.profile as ProfileName;
const runs = count('runs', args.runs);
const seed = count('seed', args.seed);
const cap = count('cap', args.cap);
const maxShrinks = count('max-shrinks', args['max-shrinks']);
const arb = arbProgram(PROFILES[profile]);

/** Which reductions disagree how, e.g. `dpor:traces,source-dpor:traces`. */
function kindsOf(c: Comparison): string {
  return [...new Set(c.disagreements.map((d) => `${d.reduction}:${d.kind}`))].sort().join(',');
}

/** A failing program's class: the kinds of disagreement and the coarse features of the program. */
function classOf(spec: ProgramSpec, c: Comparison): string {
  const ops = new Set([...programOps(spec)].map((o) => o.op));
  const features = [mayBlock(spec) ? 'blocking' : '', ops.has('cas') ? 'cas' : '', ops.has('spawn') ? 'spawn' : ''].filter((f) => f !== '');
  return `${kindsOf(c)} in programs with ${features.length > 0 ? features.join(', ') : 'no blocking, cas or spawn'}`;
}

/** What a minimised program contains: its op kinds, non-agent threads, memory model. */
function featuresOf(spec: ProgramSpec): string {
  const f = new Set<string>([...programOps(spec)].map((o) => o.op));
  for (const t of programThreads(spec)) if (t.kind !== 'agent') f.add(`${t.kind} thread`);
  if (spec.memoryModel === 'tso') f.add('TSO');
  return [...f].sort().join(', ');
}

function reproduce(path: string): string {
  return `npm run fuzz:check -- --profile ${profile} --seed ${seed} --path ${path}`;
}

/** The kinds of disagreement of a comparison, each with its reduction (`dpor:traces`). */
function kindSet(c: Comparison): ReadonlySet<string> {
  return new Set(c.disagreements.map((d) => `${d.reduction}:${d.kind}`));
}

/**
 * Does `spec` still show every kind of disagreement in `kinds`, with no other reduction
 * disagreeing? (What shrinking keeps: a bug of one reduction stays a bug of that one.)
 */
function stillFails(spec: ProgramSpec, kinds: ReadonlySet<string>): boolean {
  const c = compareReductions(spec, { cap });
  const found = kindSet(c);
  const reductions = new Set([...kinds].map((k) => k.split(':')[0]));
  return [...kinds].every((k) => found.has(k)) && c.disagreements.every((d) => reductions.has(d.reduction));
}

/** Minimise a failing program, keeping its kinds of disagreement (stillFails()), and describe it. */
function describeFailure(spec: ProgramSpec, path: string): { signature: string; text: string } {
  const kinds = kindSet(compareReductions(spec, { cap }));
  const small = minimize(spec, (s) => stillFails(s, kinds));
  const c = compareReductions(small, { cap });
  const signature = `${kindsOf(c)} | ${featuresOf(small)}`;
  const text = [
    `  reproduce: ${reproduce(path)}`,
    '  minimised program (for differential-regressions.test.ts):',
    `    spec: ${specLiteral(small, '    ')},`,
    '  disagreements:',
    ...c.disagreements.map((d) => `    ${d.message}`),
  ].join('\n');
  return { signature, text };
}

if (args.path !== undefined) {
  // Replay: the program at that path (a run index, then fast-check's shrink steps).
  const [spec] = fc.sample(arb, { seed, path: args.path, numRuns: 1 }) as [ProgramSpec];
  const c = compareReductions(spec, { cap });
  process.stdout.write(`program at ${args.path}:\n    spec: ${specLiteral(spec, '    ')},\n`);
  if (c.skipped) process.stdout.write(`skipped: more than ${cap} executions without reduction\n`);
  if (c.disagreements.length === 0) process.exit(0);
  process.stdout.write(`disagreements:\n${c.disagreements.map((d) => `    ${d.message}\n`).join('')}`);
  process.stdout.write(`${describeFailure(spec, args.path).text}\n`);
  process.exit(1);
}

const coverage = new Coverage();
/** Failing programs by class, with the report of the shrunk one (if it was shrunk). */
const classes = new Map<string, { count: number; report: number | null }>();
/** Reports by the minimised program's signature. */
const reports = new Map<string, { number: number; count: number }>();
let failing = 0;
let shrinks = 0;
/** Set once fast-check starts shrinking a failure: those runs are not part of the campaign. */
let shrinking = false;
let pendingClass = '';
let pendingKinds: ReadonlySet<string> = new Set();
const started = Date.now();
let lastProgress = started;

function progress(): void {
  const now = Date.now();
  if (now - lastProgress < 5000) return;
  lastProgress = now;
  const rate = Math.round(coverage.programs / ((now - started) / 1000));
  process.stderr.write(`fuzz:check: ${coverage.programs}/${runs} programs, ${coverage.skipped} skipped, ${failing} disagreeing in ${classes.size} classes, ${rate} programs/s\n`);
}

const property = fc.property(arb, (spec) => {
  if (shrinking) return !stillFails(spec, pendingKinds);
  const c = compareReductions(spec, { cap });
  coverage.add(spec, c);
  progress();
  if (c.disagreements.length === 0) return true;
  failing++;
  const cls = classOf(spec, c);
  const known = classes.get(cls);
  if (known) {
    known.count++;
    return true;
  }
  if (shrinks >= maxShrinks) {
    classes.set(cls, { count: 1, report: null });
    return true;
  }
  // A new class: let fast-check shrink this one.
  pendingClass = cls;
  pendingKinds = kindSet(c);
  shrinking = true;
  return false;
});

process.stdout.write(`fuzz:check: profile ${profile}, seed ${seed}, ${runs} programs, cap ${cap} executions\n`);
for (let start = 0; start < runs; ) {
  shrinking = false;
  const out = fc.check(property, { seed, numRuns: runs - start, path: start > 0 ? String(start) : undefined });
  if (!out.failed) break;
  const path = out.counterexamplePath as string;
  if (!shrinking) {
    // The property threw outside a comparison: a bug of the harness itself.
    process.stderr.write(`fuzz:check: the harness failed at ${path}: ${String(out.errorInstance)}\n`);
    process.exit(2);
  }
  shrinks++;
  const [spec] = out.counterexample as [ProgramSpec];
  const { signature, text } = describeFailure(spec, path);
  let report = reports.get(signature);
  if (report) report.count++;
  else {
    reports.set(signature, (report = { number: reports.size + 1, count: 1 }));
    process.stdout.write(`\ndisagreement #${report.number}: ${signature}\n  class: ${pendingClass}\n${text}\n`);
  }
  classes.set(pendingClass, { count: 1, report: report.number });
  start = Number(path.split(':')[0]) + 1;
}

const seconds = (Date.now() - started) / 1000;
const lines = [
  '',
  `fuzz:check: profile ${profile}, seed ${seed}, ${seconds.toFixed(1)} s (${Math.round(coverage.programs / seconds)} programs/s)`,
  ...coverage.format(cap),
  `disagreements: ${failing} programs in ${classes.size} classes, ${reports.size} distinct minimised reports`,
  ...[...classes].sort((a, b) => b[1].count - a[1].count).map(([cls, { count, report }]) => `  ${String(count).padStart(6)}  ${cls}${report === null ? ' (not shrunk: --max-shrinks reached)' : ` (report #${report})`}`),
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(failing > 0 ? 1 : 0);
