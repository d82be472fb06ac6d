/**
 * The scenario boundary, second half: resolving a validated scenario into a kernel
 * configuration, a program and expectations (src/scenarios/resolve.ts), and every semantic error
 * it reports with file:line:col and path.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, KNOB_VALUES } from '../../src/model/config.js';
import { INVARIANT_IDS } from '../../src/invariants/index.js';
import { strategies, strategyById } from '../../src/strategies/index.js';
import { formatIssue, parseScenario, ScenarioError } from '../../src/scenarios/loader.js';
import { openScenario, resolveScenario, scenarioFromText, type LoadedScenario } from '../../src/scenarios/resolve.js';
import { rejectionOf, textAt } from './helpers.js';

const FILE = 'x.yaml';

function load(text: string): LoadedScenario {
  return scenarioFromText(text, FILE);
}

/** Resolve `text`, which must be rejected, and return the error. */
function errorOf(text: string): ScenarioError {
  return rejectionOf(() => load(text));
}

/** The formatted text of the only error of `text`. */
function onlyError(text: string): string {
  const e = errorOf(text);
  expect(e.issues, e.message).toHaveLength(1);
  return e.message;
}

const MM_A = `mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 1 }
      - { name: stack, start: 1, end: 2 }
`;

const MINIMAL = `name: minimal
description: munmap against GUP-fast
expect:
  no-walk-of-freed-table: holds
  deadlock: no
machine: { arch: x86, cpus: 3 }
config: { preset: sync-rcu, batch_alloc: fails }
${MM_A}cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }
  - { mm: A, lazy: true }
check:
  invariants: [ no-walk-of-freed-table, no-stale-walk-cache ]
`;

describe('a valid scenario resolves', () => {
  it('applies the preset over the defaults, then the knobs over the preset', () => {
    const r = load(MINIMAL).resolved;
    expect(r.preset).toBe('sync-rcu');
    expect(r.config).toEqual({ ...DEFAULT_CONFIG, ...strategyById('sync-rcu')!.knobs, batch_alloc: 'fails' });
    expect(r.config.batch_alloc).toBe('fails'); // the knob (default: may-fail)
    expect(r.config.remove_table_one).toBe('sync_rcu'); // the preset
    expect(r.config.table_free).toBe(DEFAULT_CONFIG.table_free); // the default
  });

  it('a knob overrides a value the preset sets', () => {
    const preset = strategyById('skip-redundant-ipi')!;
    expect(preset.knobs.skip_sync_if_flush_implies_ipi).toBe(true);
    const r = load(MINIMAL.replace('{ preset: sync-rcu, batch_alloc: fails }', '{ preset: skip-redundant-ipi, skip_sync_if_flush_implies_ipi: false }')).resolved;
    expect(r.preset).toBe('skip-redundant-ipi');
    expect(r.config).toEqual({ ...DEFAULT_CONFIG, ...preset.knobs, skip_sync_if_flush_implies_ipi: false });
  });

  it('a preset alone changes the defaults; no preset and no knobs gives the defaults', () => {
    const s0 = load(MINIMAL.replace('{ preset: sync-rcu, batch_alloc: fails }', '{ preset: broadcast-ipi }')).resolved;
    expect(s0.config.remove_table_one).toBe('sync_one');
    expect(s0.config).not.toEqual(DEFAULT_CONFIG);
    const none = load(MINIMAL.replace('config: { preset: sync-rcu, batch_alloc: fails }\n', '')).resolved;
    expect(none.preset).toBeNull();
    expect(none.config).toEqual(DEFAULT_CONFIG);
    const knobsOnly = load(MINIMAL.replace('{ preset: sync-rcu, batch_alloc: fails }', '{ pt_reclaim: true, max_table_batch: 2 }')).resolved;
    expect(knobsOnly.preset).toBeNull();
    expect(knobsOnly.config).toEqual({ ...DEFAULT_CONFIG, pt_reclaim: true, max_table_batch: 2 });
  });

  it('every preset resolves, and its knobs end up in the configuration', () => {
    expect(strategies().length).toBeGreaterThan(0);
    for (const s of strategies()) {
      const r = load(MINIMAL.replace('preset: sync-rcu', `preset: ${s.id}`)).resolved;
      expect(r.config, s.id).toEqual({ ...DEFAULT_CONFIG, ...s.knobs, batch_alloc: 'fails' });
    }
  });

  it('echoes what runs: name, file, arch, cpus, address spaces, per-CPU setup, invariants', () => {
    const r = load(MINIMAL).resolved;
    expect(r.name).toBe('minimal');
    expect(r.description).toBe('munmap against GUP-fast');
    expect(r.file).toBe(FILE);
    expect(r.arch).toBe('x86');
    expect(r.cpus).toBe(3);
    expect(r.invariants).toEqual(['no-walk-of-freed-table', 'no-stale-walk-cache']);
    expect(r.max_steps).toBe(20_000);
    expect(r.mm).toEqual({
      A: {
        name: 'A',
        vmas: [
          { name: 'heap', start: 0, end: 1 },
          { name: 'stack', start: 1, end: 2 },
        ],
        ptes_per_table: 1,
        global_asid: false,
      },
    });
    expect(r.cpu).toEqual([
      { cpu: 0, mm: 'A', lazy: false, mode: 'kernel', tlb: 'warm', run: ['munmap(heap)'], repeat: 1, cstate: null, walks: [], vcpu_preemptible: false, idle: 'cpuidle', isolated: false },
      { cpu: 1, mm: 'A', lazy: false, mode: 'kernel', tlb: 'warm', run: ['gup_fast(slot 0, page 0, 1 page(s))'], repeat: 1, cstate: null, walks: [], vcpu_preemptible: false, idle: 'cpuidle', isolated: false },
      { cpu: 2, mm: 'A', lazy: true, mode: 'idle', tlb: 'warm', run: [], repeat: 1, cstate: null, walks: [], vcpu_preemptible: false, idle: 'cpuidle', isolated: false },
    ]);
    // Plain data: the echo survives a JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('check.invariants: all means every invariant, and max_steps is echoed', () => {
    const l = load(MINIMAL.replace(/check:\n.*\n$/, 'check: { invariants: all, max_steps: 500 }\n'));
    expect(l.resolved.invariants).toEqual([...INVARIANT_IDS]);
    expect(l.resolved.max_steps).toBe(500);
    expect(l.program.properties.map((p) => p.id)).toEqual([...INVARIANT_IDS]);
    expect(l.program.maxSteps).toBe(500);
  });

  it('the expectations: verdicts per invariant, and deadlock yes/no/unset', () => {
    const l = load(MINIMAL);
    expect(l.expect).toEqual({ invariants: { 'no-walk-of-freed-table': 'holds' }, deadlock: false });
    const yes = load(MINIMAL.replace('deadlock: no', 'deadlock: yes').replace('no-walk-of-freed-table: holds', 'no-stale-walk-cache: violated'));
    expect(yes.expect).toEqual({ invariants: { 'no-stale-walk-cache': 'violated' }, deadlock: true });
    const unset = load(MINIMAL.replace(/expect:\n.*\n.*\n/, ''));
    expect(unset.expect).toEqual({ invariants: {}, deadlock: null });
  });

  it('the program has one task per CPU with a run list, named after its first real step', () => {
    const l = load(MINIMAL);
    expect(l.program.name).toBe('minimal');
    expect(l.program.machine).toEqual({ cpus: 3, stoppable: [] });
    expect(l.program.threads.map((t) => [t.name, t.cpu, t.kind])).toEqual([
      ['munmap', 0, 'task'],
      ['gup_fast', 1, 'task'],
    ]);
    expect(l.program.properties.map((p) => p.id)).toEqual(['no-walk-of-freed-table', 'no-stale-walk-cache']);
    expect(l.program.maxSteps).toBe(20_000);
    expect(l.program.init.size).toBeGreaterThan(0);
    expect(l.kernel.nr_cpus).toBe(3);
    expect(l.kernel.config).toEqual(l.resolved.config);
    expect([...l.kernel.mms.keys()]).toEqual(['A']);
  });

  it('hardware walkers are agents, one per walk entry; a KVM host agent per preemptible vCPU', () => {
    const l = load(`name: kvm
machine: { arch: x86-kvm }
${MM_A}cpus:
  - { mm: A, run: [ idle, { munmap: heap } ] }
  - { mm: A, walks: [ { slot: 0, times: 2 }, { slot: 1 } ], vcpu_preemptible: true }
  - { mm: A, run: [ idle ], mode: user, tlb: cold }
  - { mm: A, run: [ { gup_fast: { slot: 1 } } ], vcpu_preemptible: true }
`);
    expect(l.program.threads.map((t) => [t.name, t.cpu, t.kind])).toEqual([
      ['munmap', 0, 'task'],
      ['CPU1 MMU', 1, 'agent'],
      ['CPU1 MMU', 1, 'agent'],
      ['host vCPU1', null, 'agent'],
      ['swapper/2', 2, 'task'],
      ['gup_fast', 3, 'task'],
      ['host vCPU3', null, 'agent'],
    ]);
    expect(l.program.machine).toEqual({ cpus: 4, stoppable: [1, 3] });
    expect(l.kernel.preemptible_vcpus).toEqual([1, 3]);
    expect(l.resolved.cpu.map((c) => [c.mode, c.tlb, c.vcpu_preemptible])).toEqual([
      ['idle', 'warm', false], // the first step is idle
      ['idle', 'warm', true], // no run list
      ['user', 'cold', false], // explicit
      ['kernel', 'warm', true],
    ]);
    expect(l.resolved.cpu[1]!.walks).toEqual([
      { slot: 0, page: 0, times: 2 },
      { slot: 1, page: 0, times: 1 },
    ]);
    expect(l.resolved.cpu[0]!.run).toEqual(['idle', 'munmap(heap)']);
  });

  it('a call step names its task after the function and describes its context', () => {
    const l = load(`name: call
machine: { arch: arm64 }
cpus:
  - { run: [ { call: { fn: synchronize_rcu, context: spinlock } } ] }
  - { run: [ { call: { fn: tlb_remove_table_sync_one } } ] }
`);
    expect(l.program.threads.map((t) => t.name)).toEqual(['synchronize_rcu', 'tlb_remove_table_sync_one']);
    expect(l.resolved.cpu.map((c) => c.run)).toEqual([['synchronize_rcu() from spinlock context'], ['tlb_remove_table_sync_one() from task context']]);
  });

  it('resolveScenario on a parsed file is what scenarioFromText gives', () => {
    const a = resolveScenario(parseScenario(MINIMAL, FILE));
    const b = load(MINIMAL);
    expect(a.resolved).toEqual(b.resolved);
    expect(a.expect).toEqual(b.expect);
    expect(a.file.data).toEqual(b.file.data);
    expect(scenarioFromText(MINIMAL).resolved.file).toBe('<scenario>');
  });
});

describe('the scenario catalog', () => {
  const dir = join(import.meta.dirname, '../../scenarios/check/munmap-vs-gup-fast');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('every catalog file opens, and expects verdicts only for invariants it checks', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const l = openScenario(join(dir, f));
      expect(l.resolved.file).toBe(join(dir, f));
      expect(l.program.threads.length, f).toBeGreaterThan(0);
      for (const id of Object.keys(l.expect.invariants)) expect(l.resolved.invariants, f).toContain(id);
    }
  });

  it('a KVM catalog file has a preemptible walker vCPU and its host agent', () => {
    const l = openScenario(join(dir, 'sync-rcu+x86-kvm+batch-fails.yaml'));
    expect(l.resolved.arch).toBe('x86-kvm');
    expect(l.resolved.preset).toBe('sync-rcu');
    expect(l.resolved.config.batch_alloc).toBe('fails');
    expect(l.program.threads.map((t) => [t.name, t.cpu, t.kind])).toEqual([
      ['munmap', 0, 'task'],
      ['gup_fast', 1, 'task'],
      ['host vCPU1', null, 'agent'],
    ]);
    expect(l.program.machine.stoppable).toEqual([1]);
  });
});

describe('semantic errors', () => {
  it('unknown preset lists the valid ones', () => {
    const text = MINIMAL.replace('preset: sync-rcu', 'preset: rcu-sync');
    const e = errorOf(text);
    expect(e.message).toBe(`x.yaml:7:19: error: config.preset: unknown preset 'rcu-sync'; expected one of ${strategies().map((x) => x.id).join(', ')}, or the path of a strategy file`);
    for (const s of strategies()) expect(e.message).toContain(s.id);
    expect(textAt(text, e.issues[0]!.pos)).toMatch(/^rcu-sync,/);
  });

  it('machine.cpus disagrees with the cpus list', () => {
    const text = MINIMAL.replace('cpus: 3 }', 'cpus: 4 }');
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:6:29: error: machine.cpus: machine.cpus is 4 but 3 CPUs are listed under 'cpus'"`);
    expect(textAt(text, errorOf(text).issues[0]!.pos)).toMatch(/^4 \}/);
  });

  it('a CPU names an mm the scenario does not define', () => {
    const text = MINIMAL.replace('- { mm: A, run: [ { gup_fast', '- { mm: B, run: [ { gup_fast');
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:15:11: error: cpus[1].mm: unknown mm 'B'; the scenario defines: A"`);
    expect(onlyError('name: t\nmachine: { arch: x86 }\ncpus:\n  - { mm: B, run: [ idle ] }\n')).toMatchInlineSnapshot(
      `"x.yaml:4:11: error: cpus[0].mm: unknown mm 'B'; the scenario defines: none"`,
    );
  });

  it('a lazy CPU without an mm', () => {
    const text = MINIMAL.replace('- { mm: A, lazy: true }', '- { lazy: true }');
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:16:13: error: cpus[2].lazy: a lazy CPU borrows an mm: set mm too"`);
  });

  it('vcpu_preemptible on an arch other than x86-kvm', () => {
    for (const arch of ['x86', 'x86-invlpgb', 'arm64']) {
      const text = MINIMAL.replace('arch: x86,', `arch: ${arch},`).replace('- { mm: A, lazy: true }', '- { mm: A, lazy: true, vcpu_preemptible: true }');
      const e = errorOf(text);
      expect(e.issues).toHaveLength(1);
      expect(e.issues[0]!.path).toBe('cpus[2].vcpu_preemptible');
      expect(e.issues[0]!.message).toBe(`only an x86-kvm or x86-kvm-nopv guest has vCPUs the host can preempt (arch is ${arch})`);
      expect(textAt(text, e.issues[0]!.pos)).toMatch(/^true \}/);
    }
    expect(load(MINIMAL.replace('arch: x86,', 'arch: x86-kvm,').replace('- { mm: A, lazy: true }', '- { mm: A, lazy: true, vcpu_preemptible: true }')).program.machine.stoppable).toEqual([2]);
  });

  it('munmap of a VMA that does not exist lists the VMAs of the mm', () => {
    const text = MINIMAL.replace('{ munmap: heap }', '{ munmap: data }');
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:14:21: error: cpus[0].run[0]: mm A has no VMA 'data' (has: heap, stack)"`);
    expect(textAt(text, errorOf(text).issues[0]!.pos)).toMatch(/^\{ munmap: data \}/);
  });

  it('munmap, exit_mmap and gup_fast on a CPU without an mm', () => {
    const text = 'name: t\nmachine: { arch: x86 }\ncpus:\n  - { run: [ { munmap: heap }, exit_mmap, { gup_fast: { slot: 0 } } ] }\n';
    const e = errorOf(text);
    expect(e.issues.map((i) => [i.path, textAt(text, i.pos).slice(0, 10)])).toEqual([
      ['cpus[0].run[0]', '{ munmap: '],
      ['cpus[0].run[1]', 'exit_mmap,'],
      ['cpus[0].run[2]', '{ gup_fast'],
    ]);
    expect(e.issues[0]!.message).toMatch(/^munmap needs the CPU to run a task of an mm \(set 'mm'/);
    expect(e.issues[1]!.message).toMatch(/^exit_mmap needs the CPU to have an mm/);
    expect(e.issues[2]!.message).toMatch(/^gup_fast needs the CPU to run a task of an mm \(set 'mm'/);
  });

  it('munmap on a lazy CPU says the CPU must not be lazy; exit_mmap on a lazy CPU is fine', () => {
    const lazyMunmap = 'name: t\nmachine: { arch: x86 }\n' + MM_A + 'cpus:\n  - { mm: A, lazy: true, run: [ { munmap: heap } ] }\n';
    const e = errorOf(lazyMunmap);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.path).toBe('cpus[0].run[0]');
    expect(e.issues[0]!.message).toContain('lazy');
    const l = load('name: t\nmachine: { arch: x86 }\n' + MM_A + 'cpus:\n  - { mm: A, lazy: true, run: [ exit_mmap ] }\n');
    expect(l.program.threads.map((t) => [t.name, t.cpu, t.kind])).toEqual([['exit_mmap', 0, 'task']]);
    expect(l.resolved.cpu[0]!.run).toEqual(['exit_mmap(A)']);
  });

  it('gup_fast on a slot outside every VMA, and pages beyond the PTE table', () => {
    const text = MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ gup_fast: { slot: 2 } }');
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:15:21: error: cpus[1].run[0]: slot 2 is not inside a VMA of A"`);
    const pages = MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ gup_fast: { slot: 0, page: 1, pages: 2 } }').replace('end: 2 }\n', 'end: 2 }\n    ptes_per_table: 2\n');
    expect(onlyError(pages)).toMatchInlineSnapshot(`"x.yaml:16:21: error: cpus[1].run[0]: pages 1..2 exceed ptes_per_table 2"`);
  });

  it('hardware walks: outside a VMA, beyond the PTE table, or without an mm', () => {
    const text = 'name: t\nmachine: { arch: x86 }\nmm:\n  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }\ncpus:\n  - { mm: A, walks: [ { slot: 4, page: 3 } ] }\n  - { walks: [ { slot: 0 } ] }\n';
    const e = errorOf(text);
    expect(e.issues.map(formatIssue)).toMatchInlineSnapshot(`
      [
        "x.yaml:6:31: error: cpus[0].walks[0].slot: slot 4 is not inside a VMA of A",
        "x.yaml:6:40: error: cpus[0].walks[0].page: page 3 is beyond ptes_per_table 1",
        "x.yaml:7:16: error: cpus[1].walks[0]: hardware walks need a loaded mm: set mm, or switch_to one in the run list",
      ]
    `);
    expect(e.issues.map((i) => textAt(text, i.pos).slice(0, 1))).toEqual(['4', '3', '{']);
  });

  it('overlapping VMAs name both, and a VMA name used twice', () => {
    const overlap = MINIMAL.replace('{ name: heap, start: 0, end: 1 }', '{ name: heap, start: 0, end: 2 }');
    expect(onlyError(overlap)).toMatchInlineSnapshot(`"x.yaml:12:9: error: mm.A.vmas[1]: VMA stack [1, 2) overlaps heap [0, 2)"`);
    const twice = MINIMAL.replace('name: stack', 'name: heap');
    expect(onlyError(twice)).toMatchInlineSnapshot(`"x.yaml:12:17: error: mm.A.vmas[1].name: VMA name 'heap' is used twice in mm A"`);
    // Adjacent VMAs do not overlap.
    expect(() => load(MINIMAL)).not.toThrow();
  });

  it('an unknown invariant in check.invariants lists the valid ones', () => {
    const text = MINIMAL.replace('invariants: [ no-walk-of-freed-table, no-stale-walk-cache ]', 'invariants: [ no-walk-of-freed-table, no-such-thing ]');
    const e = errorOf(text);
    expect(e.issues).toHaveLength(1);
    expect(e.message).toBe(`x.yaml:18:41: error: check.invariants[1]: unknown invariant 'no-such-thing'; expected one of ${INVARIANT_IDS.join(', ')}`);
    expect(textAt(text, e.issues[0]!.pos)).toMatch(/^no-such-thing \]/);
  });

  it('an unknown invariant in expect is reported at its key', () => {
    const text = MINIMAL.replace('no-walk-of-freed-table: holds', 'no-such-thing: holds');
    const e = errorOf(text);
    expect(e.issues).toHaveLength(1);
    expect(e.message).toBe(`x.yaml:4:3: error: expect.no-such-thing: unknown invariant 'no-such-thing'; expected deadlock or one of ${INVARIANT_IDS.join(', ')}`);
    expect(textAt(text, e.issues[0]!.pos)).toMatch(/^no-such-thing: holds/);
  });

  it('an expected verdict for an invariant that is not checked', () => {
    const text = MINIMAL.replace('no-walk-of-freed-table: holds', 'no-sleep-in-atomic: holds');
    expect(onlyError(text)).toMatchInlineSnapshot(
      `"x.yaml:4:3: error: expect.no-sleep-in-atomic: 'no-sleep-in-atomic' has an expected verdict but is not among check.invariants"`,
    );
  });

  it('deadlock must be yes or no, and a verdict holds or violated', () => {
    expect(onlyError(MINIMAL.replace('deadlock: no', 'deadlock: holds'))).toMatchInlineSnapshot(
      `"x.yaml:5:13: error: expect.deadlock: expected yes or no, got 'holds'"`,
    );
    expect(onlyError(MINIMAL.replace('no-walk-of-freed-table: holds', 'no-walk-of-freed-table: yes'))).toMatchInlineSnapshot(
      `"x.yaml:4:27: error: expect.no-walk-of-freed-table: expected holds or violated, got 'yes'"`,
    );
  });

  it('values that are neither a verdict nor yes/no are rejected at the value', () => {
    for (const value of ['maybe', 'true', '1']) {
      const text = MINIMAL.replace('deadlock: no', `deadlock: ${value}`);
      const e = errorOf(text);
      expect(e.issues).toHaveLength(1);
      expect(e.issues[0]!.path).toBe('expect.deadlock');
      expect(textAt(text, e.issues[0]!.pos)).toBe(value);
    }
  });

  it("deadlock: maybe says 'expected yes or no'", () => {
    expect(onlyError(MINIMAL.replace('deadlock: no', 'deadlock: maybe'))).toContain('expected yes or no');
  });

  it("a verdict 'maybe' says 'expected holds or violated'", () => {
    expect(onlyError(MINIMAL.replace('no-walk-of-freed-table: holds', 'no-walk-of-freed-table: maybe'))).toContain('expected holds or violated');
  });

  it('no CPU runs anything', () => {
    const text = 'name: t\nmachine: { arch: x86 }\n' + MM_A + 'cpus:\n  - {}\n  - { mm: A, lazy: true }\n';
    expect(onlyError(text)).toMatchInlineSnapshot(`"x.yaml:9:3: error: cpus: no CPU runs anything: give at least one CPU a run list or walks"`);
  });

  it('a reuse_table owner that is not an mm', () => {
    expect(onlyError('name: t\nmachine: { arch: x86 }\ncpus:\n  - { run: [ { reuse_table: { owner: Z } } ] }\n')).toMatchInlineSnapshot(
      `"x.yaml:4:14: error: cpus[0].run[0]: reuse_table owner 'Z' is not an mm of the scenario"`,
    );
  });

});

describe('several errors in one file', () => {
  const MANY = `name: t
machine: { arch: arm64, cpus: 4 }
config: { preset: nope }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - { mm: B, run: [ { munmap: heap } ] }
  - { mm: A, run: [ { munmap: stack } ], vcpu_preemptible: true }
  - { lazy: true }
expect:
  bogus: holds
`;

  it('are all reported, each as file:line:col: error: path: message', () => {
    const e = errorOf(MANY);
    expect(e.issues.length).toBeGreaterThan(1);
    expect(e.issues.map((i) => i.path)).toEqual([
      'machine.cpus',
      'config.preset',
      'cpus[0].mm',
      'cpus[1].run[0]',
      'cpus[1].vcpu_preemptible',
      'cpus[2].lazy',
      'expect.bogus',
    ]);
    for (const i of e.issues) {
      expect(i.file).toBe(FILE);
      expect(i.pos).not.toBeNull();
      expect(formatIssue(i)).toMatch(/^x\.yaml:\d+:\d+: error: [\w.[\]-]+: \S/);
    }
    expect(e.message.split('\n')).toEqual(e.issues.map(formatIssue));
    // Presets and invariants grow with the model: compare with the registries.
    expect(e.message.split('\n')).toEqual([
      "x.yaml:2:31: error: machine.cpus: machine.cpus is 4 but 3 CPUs are listed under 'cpus'",
      `x.yaml:3:19: error: config.preset: unknown preset 'nope'; expected one of ${strategies().map((x) => x.id).join(', ')}, or the path of a strategy file`,
      "x.yaml:7:11: error: cpus[0].mm: unknown mm 'B'; the scenario defines: A",
      "x.yaml:8:21: error: cpus[1].run[0]: mm A has no VMA 'stack' (has: heap)",
      'x.yaml:8:60: error: cpus[1].vcpu_preemptible: only an x86-kvm or x86-kvm-nopv guest has vCPUs the host can preempt (arch is arm64)',
      'x.yaml:9:13: error: cpus[2].lazy: a lazy CPU borrows an mm: set mm too',
      `x.yaml:11:3: error: expect.bogus: unknown invariant 'bogus'; expected deadlock or one of ${INVARIANT_IDS.join(', ')}`,
    ]);
  });

  it('are reported in source order', () => {
    const pos = errorOf(MANY).issues.map((i) => i.pos!.line * 1000 + i.pos!.col);
    expect(pos).toEqual([...pos].sort((a, b) => a - b));
  });
});

describe('pte_offset_map steps', () => {
  it('resolve on a CPU running a task of the mm, and are checked against its VMAs', () => {
    const ok = load(MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ pte_offset_map: { slot: 1 } }'));
    expect(ok.program.threads.map((t) => t.name)).toEqual(['munmap', 'pte_offset_map']);
    expect(ok.resolved.cpu[1]!.run).toHaveLength(1);
    expect(ok.resolved.cpu[1]!.run[0]).toContain('slot 1, page 0');
    const text = MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ pte_offset_map: { slot: 7 } }');
    expect(onlyError(text)).toBe('x.yaml:15:21: error: cpus[1].run[0]: slot 7 is not inside a VMA of A');
  });
});

describe('collapse_file steps', () => {
  it('resolve to a khugepaged thread on the named mm (or the CPU\'s), and are checked against its VMAs', () => {
    const ok = load(MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ collapse_file: { slot: 1 } }'));
    expect(ok.program.threads.map((t) => t.name)).toEqual(['munmap', 'khugepaged']);
    expect(ok.resolved.cpu[1]!.run[0]).toContain('collapse_file(A, slot 1)');
    const text = MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ collapse_file: { slot: 7 } }');
    expect(onlyError(text)).toBe('x.yaml:15:21: error: cpus[1].run[0]: slot 7 is not inside a VMA of A');
    const noMm = MINIMAL.replace('{ gup_fast: { slot: 0 } }', '{ collapse_file: { slot: 0, mm: Z } }');
    expect(onlyError(noMm)).toBe("x.yaml:15:21: error: cpus[1].run[0]: collapse_file: 'Z' is not an mm of the scenario");
  });
});

describe('command-line overrides', () => {
  const file = () => parseScenario(MINIMAL.replace('{ preset: sync-rcu, batch_alloc: fails }', '{ preset: sync-rcu, batch_alloc: fails, remove_table_one: none }'), FILE);

  it('without overrides the scenario knobs override its preset', () => {
    expect(resolveScenario(file()).resolved.config.remove_table_one).toBe('none');
  });

  it('--preset replaces the preset and the scenario knobs it sets, and keeps the others', () => {
    const r = resolveScenario(file(), { preset: 'broadcast-ipi' }).resolved;
    expect(r.preset).toBe('broadcast-ipi');
    expect(r.config).toEqual({ ...DEFAULT_CONFIG, ...strategyById('broadcast-ipi')!.knobs, batch_alloc: 'fails' });
  });

  it('--set knob=value applies last, typed by the knob', () => {
    const r = resolveScenario(file(), { set: ['pt_reclaim=true', 'max_table_batch=3', 'batch_alloc=succeeds'] }).resolved;
    expect(r.config).toMatchObject({ pt_reclaim: true, max_table_batch: 3, batch_alloc: 'succeeds', remove_table_one: 'none' });
  });

  it('bad overrides are reported as issues of --preset and --set, all of them', () => {
    let caught: unknown;
    try {
      resolveScenario(file(), { preset: 'nope', set: ['pt_reclaim=yes', 'max_table_batch=0', 'batch_alloc=x', 'nokey', 'colour=red'] });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ScenarioError);
    const e = caught as ScenarioError;
    expect(e.issues).toHaveLength(6);
    expect(e.issues.every((i) => i.pos === null)).toBe(true);
    // The lists of presets and knobs grow with the model: compare with the registries.
    expect(e.issues.map(formatIssue)).toEqual([
      `--preset: error: unknown preset 'nope'; expected one of ${strategies().map((x) => x.id).join(', ')}, or the path of a strategy file`,
      "--set: error: pt_reclaim=yes: pt_reclaim takes true or false, got 'yes'",
      "--set: error: max_table_batch=0: max_table_batch takes an integer in 1..512, got '0'",
      "--set: error: batch_alloc=x: batch_alloc takes one of succeeds, fails, may-fail, got 'x'",
      "--set: error: nokey: expected KNOB=VALUE, got 'nokey'",
      `--set: error: colour=red: unknown knob 'colour'; expected one of ${Object.keys(KNOB_VALUES).join(', ')}`,
    ]);
  });

  it.each(['constructor=x', '__proto__=x'])('--set %s is an unknown knob, not a TypeError', (set) => {
    expect(() => resolveScenario(file(), { set: [set] })).toThrow(ScenarioError);
  });
});

it('an mm named __proto__ is rejected at its definition', () => {
  const text = 'name: t\nmachine: { arch: x86 }\nmm:\n  __proto__: { vmas: [ { name: heap, start: 0, end: 1 } ] }\ncpus: [ { mm: __proto__, run: [ { munmap: heap } ] } ]\n';
  expect(() => parseScenario(text, FILE)).toThrow("x.yaml:4:3: error: '__proto__' is a reserved name");
});
