/** The JSON Schemas (src/schemas.ts): schemas/ is up to date, and real `--json` output fits the result schemas. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { findScenarios } from '../src/api/index.js';
import { main } from '../src/cli/main.js';
import { catalogResultSchema, checkResultSchema, compareResultSchema, estimateResultSchema, schemaFiles, scenarioJsonSchema, simResultSchema } from '../src/schemas.js';

const UAF = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';

beforeEach(() => {
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

async function json(...argv: string[]): Promise<unknown> {
  let out = '';
  await main(argv, (s) => (out += `${s}\n`));
  return JSON.parse(out);
}

describe('schemas/', () => {
  it('holds what npm run schemas writes (run it after changing a schema)', () => {
    const files = schemaFiles();
    // study.json is the sweep's (src/sweep/study.ts), checked by test/sweep/study.test.ts.
    expect(readdirSync('schemas').filter((f) => f !== 'study.json').sort()).toEqual(Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) expect(readFileSync(join('schemas', name), 'utf8'), name).toBe(text);
  });

  it('describes a scenario file: its keys, and steps as one-key objects or bare words', () => {
    const s = scenarioJsonSchema() as { required: string[]; additionalProperties: boolean; properties: { cpus: { items: { properties: { run: { items: { anyOf: Array<{ enum?: string[]; required?: string[] }> } } } } } } };
    expect(s.required.sort()).toEqual(['cpus', 'machine', 'name']);
    expect(s.additionalProperties).toBe(false);
    const step = s.properties.cpus.items.properties.run.items.anyOf;
    expect(step[0]?.enum).toContain('idle');
    expect(step.map((x) => x.required?.[0]).filter(Boolean)).toContain('gup_fast');
  });
});

describe('schemas/scenario.json', () => {
  // An editor validates with the JSON Schema, not with the loader: it must accept every shipped
  // scenario and refuse what the loader refuses, at the same place. zod reads it back to check.
  const editor = z.fromJSONSchema(JSON.parse(readFileSync('schemas/scenario.json', 'utf8')) as never);

  it('accepts every shipped scenario', () => {
    const files = findScenarios('scenarios');
    expect(files.length).toBeGreaterThan(170);
    expect(files.filter((f) => !editor.safeParse(parse(readFileSync(f, 'utf8'))).success)).toEqual([]);
  });

  it('refuses an unknown arch, key or step, where it is', () => {
    const r = editor.safeParse({ name: 'x', machine: { arch: 'arm65' }, cpus: [{ lazzy: true, run: [{ munmap: 1 }, 'idel'] }] });
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['cpus.0', 'cpus.0.run.0', 'cpus.0.run.1', 'machine.arch']);
  });
});

describe('result schemas hold real output', () => {
  it('ptlab.check/2 and ptlab.catalog/2', async () => {
    expect(checkResultSchema.safeParse(await json('check', UAF, '--json', '--shortest')).error).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'ptlab-schemas-'));
    copyFileSync(UAF, join(dir, 'a.yaml'));
    copyFileSync('scenarios/check/munmap-vs-gup-fast/sync-rcu+x86+batch-fails.yaml', join(dir, 'b.yaml'));
    const catalog = catalogResultSchema.safeParse(await json('check', '--catalog', dir, '--json'));
    expect(catalog.error).toBeUndefined();
    expect(catalog.data?.results).toHaveLength(2);
  });

  it('ptlab.estimate/1, with an estimate and without', async () => {
    const e = estimateResultSchema.safeParse(await json('check', 'scenarios/check/spin/a+n2+w1.yaml', '--estimate', '--json'));
    expect(e.error).toBeUndefined();
    expect(e.data?.executions).toBe(900);
    const none = estimateResultSchema.safeParse(await json('check', UAF, '--estimate', '--json'));
    expect(none.error).toBeUndefined();
    expect(none.data?.why).toMatch(/no two CPUs are identical/);
  });

  it('ptlab.sim/1 and ptlab.compare/2', async () => {
    const S = 'scenarios/sim/munmap-under-pressure.yaml';
    expect(simResultSchema.safeParse(await json('sim', S, '--json', '--duration', '1ms')).error).toBeUndefined();
    const cmp = compareResultSchema.safeParse(await json('compare', S, '--json', '--strategies', 'sync-rcu,skip-redundant-ipi', '--work', '2', '--seeds', '1..2'));
    expect(cmp.error).toBeUndefined();
    expect(cmp.data?.runs).toHaveLength(4);
  });
});
