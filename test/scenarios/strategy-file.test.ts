/**
 * Strategy files (src/scenarios/strategy-file.ts): loading, the errors a file can have, and the strategy
 * as a preset of scenarios and of the CLI. The hooks' behaviour in the model is in
 * test/model/strategy-hooks.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from '../cli/capture.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isStrategyPath, loadStrategyFile } from '../../src/scenarios/strategy-file.js';
import { strategies } from '../../src/strategies/index.js';
import { ScenarioError } from '../../src/scenarios/loader.js';
import { check } from '../../src/index.js';

const EXAMPLE = resolve('examples/strategies/mm-cpumask-lazy.ts');
const FALLBACK = (arch: string): string => `scenarios/check/munmap-vs-gup-fast/broadcast-ipi+${arch}+batch-fails.yaml`;

const dir = mkdtempSync(join(tmpdir(), 'ptlab-strategy-'));
let n = 0;
/** A strategy file in a fresh temporary folder (unique names: loads are cached per path). */
function file(body: string, ext = 'ts'): string {
  const f = join(dir, `s${n++}.${ext}`);
  writeFileSync(f, body);
  return f;
}

function errorOf(f: () => unknown): ScenarioError {
  try {
    f();
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

const HEAD = "import type { StrategyFile } from 'ptlab';\n";

describe('loadStrategyFile', () => {
  it('loads the example: its id, kernel, knobs and hook; strategies() then lists it after the built-ins', () => {
    const s = loadStrategyFile(EXAMPLE);
    expect(s.id).toBe('mm-cpumask-lazy');
    expect(s.kernel).toMatch(/^idea, not posted/);
    expect(s.knobs).toEqual({ pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: false });
    expect(Object.keys(s.hooks ?? {})).toEqual(['tlb_remove_table_sync_one']);
    expect(s.file).toBe(EXAMPLE);
    const ids = strategies().map((x) => x.id);
    expect(ids.indexOf('mm-cpumask-lazy')).toBe(ids.length - 1);
    expect(ids).toContain('broadcast-ipi');
  });

  it('tells a path from a preset name', () => {
    expect(isStrategyPath('./x.ts')).toBe(true);
    expect(isStrategyPath('x.js')).toBe(true);
    expect(isStrategyPath('dir/x')).toBe(true);
    expect(isStrategyPath('sync-rcu-v1')).toBe(false);
  });

  it('a syntax error: file, line and column', () => {
    const f = file(`${HEAD}export default {\n  id: 'x',\n  kernel: 'idea',\n  hooks: { *tlb_remove_table_sync_one(api) { yield* api.smp_call_function( } },\n};\n`);
    const e = errorOf(() => loadStrategyFile(f));
    expect(e.issues[0]).toMatchObject({ file: f, pos: { line: 5 } });
    expect(e.message).toMatch(new RegExp(`^${f.replace(/[.]/g, '\\.')}:5:\\d+: error: `));
  });

  it('a type error against the hooks API: file, line, column and the TypeScript code', () => {
    const f = file(`${HEAD}const s: StrategyFile = {\n  id: 'x',\n  kernel: 'idea',\n  hooks: {\n    *tlb_remove_table_sync_one(api) {\n      yield* api.smp_call_function_many('all');\n    },\n  },\n};\nexport default s;\n`);
    const e = errorOf(() => loadStrategyFile(f));
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatchObject({ file: f, pos: { line: 7, col: 41 } });
    expect(e.issues[0]!.message).toMatch(/^TS2345: Argument of type 'string' is not assignable/);
  });

  it('a JavaScript file is not type-checked, but validated', () => {
    const f = file(`export default { id: 'js-one', kernel: 'idea', hooks: { *tlb_remove_table_sync_one(api) { yield* api.smp_call_function(); } } };\n`, 'mjs');
    expect(loadStrategyFile(f).id).toBe('js-one');
  });

  it('names unknown hooks and knobs with a did-you-mean, at their line', () => {
    const f = file(`export default {\n  id: 'x',\n  kernel: 'idea',\n  knobs: { remove_table_on: 'sync_one' },\n  hooks: {\n    *tlb_remove_table_sync_once(api) {},\n  },\n};\n`, 'js');
    const e = errorOf(() => loadStrategyFile(f));
    const text = e.issues.map((i) => `${i.pos?.line}: ${i.message}`);
    expect(text).toEqual([
      "4: knobs.remove_table_on: unknown knob 'remove_table_on' (did you mean 'remove_table_one'?)",
      "6: unknown hook 'tlb_remove_table_sync_once' (did you mean 'tlb_remove_table_sync_one'?); the hooks are tlb_remove_table_sync_one, tlb_remove_table_sync_rcu, __tlb_remove_table_one, tlb_table_flush_implies_ipi_broadcast, collapse_sync, unshare_sync, pagetable_free_kernel",
    ]);
  });

  it('wants generator functions for the hooks that take steps, a plain one for the arch answer, and a kernel', () => {
    const f = file(`export default {\n  id: 'x',\n  hooks: {\n    async tlb_remove_table_sync_one(api) {},\n    *tlb_table_flush_implies_ipi_broadcast() { return true; },\n  },\n};\n`, 'js');
    const msgs = errorOf(() => loadStrategyFile(f)).issues.map((i) => i.message);
    expect(msgs).toContain('hook tlb_remove_table_sync_one: expected a generator function (`*tlb_remove_table_sync_one(api, ctx) { ... }`), got an async function');
    expect(msgs).toContain('hook tlb_table_flush_implies_ipi_broadcast: expected a plain function returning a boolean, not a generator function');
    expect(msgs.some((m) => m.startsWith('kernel: expected the kernel it follows'))).toBe(true);
  });

  it('a missing file, a file that throws while loading, and one without an export', () => {
    expect(errorOf(() => loadStrategyFile(join(dir, 'none.ts'))).message).toBe(`${join(dir, 'none.ts')}: error: no such strategy file`);
    const thrower = file(`throw new Error('boom');\nexport default {};\n`, 'js');
    expect(errorOf(() => loadStrategyFile(thrower)).message).toMatch(/: error: loading it threw boom$/);
    const empty = file('export const x = 1;\n', 'js');
    expect(errorOf(() => loadStrategyFile(empty)).message).toMatch(/unknown field 'x'/);
  });
});

describe('a strategy file as a preset', () => {
  it('the example holds on x86 (walkers are in mm_cpumask) and is violated on arm64 (which keeps no mm_cpumask)', () => {
    const x86 = check(FALLBACK('x86'), { preset: EXAMPLE });
    expect(x86.result.verdicts.find((p) => p.id === 'no-walk-of-freed-table')?.status).toBe('holds');
    const arm = check(FALLBACK('arm64'), { preset: EXAMPLE });
    const v = arm.result.verdicts.find((p) => p.id === 'no-walk-of-freed-table');
    expect(v?.status).toBe('violated');
    expect(arm.scenario.resolved.preset).toBe(EXAMPLE);
  });

  it('a scenario names the file, relative to itself; a bad file is reported at its own line', () => {
    const good = file(`export default { id: 'rel', kernel: 'idea', knobs: { remove_table_one: 'none' } };\n`, 'js');
    const yaml = join(dir, 'scenario.yaml');
    writeFileSync(yaml, [
      'name: rel',
      'machine: { arch: arm64 }',
      `config: { preset: ./${good.split('/').pop()}, batch_alloc: fails }`,
      'mm: { A: { vmas: [ { name: heap, start: 0, end: 1 } ] } }',
      'cpus:',
      '  - { mm: A, run: [ { munmap: heap } ] }',
      '  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }',
      'check: { invariants: [no-walk-of-freed-table] }',
      '',
    ].join('\n'));
    const r = check(yaml);
    expect(r.result.verdicts[0]?.status).toBe('violated');
    const bad = file(`export default {\n  id: 'bad',\n  kernel: 'idea',\n  knobs: { remove_table_one: 'never' },\n};\n`, 'js');
    const e = errorOf(() => check(yaml, { preset: bad }));
    expect(e.issues[0]).toMatchObject({ file: bad, pos: { line: 4 } });
    // A file that is not there is said where the scenario names it.
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/preset: \.\/\S+,/, 'preset: ./gone.ts,'));
    const missing = errorOf(() => check(yaml));
    expect(missing.message).toBe(`${yaml}:3:19: error: config.preset: strategy file ${join(dir, 'gone.ts')}: no such strategy file`);
  });
});

describe('ptlab --strategy', () => {
  const stderr = captureStderr();

  it('check --strategy FILE runs the file as the preset; the arm64 violation is a MISMATCH against the broadcast expectation', async () => {
    const { code, out } = await runCli('check', FALLBACK('arm64'), '--strategy', 'examples/strategies/mm-cpumask-lazy.ts', '--no-timing');
    expect(code).toBe(1);
    expect(out).toContain(`preset ${EXAMPLE}`);
    expect(out).toMatch(/no-walk-of-freed-table\s+holds\s+violated\s+MISMATCH/);
  });

  it('--strategy with --preset is a usage error, exit 2', async () => {
    const { code } = await runCli('check', FALLBACK('x86'), '--strategy', EXAMPLE, '--preset', 'sync-rcu');
    expect(code).toBe(2);
    expect(stderr.text).toContain('--strategy and --preset both name the strategy: give one');
  });

  it('a type error in the file: exit 2, its file:line:col, no partial output', async () => {
    const f = file(`${HEAD}const s: StrategyFile = { id: 'x', kernel: 1 };\nexport default s;\n`);
    const { code, out } = await runCli('check', FALLBACK('x86'), '--strategy', f);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(stderr.text).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}:2:\\d+: error: TS2322`));
  });

  it('list strategies --strategy FILE shows the loaded strategy with its kernel', async () => {
    const { code, out } = await runCli('list', 'strategies', '--strategy', EXAMPLE);
    expect(code).toBe(0);
    expect(out).toMatch(/^mm-cpumask-lazy\s+sync IPIs to mm_cpumask\(mm\) \+ lazy CPUs only$/m);
    expect(out).toContain('kernel: idea, not posted');
  });
});

describe('strategy files in compare', () => {
  it('are labelled by their id, beside the built-in presets; an id of a built-in is refused', async () => {
    const { compareScenario } = await import('../../src/api/index.js');
    const runs = compareScenario('scenarios/sim/munmap-under-pressure.yaml', ['broadcast-ipi', EXAMPLE], {}, { work: 2 });
    expect(runs.map((r) => r.strategy)).toEqual(['broadcast-ipi', 'mm-cpumask-lazy']);
    // The example's sync IPIs go to mm_cpumask and the lazy CPUs only: fewer CAL IPIs, the same work.
    const cal = (i: number): number => runs[i]!.run.metrics.interrupts.reduce((n, c) => n + c.CAL, 0);
    expect(cal(1)).toBeLessThan(cal(0));
    expect(runs[1]!.run.metrics.operations.munmap?.count).toBe(runs[0]!.run.metrics.operations.munmap?.count);
    const twin = file(`export default { id: 'sync-rcu', kernel: 'idea' };\n`, 'js');
    expect(errorOf(() => loadStrategyFile(twin)).message).toContain("id: 'sync-rcu' is a built-in strategy's; give yours a name of its own");
  });
});
