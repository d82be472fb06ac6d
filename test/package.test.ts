/**
 * The packed package, as a user gets it: `npm pack` (which builds), installed in a temporary
 * directory, then imported from an ESM script and type-checked from a TypeScript file with the
 * repository's tsc; the installed `ptlab` command still runs. One build for all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
let dir = '';

// Asynchronous, so that the test worker keeps answering vitest while npm builds and packs (a
// synchronous call blocked it long enough, on a loaded machine, for vitest's RPC to time out).
const run = async (cmd: string, args: string[], cwd: string): Promise<string> => (await promisify(execFile)(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })).stdout;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptlab-pack-'));
  await run('npm', ['pack', '--silent', '--pack-destination', dir], repo);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball in ${dir}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'uses-ptlab', private: true, type: 'module' }));
  await run('npm', ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--silent'], dir);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the library, the CLI, the built-in scenarios, the schemas and the license', () => {
    const pkg = join(dir, 'node_modules', 'ptlab');
    const top = readdirSync(pkg).sort();
    for (const f of ['LICENSE', 'README.md', 'bin', 'dist', 'docs', 'package.json', 'scenarios', 'schemas']) expect(top).toContain(f);
    expect(readdirSync(join(pkg, 'dist'))).toContain('index.d.ts');
    expect(readdirSync(join(pkg, 'schemas'))).toContain('scenario.json');
  });

  it("imports from an ESM script: import { check, loadScenario } from 'ptlab'", async () => {
    writeFileSync(join(dir, 'use.mjs'), `
import { check, loadScenario, builtinScenarioDir } from 'ptlab';
import { join } from 'node:path';
const file = join(builtinScenarioDir(), 'check/munmap-vs-gup-fast/no-sync+arm64+batch-succeeds.yaml');
const s = loadScenario(file);
const run = check(s, { set: { batch_alloc: 'fails' } });
const v = run.result.verdicts.find((x) => x.id === 'no-walk-of-freed-table');
console.log(JSON.stringify({ arch: s.resolved.arch, status: v.status, exhaustive: run.result.exhaustive, schedule: v.counterexample !== null }));
`);
    expect(JSON.parse(await run('node', ['use.mjs'], dir))).toEqual({ arch: 'arm64', status: 'violated', exhaustive: true, schedule: true });
  });

  it("type-checks a TypeScript file against the package's types (tsc --noEmit)", async () => {
    writeFileSync(join(dir, 'use.ts'), `
import { check, simulate, loadScenario, compare, type CheckRun, type ScenarioInput, type VerdictStatus } from 'ptlab';
const scenario: ScenarioInput = {
  name: 'typed',
  machine: { arch: 'x86', cpus: 2 },
  mm: { A: { vmas: [{ name: 'heap', start: 0, end: 1 }] } },
  cpus: [{ mm: 'A', run: [{ munmap: 'heap' }] }, { mm: 'A', run: [{ gup_fast: { slot: 0 } }] }],
};
const run: CheckRun = check(scenario, { set: { batch_alloc: 'fails' }, mode: { kind: 'exhaustive' } });
const statuses: VerdictStatus[] = run.result.verdicts.map((v) => v.status);
const ok: boolean = compare(loadScenario(scenario).expect, run.result).ok;
const ns: number = simulate(scenario, { duration: 1_000_000, seed: 1 }).run.result.time;
// @ts-expect-error: a knob's value is typed
check(scenario, { set: { batch_alloc: 42 } });
export { statuses, ok, ns };
`);
    // skipLibCheck, as most projects have it: the package's .d.ts files were checked when built;
    // checking them again with zod's and Node's declarations takes 20 s instead of 6.
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')] },
      files: ['use.ts'],
    }));
    expect(await run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir)).toBe('');
  });

  it('installs the ptlab command', async () => {
    const out = await run(join(dir, 'node_modules', '.bin', 'ptlab'), ['check', join(dir, 'node_modules', 'ptlab', 'scenarios', 'check', 'munmap-vs-gup-fast', 'no-sync+arm64+batch-fails.yaml'), '--no-timing'], dir);
    expect(out).toMatch(/no-walk-of-freed-table\s+violated\s+violated/);
  });
});
