/** The library API (src/index.ts): scenarios as paths or data, knob settings as strings or an object. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { check, checkReport, estimate, estimateReport, loadScenario, replay, ScenarioError, simulate, type ScenarioInput } from '../src/index.js';
import { checkResultSchema } from '../src/schemas.js';

const SAFE = 'scenarios/check/munmap-vs-gup-fast/sync-rcu+arm64+batch-succeeds.yaml';
const UAF = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const data = (path: string): ScenarioInput => parse(readFileSync(path, 'utf8')) as ScenarioInput;

function issuesOf(f: () => unknown): ScenarioError['issues'] {
  try {
    f();
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    throw e;
  }
  throw new Error('no ScenarioError');
}

describe('knob settings', () => {
  it('takes an object as well as "k=v" strings (an object crashed with "sets is not iterable")', () => {
    // no-sync on arm64 breaks only when the batch allocation fails (the single-table fallback).
    const NOSYNC_OK = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-succeeds.yaml';
    const plain = check(NOSYNC_OK);
    expect(plain.result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('holds');
    const byObject = check(NOSYNC_OK, { set: { batch_alloc: 'fails' } });
    const byString = check(NOSYNC_OK, { set: ['batch_alloc=fails'] });
    expect(byObject.scenario.resolved.config.batch_alloc).toBe('fails');
    expect(byObject.result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('violated');
    expect(byObject.result.stats).toEqual(byString.result.stats);
    expect(loadScenario(SAFE, { set: { pt_reclaim: true, table_free: 'rcu' } }).resolved.config.pt_reclaim).toBe(true);
  });

  it('reports bad knob settings in an object by name, as for --set', () => {
    const issues = issuesOf(() => loadScenario(SAFE, { set: { batch_aloc: 'fails', pt_reclaim: 'maybe' } as never }));
    expect(issues.map((i) => `${i.file}: ${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^set: batch_aloc: unknown knob 'batch_aloc'.*did you mean 'batch_alloc'/),
      "set: pt_reclaim: pt_reclaim takes true or false, got 'maybe'",
    ]);
    expect(issuesOf(() => loadScenario(SAFE, { set: ['batch_alloc'] }))[0]?.message).toBe("expected KNOB=VALUE, got 'batch_alloc'");
  });
});

describe('scenarios as data', () => {
  it('checks a parsed YAML object as its file: the same verdicts and executions', () => {
    const fromFile = check(UAF);
    const fromData = check(data(UAF), { name: 'uaf' });
    expect(fromData.scenario.resolved.file).toBe('uaf');
    expect(fromData.result.verdicts.map((v) => v.status)).toEqual(fromFile.result.verdicts.map((v) => v.status));
    expect(fromData.result.stats).toEqual(fromFile.result.stats);
    expect(fromData.comparison.ok).toBe(true);
  });

  it('validates data with the same schema, naming the path in the object', () => {
    const d = data(UAF) as Record<string, unknown> & { cpus: Array<Record<string, unknown>> };
    const bad = { ...d, machine: { arch: 'arm65', cpus: 3 }, cpus: [{ ...d.cpus[0], lazzy: true }, { mm: 'A', run: [{ munmap: 'nope' }] }, ...d.cpus.slice(2)] };
    const issues = issuesOf(() => loadScenario(bad as ScenarioInput));
    expect(issues.every((i) => i.file === '<object>' && i.pos === null)).toBe(true);
    expect(issues.map((i) => i.path)).toEqual(['machine.arch', 'cpus[0].lazzy']);
    expect(issues[1]?.message).toMatch(/unknown key 'lazzy'.*did you mean 'lazy'/);
    // Past the schema, the resolver's checks: an unknown VMA.
    const unknownVma = { ...d, cpus: [{ mm: 'A', run: [{ munmap: 'nope' }] }, ...d.cpus.slice(1)] };
    expect(issuesOf(() => loadScenario(unknownVma as ScenarioInput, { name: 's' })).map((i) => `${i.file}: ${i.path}`)).toEqual(['s: cpus[0].run[0]']);
    expect(issuesOf(() => loadScenario([] as never))[0]?.message).toMatch(/expected a mapping/);
    expect(issuesOf(() => loadScenario(JSON.parse('{"__proto__": {}}') as never))[0]?.message).toMatch(/reserved/);
  });

  it("keeps a loaded scenario's overrides: the README's example replays its counterexample", () => {
    const run = check('scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-succeeds.yaml', { set: { batch_alloc: 'fails' } });
    const v = run.result.verdicts.find((x) => x.id === 'no-walk-of-freed-table');
    expect(v?.status).toBe('violated');
    const again = replay(run.scenario, v?.counterexample?.schedule ?? []);
    expect(again.scenario.resolved.config.batch_alloc).toBe('fails');
    expect(again.exec.violations[0]?.property).toBe('no-walk-of-freed-table');
    // New settings go on top of the loaded ones.
    const both = loadScenario(run.scenario, { set: ['pt_reclaim=true', { table_free: 'rcu' }] }).resolved.config;
    expect([both.batch_alloc, both.pt_reclaim, both.table_free]).toEqual(['fails', true, 'rcu']);
  });

  it('re-resolves a loaded scenario with new overrides', () => {
    const loaded = loadScenario('scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-succeeds.yaml');
    expect(check(loaded, { set: { batch_alloc: 'fails' } }).result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('violated');
  });

  it('replays a counterexample and simulates data', () => {
    const run = check(data(UAF));
    const cx = run.result.verdicts.find((v) => v.status === 'violated')?.counterexample;
    const { exec } = replay(data(UAF), cx?.schedule ?? []);
    expect(exec.violations[0]?.property).toBe('no-walk-of-freed-table');
    expect(checkResultSchema.parse(checkReport(run))).toMatchObject({ schema: 'ptlab.check/2', ok: true });
    const sim = simulate({ ...data(UAF), sim: { duration: '1ms' } } as ScenarioInput, { seed: 2 });
    expect(sim.run.sim.seed).toBe(2);
    expect(sim.run.result.time).toBeGreaterThan(0);
  });
});

describe('estimate()', () => {
  it('sizes a check from smaller runs, and its report is what check --estimate --json prints', () => {
    const e = estimate('scenarios/check/spin/b+n2+w1.yaml');
    expect([e.identical, e.growth, e.executions]).toEqual([[1, 2], 36, 1296]);
    expect(estimateReport(e)).toMatchObject({ schema: 'ptlab.estimate/1', executions: 1296, runs: [{ kept: 0, executions: 1, exhaustive: true }, { kept: 1, executions: 36, exhaustive: true }] });
  });
});

describe('the public API', () => {
  it('exports what docs/json.md "Library API" documents, and nothing else', async () => {
    const api = await import('../src/index.js');
    expect(Object.keys(api).sort()).toEqual([
      'CatalogError', 'ScenarioError', 'ScheduleSyntaxError', 'SimConfigError', 'builtinScenarioDir', 'check', 'checkAsync', 'checkReport', 'compare',
      'compareReport', 'compareStrategies',
      'decodeSchedule', 'encodeSchedule', 'estimate', 'estimateReport', 'findScenarios', 'formatIssue', 'loadScenario', 'loadStrategyFile', 'replay', 'replayTimed', 'resultJsonSchemas', 'scenarioJsonSchema', 'simReport', 'simulate', 'timedReplayJson', 'timedReplayText',
    ]);
    const doc = readFileSync('docs/json.md', 'utf8').split('## Library API')[1] ?? '';
    for (const name of Object.keys(api)) expect(doc, name).toContain(`\`${name}`);
  });
});
