/**
 * Study files (src/sweep/study.ts): the points (cross product, order, keys, the axes applied to
 * the scenario), and errors with file:line:col.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/scenarios/loader.js';
import { loadScenario } from '../../src/index.js';
import { parseStudy, studyJsonSchema, type Study } from '../../src/sweep/study.js';

const FILE = 'test/sweep/x.study.yaml';

function errorOf(text: string): ScenarioError {
  try {
    parseStudy(text, FILE);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('the study should have been rejected');
}

const BASE = 'studies/munmap-cost.yaml';

describe('study points', () => {
  it('are the cross product in order, the first axis outermost, with stable keys', () => {
    const s: Study = parseStudy(`name: t
base: ../../${BASE}
axes:
  strategy: [broadcast-ipi, sync-rcu]
  cpus: [8, 64]
  seed: [1, 2, 3]
`, FILE);
    expect(s.points).toHaveLength(12);
    expect(s.points.map((p) => p.index)).toEqual([...Array(12).keys()]);
    expect(s.points.slice(0, 4).map((p) => p.key)).toEqual([
      'strategy=broadcast-ipi,cpus=8,seed=1',
      'strategy=broadcast-ipi,cpus=8,seed=2',
      'strategy=broadcast-ipi,cpus=8,seed=3',
      'strategy=broadcast-ipi,cpus=64,seed=1',
    ]);
    expect(s.points[11]!.axes).toEqual({ strategy: 'sync-rcu', cpus: 64, seed: 3 });
    expect(new Set(s.points.map((p) => p.key)).size).toBe(12);
  });

  it('apply the axes to the scenario: preset, CPU count (through the group), seed, knobs, sim settings, costs, arch', () => {
    const s = parseStudy(`name: t
base: ../../${BASE}
axes:
  arch: [x86-kvm]
  strategy: [pt-reclaim]
  cpus: [192]
  seed: [7]
  knob.batch_alloc: [fails]
  sim.jitter: [0.2]
  cost.ipi.delivery: [1234]
sim: { duration: 1ms }
`, FILE);
    const p = s.points[0]!;
    const l = loadScenario(p.scenario, { preset: p.preset, set: [...p.set], purpose: 'sim', name: p.label });
    expect(l.resolved.cpus).toBe(192);
    expect(l.resolved.arch).toBe('x86-kvm');
    expect(l.resolved.preset).toBe('pt-reclaim');
    expect(l.resolved.config.batch_alloc).toBe('fails');
    expect(l.sim).toMatchObject({ seed: 7, jitter: 0.2, duration: 1_000_000, costs: { 'ipi.delivery': 1234 } });
    expect(p.label).toBe(BASE);
  });

  it('grow a machine past 1024 CPUs through its group (up to the sim limit)', () => {
    const s = parseStudy(`name: t\nbase: ../../${BASE}\naxes:\n  cpus: [4096]\nsim: { duration: 1ms }\n`, FILE);
    const p = s.points[0]!;
    expect(loadScenario(p.scenario, { purpose: 'sim', name: p.label }).resolved.cpus).toBe(4096);
  });

  it('take a directory of the built-in catalog as a scenario axis', () => {
    const s = parseStudy('name: c\nbase: check/pt-reclaim\nrun: check\n', FILE);
    expect(s.points.length).toBeGreaterThan(1);
    expect(s.points.every((p) => p.key.startsWith('scenario=scenarios/check/pt-reclaim/'))).toBe(true);
  });
});

describe('study errors', () => {
  it('name the line and column of an unknown axis, with a suggestion', () => {
    const e = errorOf(`name: t
base: ../../${BASE}
axes:
  strategy: [sync-rcu]
  seeds: [1, 2]
`);
    expect(e.message).toBe(`${FILE}:5:3: error: axes.seeds: unknown axis 'seeds' (did you mean 'seed'?); expected one of strategy, arch, profile, cpus, seed, knob.NAME, sim.NAME, cost.PARAM`);
  });

  it('name the line and column of an unknown value', () => {
    const e = errorOf(`name: t
base: ../../${BASE}
axes:
  strategy: [sync-rcu, brodcast-ipi]
`);
    expect(e.issues).toHaveLength(1);
    expect(e.message).toContain(`${FILE}:4:24: error: axes.strategy[1]: unknown strategy 'brodcast-ipi' (did you mean 'broadcast-ipi'?)`);
  });

  it('reject unknown keys, a missing base, and settings of another run kind', () => {
    expect(errorOf(`name: t\nbase: ../../${BASE}\nmesure: [ipis-sent]\n`).message).toBe(`${FILE}:3:1: error: mesure: unknown key 'mesure' (did you mean 'measure'?)`);
    expect(errorOf('name: t\nbase: nowhere.yaml\n').message).toMatch(new RegExp(`^${FILE}:2:7: error: base: no scenario 'nowhere.yaml'`));
    expect(errorOf(`name: t\nbase: ../../${BASE}\nrun: compare\naxes:\n  strategy: [sync-rcu]\n`).message).toContain(`${FILE}:5:3: error: axes.strategy: run: compare compares strategies itself`);
  });

  it('say which point a scenario problem comes from', () => {
    const e = errorOf(`name: t
base: ../../${BASE}
axes:
  cpus: [4, 64]
`);
    expect(e.message).toMatch(new RegExp(`^${FILE}:2:7: error: base: point cpus=4: cpus: cpus=4: the other entries of cpus already have 7 CPUs`));
  });

  it('refuse a point past the CPU limit, as the scenario would be', () => {
    const e = errorOf(`name: t
base: ../../${BASE}
max_cpus: 100
axes:
  cpus: [64, 192]
`);
    expect(e.message).toContain('point cpus=192: cpus: 192 CPUs is past the limit of 100 for sim');
  });
});

describe('the study JSON Schema', () => {
  it('is up to date in schemas/study.json (npm run schemas)', () => {
    expect(readFileSync('schemas/study.json', 'utf8')).toBe(`${JSON.stringify(studyJsonSchema(), null, 2)}\n`);
  });
});
