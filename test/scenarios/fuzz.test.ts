/**
 * The scenario fuzzer (scenario-fuzz.ts) at a fixed seed: mutants of the built-in scenarios are
 * accepted and run, or rejected with exit 2 and a file:line:col position; never an uncaught
 * exception or a stack trace. The long run: `npm run fuzz:scenarios -- --seed S --runs N`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutantArb, runMutant, seeds, tempDir, type Mutant } from './scenario-fuzz.js';

describe('scenario fuzzer', () => {
  const all = seeds();
  const dir = tempDir();

  it('judges known inputs as the contract says', async () => {
    const base = all.find((s) => s.file.endsWith('munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml'));
    if (!base) throw new Error('catalog scenario missing');
    const as = (text: string): Mutant => ({ base, mutations: [], text, sim: false });
    // The scenario itself: accepted, runs, its verdicts as expected.
    expect(await runMutant(as(base.text), dir)).toMatchObject({ code: 0, failure: null });
    // An undefined alias and an alias bomb: exit 2 with a position.
    const undef = await runMutant(as(base.text.replace(/^name: .*$/m, 'name: *nowhere')), dir);
    expect(undef).toMatchObject({ code: 2, failure: null });
    expect(undef.stderr).toMatch(/mutant\.yaml:\d+:7: error: .*[Uu]nresolved alias/);
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`)].join('\n');
    expect(await runMutant(as(`${bomb}\n${base.text}`), dir)).toMatchObject({ code: 2, failure: null });
    // A wrong type, and a key named like an Object.prototype member.
    expect((await runMutant(as(base.text.replace('cpus: 3', 'cpus: three')), dir)).stderr).toMatch(/:\d+:\d+: error: machine\.cpus/);
    expect((await runMutant(as(`${base.text}\ntoString: 1\n`), dir)).stderr).toMatch(/:\d+:\d+: error: .*toString/);
  }, 60_000);

  it('holds on 250 mutants at a fixed seed', async () => {
    const outcomes = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(mutantArb(all), async (m) => {
        const o = await runMutant(m, dir);
        if (o.failure) throw new Error(`${o.failure}\n--- input (from ${m.base.file}, ${JSON.stringify(m.mutations)}) ---\n${m.text}\n--- stderr ---\n${o.stderr}`);
        if (o.code === 2) outcomes.rejected++;
        else outcomes.accepted++;
      }),
      { seed: 20261204, numRuns: 250, endOnFailure: true },
    );
    // Both sides of the contract are exercised.
    expect(outcomes.accepted).toBeGreaterThan(10);
    expect(outcomes.rejected).toBeGreaterThan(100);
  }, 120_000);
});
