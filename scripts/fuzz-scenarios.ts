/**
 * The scenario fuzzer's long run (test/scenarios/scenario-fuzz.ts): mutants of every built-in
 * scenario given to the CLI, each either accepted and run or rejected with exit 2 and a
 * file:line:col position; never an uncaught exception or a stack trace. Prints a summary of the
 * outcomes and each contract failure (shrunk by fast-check) with its input, and exits 1 if any.
 *
 *   npm run fuzz:scenarios -- --seed 42 --runs 2000 [--out DIR]   # failing inputs are written to DIR
 */
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mutantArb, runMutant, seeds, tempDir, type Mutant } from '../test/scenarios/scenario-fuzz.js';

const { values: args } = parseArgs({ options: { seed: { type: 'string', default: '42' }, runs: { type: 'string', default: '1000' }, out: { type: 'string' } } });
const num = (name: string, v: string): number => {
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`fuzz:scenarios: --${name} wants a non-negative integer, got '${v}'\n`);
    process.exit(2);
  }
  return Number(v);
};
const seed = num('seed', args.seed);
const runs = num('runs', args.runs);
const all = seeds();
const dir = tempDir();
const tally = new Map<string, number>();
const t0 = Date.now();
let n = 0;

const result = await fc.check(
  fc.asyncProperty(mutantArb(all), async (m: Mutant) => {
    const o = await runMutant(m, dir);
    const key = o.failure ? `FAIL ${o.failure}` : o.code === 2 ? 'rejected (exit 2, with position)' : `accepted and ran (exit ${o.code})`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    if (++n % 100 === 0) process.stderr.write(`fuzz:scenarios: ${n}/${runs} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    if (o.failure) throw new Error(`${o.failure}\n--- stderr ---\n${o.stderr}`);
  }),
  { seed, numRuns: runs, endOnFailure: true },
);

process.stdout.write(`fuzz:scenarios: seed ${seed}, ${n} inputs (shrinking included) from ${all.length} scenarios in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
for (const [k, v] of [...tally].sort()) process.stdout.write(`  ${String(v).padStart(6)}  ${k}\n`);
if (result.failed) {
  const m = result.counterexample?.[0] as Mutant;
  process.stdout.write(`\nFAILED after ${result.numRuns} runs (seed ${seed}, path ${result.counterexamplePath}); shrunk input, from ${m.base.file} by ${JSON.stringify(m.mutations)}:\n\n${m.text}\n\n${String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance)}\n`);
  if (args.out) {
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, `fail-${seed}.yaml`), m.text);
  }
  process.exit(1);
}
