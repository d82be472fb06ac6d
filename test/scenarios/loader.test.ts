/**
 * The scenario boundary, first half: YAML parsing and schema validation (src/scenarios/loader.ts
 * and schema.ts). Every error must name the file, the line and column, the path inside the
 * document and what was expected. Semantic checks (presets, mms, invariants...) are in
 * resolve.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  formatIssue,
  formatPath,
  loadScenario,
  parseScenario,
  ScenarioError,
  type ScenarioIssue,
} from '../../src/scenarios/loader.js';
import { STEP_KINDS } from '../../src/scenarios/schema.js';
import { rejectionOf, textAt } from './helpers.js';

const FILE = 'x.yaml';

/** Parse `text`, which must be rejected, and return the error. */
function errorOf(text: string, file = FILE): ScenarioError {
  return rejectionOf(() => parseScenario(text, file));
}

/** The only issue of a rejected scenario. */
function onlyIssue(text: string): ScenarioIssue {
  const e = errorOf(text);
  expect(e.issues, e.message).toHaveLength(1);
  return e.issues[0]!;
}

const MINIMAL = `name: minimal
machine: { arch: x86 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }
`;

describe('parseScenario: valid input', () => {
  it('returns the data with every default filled in', () => {
    const f = parseScenario(MINIMAL, FILE);
    expect(f.file).toBe(FILE);
    expect(f.source).toBe(MINIMAL);
    expect(f.data).toEqual({
      name: 'minimal',
      description: '',
      expect: {},
      machine: { arch: 'x86' },
      config: {},
      mm: { A: { vmas: [{ name: 'heap', start: 0, end: 1 }], ptes_per_table: 1, global_asid: false } },
      cpus: [
        { count: 1, mm: 'A', lazy: false, tlb: 'warm', run: [{ munmap: 'heap' }], walks: [], vcpu_preemptible: false, repeat: 1, isolated: false },
        { count: 1, mm: 'A', lazy: false, tlb: 'warm', run: [{ gup_fast: { slot: 0, page: 0, pages: 1 } }], walks: [], vcpu_preemptible: false, repeat: 1, isolated: false },
      ],
      check: { invariants: 'all', max_steps: 20_000, memory_model: 'sc' },
    });
  });

  it('accepts every step form and fills in step and walk defaults', () => {
    const text = `name: steps
machine: { arch: arm64, cpus: 2 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 2 } ], ptes_per_table: 4, global_asid: false }
  B: { vmas: [ { name: data, start: 0, end: 1 } ] }
cpus:
  - mm: A
    mode: user
    tlb: cold
    run:
      - idle
      - user
      - exit_mmap
      - { munmap: heap }
      - { gup_fast: { slot: 1, page: 2, pages: 2 } }
      - { reuse_table: { owner: B } }
      - { call: { fn: synchronize_rcu } }
      - { call: { fn: tlb_remove_table_sync_one, context: irqs_off } }
  - { mm: A, lazy: true, walks: [ { slot: 1 }, { slot: 0, page: 3, times: 4 } ] }
check: { invariants: [ no-walk-of-freed-table ], max_steps: 10 }
`;
    const d = parseScenario(text, FILE).data;
    expect(d.mm.A).toEqual({ vmas: [{ name: 'heap', start: 0, end: 2 }], ptes_per_table: 4, global_asid: false });
    expect(d.cpus[0]!.mode).toBe('user');
    expect(d.cpus[0]!.tlb).toBe('cold');
    expect(d.cpus[0]!.run).toEqual([
      'idle',
      'user',
      'exit_mmap',
      { munmap: 'heap' },
      { gup_fast: { slot: 1, page: 2, pages: 2 } },
      { reuse_table: { owner: 'B', entries: 1 } },
      { call: { fn: 'synchronize_rcu', context: 'task' } },
      { call: { fn: 'tlb_remove_table_sync_one', context: 'irqs_off' } },
    ]);
    expect(d.cpus[1]!.walks).toEqual([
      { slot: 1, page: 0, times: 1 },
      { slot: 0, page: 3, times: 4 },
    ]);
    expect(d.check).toEqual({ invariants: ['no-walk-of-freed-table'], max_steps: 10, memory_model: 'sc' });
  });

  it('maps a path back to the position of its node, or of its nearest existing ancestor', () => {
    const f = parseScenario(MINIMAL, FILE);
    expect(f.posOf(['cpus', 1, 'run', 0])).toEqual({ line: 7, col: 21 });
    expect(textAt(MINIMAL, f.posOf(['cpus', 1, 'run', 0]))).toMatch(/^\{ gup_fast: \{ slot: 0 \} \}/);
    expect(textAt(MINIMAL, f.posOf(['machine', 'arch']))).toMatch(/^x86 \}/);
    // With a key: the position of the key itself, not of its value.
    expect(textAt(MINIMAL, f.posOf(['machine'], 'arch'))).toMatch(/^arch: x86/);
    // A path that does not exist falls back to the deepest node that does.
    expect(f.posOf(['cpus', 1, 'walks', 3])).toEqual(f.posOf(['cpus', 1]));
    expect(f.posOf(['nowhere'])).toEqual({ line: 1, col: 1 });
  });

  it('builds issues that carry the file, the position and the dotted path', () => {
    const f = parseScenario(MINIMAL, FILE);
    const i = f.issue(['cpus', 0], 'a message', 'mm');
    expect(i).toEqual({ file: FILE, pos: { line: 6, col: 7 }, path: 'cpus[0].mm', message: 'a message' });
    expect(formatIssue(i)).toBe('x.yaml:6:7: error: cpus[0].mm: a message');
    expect(formatIssue(f.issue(['mm', 'A', 'vmas', 0], 'm'))).toBe('x.yaml:4:16: error: mm.A.vmas[0]: m');
  });
});

describe('formatIssue and formatPath', () => {
  it('formats paths with dots for keys and brackets for indices', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['cpus', 1, 'run', 0, 'gup_fast', 'slot'])).toBe('cpus[1].run[0].gup_fast.slot');
    expect(formatPath([0, 'a'])).toBe('[0].a');
    expect(formatPath(['mm', 'A', 'vmas'])).toBe('mm.A.vmas');
  });

  it('formats file:line:col: error: path: message, dropping what is unknown', () => {
    expect(formatIssue({ file: 'f.yaml', pos: { line: 3, col: 7 }, path: 'machine.arch', message: 'bad' })).toBe(
      'f.yaml:3:7: error: machine.arch: bad',
    );
    expect(formatIssue({ file: 'f.yaml', pos: null, path: 'machine', message: 'bad' })).toBe('f.yaml: error: machine: bad');
    expect(formatIssue({ file: 'f.yaml', pos: { line: 1, col: 1 }, path: '', message: 'bad' })).toBe('f.yaml:1:1: error: bad');
  });

  it('ScenarioError carries its issues and one formatted line per issue', () => {
    const issues: ScenarioIssue[] = [
      { file: 'a.yaml', pos: { line: 1, col: 2 }, path: 'x', message: 'one' },
      { file: 'a.yaml', pos: null, path: '', message: 'two' },
    ];
    const e = new ScenarioError(issues);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ScenarioError');
    // Sorted: issues without a position (command-line overrides) first, then in source order.
    expect(e.issues).toEqual([issues[1], issues[0]]);
    expect(e.message).toBe('a.yaml: error: two\na.yaml:1:2: error: x: one');
  });
});

describe('YAML syntax errors', () => {
  const UNCLOSED = 'name: t\nmachine: { arch: x86\ncpus: []\n';

  it('are reported as ScenarioError naming the file and the YAML problem', () => {
    const e = errorOf(UNCLOSED);
    expect(e.issues.length).toBeGreaterThanOrEqual(1);
    expect(e.issues[0]!.file).toBe(FILE);
    expect(e.issues[0]!.path).toBe('');
    expect(e.issues[0]!.message).toBe("a '{ ... }' mapping is not closed with '}' on its line, or its next line is not indented under its key");
  });

  it('report a duplicate key as an error', () => {
    const e = errorOf('name: t\nname: u\n');
    expect(e.issues.map((i) => i.message)).toEqual(['this key appears twice in the same mapping']);
  });

  it('reject tabs used as indentation and multi-document files', () => {
    expect(onlyIssue('name: t\nmachine:\n\tarch: x86\n').message).toBe('indentation: use spaces, not tabs');
    expect(onlyIssue('name: t\n---\nname: u\n').message).toMatch(/^YAML: Source contains multiple documents/);
  });

  it('report the line and column of a syntax error', () => {
    const e = errorOf(UNCLOSED);
    expect(e.issues[0]!.pos).not.toBeNull();
    expect(e.message).toMatch(/^x\.yaml:3:1: error: a '\{ \.\.\. \}' mapping is not closed/);
  });

  it('say what is wrong with the indentation in the scenario\'s terms, once per place', () => {
    expect(errorOf('name: t\nmachine: { arch: x86 }\ncpus:\n  - { run: [ idle ] }\n   - { run: [ idle ] }\n').message).toBe(
      "x.yaml:5:4: error: indentation: the items of a list (each '- ' under cpus:, vmas:, run:, walks:) must start in the same column",
    );
    expect(errorOf('cpus:\n  - run: [ idle ]\n  mm: A\n').message).toBe('x.yaml:3:1: error: indentation: the keys of a mapping must start in the same column as the key above them');
    const nested = errorOf('name: t\nmachine:\n  arch: x86\n   cpus: 2\n');
    expect(nested.issues).toHaveLength(1);
    expect(nested.issues[0]!.message).toMatch(/^indentation: this line is indented deeper than the key before it/);
    expect(errorOf('name: t\nmachine: { arch: x86 }\ncpus:\n- { run: [ idle ] }\n  mm: A\n').issues[0]!.message).toMatch(/^this line is in a list but does not start with '- '/);
  });

  it('report the line of a duplicate key', () => {
    const e = errorOf('name: t\nname: u\n');
    expect(e.issues[0]!.pos?.line).toBe(2);
  });

  it('reject a document that is not a mapping, at 1:1', () => {
    for (const text of ['- a\n- b\n', '', 'just a string\n', '42\n']) {
      const e = errorOf(text);
      expect(e.message).toBe('x.yaml:1:1: error: expected a mapping with name, machine, cpus, ...');
    }
  });
});

describe('unknown keys are rejected at every level, at the position of the key', () => {
  interface Case {
    readonly level: string;
    readonly text: string;
    readonly expected: string;
  }
  const cases: Case[] = [
    {
      level: 'top level',
      text: `name: t
nme: x
machine: { arch: x86 }
cpus:
  - { run: [ idle ] }
`,
      expected: "x.yaml:2:1: error: nme: unknown key 'nme' (did you mean 'name'?)",
    },
    {
      level: 'machine',
      text: `name: t
machine: { arch: x86, cpu: 2 }
cpus: [ { run: [ idle ] } ]
`,
      expected: "x.yaml:2:23: error: machine.cpu: unknown key 'cpu' (did you mean 'cpus'?)",
    },
    {
      level: 'config',
      text: `name: t
machine: { arch: x86 }
config:
  preset: sync-rcu
  batch_aloc: fails
cpus: [ { run: [ idle ] } ]
`,
      expected: "x.yaml:5:3: error: config.batch_aloc: unknown key 'batch_aloc' (did you mean 'batch_alloc'?)",
    },
    {
      level: 'mm.<name>',
      text: `name: t
machine: { arch: x86 }
mm:
  A:
    vmas: [ { name: heap, start: 0, end: 1 } ]
    ptes: 2
cpus: [ { run: [ idle ] } ]
`,
      expected: "x.yaml:6:5: error: mm.A.ptes: unknown key 'ptes'",
    },
    {
      level: 'mm.<name>.vmas[i]',
      text: `name: t
machine: { arch: x86 }
mm:
  A:
    vmas: [ { name: heap, start: 0, end: 1, size: 3 } ]
cpus: [ { run: [ idle ] } ]
`,
      expected: "x.yaml:5:45: error: mm.A.vmas[0].size: unknown key 'size'",
    },
    {
      level: 'cpus[i]',
      text: `name: t
machine: { arch: x86 }
cpus:
  - { run: [ idle ] }
  - mmm: A
    run: [ idle ]
`,
      expected: "x.yaml:5:5: error: cpus[1].mmm: unknown key 'mmm' (did you mean 'mm'?)",
    },
    {
      level: 'cpus[i].walks[j]',
      text: `name: t
machine: { arch: x86 }
cpus: [ { run: [ idle ], walks: [ { slot: 0, time: 1 } ] } ]
`,
      expected: "x.yaml:3:46: error: cpus[0].walks[0].time: unknown key 'time' (did you mean 'times'?)",
    },
    {
      level: 'a step',
      text: `name: t
machine: { arch: x86 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - { mm: A, run: [ { munmap: heap, extra: 1 } ] }
`,
      expected: "x.yaml:6:37: error: cpus[0].run[0].extra: unknown key 'extra'",
    },
    {
      level: 'the argument of a step',
      text: `name: t
machine: { arch: x86 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - mm: A
    run:
      - { gup_fast: { slot: 0, slots: 2 } }
`,
      expected: "x.yaml:8:32: error: cpus[0].run[0].gup_fast.slots: unknown key 'slots'",
    },
    {
      level: 'check',
      text: `name: t
machine: { arch: x86 }
cpus: [ { run: [ idle ] } ]
check: { invariant: all }
`,
      expected: "x.yaml:4:10: error: check.invariant: unknown key 'invariant' (did you mean 'invariants'?)",
    },
  ];

  it.each(cases)('$level', ({ text, expected }) => {
    const e = errorOf(text);
    expect(e.issues).toHaveLength(1);
    expect(e.message).toBe(expected);
    // The position points at the key itself.
    const i = e.issues[0]!;
    const key = i.path.split('.').at(-1)!;
    expect(textAt(text, i.pos).startsWith(`${key}:`), `${formatIssue(i)} points at '${key}:'`).toBe(true);
  });

  it('reports every unknown key of the same object separately', () => {
    const text = `name: t
machine: { arch: x86, cpu: 2, smp: true }
cpus: [ { run: [ idle ] } ]
`;
    const e = errorOf(text);
    expect(e.issues.map(formatIssue)).toEqual([
      "x.yaml:2:23: error: machine.cpu: unknown key 'cpu' (did you mean 'cpus'?)",
      "x.yaml:2:31: error: machine.smp: unknown key 'smp'",
    ]);
  });

  it('rejects an unknown step kind with the list of step kinds', () => {
    const text = `name: t
machine: { arch: x86 }
cpus:
  - run: [ idle, { mmunmap: heap }, sleep ]
`;
    const e = errorOf(text);
    expect(e.issues.map((i) => [i.path, textAt(text, i.pos).slice(0, 5)])).toEqual([
      ['cpus[0].run[1]', '{ mmu'],
      ['cpus[0].run[2]', 'sleep'],
    ]);
    const list = `expected a step: one of ${STEP_KINDS.join(', ')} (e.g. 'idle', '{ munmap: heap }', '{ gup_fast: { slot: 0 } }')`;
    expect(e.issues[0]!.message).toBe(`unknown step 'mmunmap' (did you mean 'munmap'?); ${list}`);
    expect(e.issues[1]!.message).toBe(`unknown step 'sleep'; ${list}`);
    expect(STEP_KINDS).toEqual(expect.arrayContaining(['munmap', 'exit_mmap', 'gup_fast', 'idle', 'user', 'reuse_table', 'call']));
  });
});

describe('wrong types and values name the path, what was expected, and the position of the value', () => {
  it('arch: sparc lists the architectures', () => {
    const text = 'name: t\nmachine: { arch: sparc }\ncpus: [ { run: [ idle ] } ]\n';
    const i = onlyIssue(text);
    expect(formatIssue(i)).toMatchInlineSnapshot(
      `"x.yaml:2:18: error: machine.arch: Invalid option: expected one of "x86"|"x86-invlpgb"|"x86-kvm"|"arm64"|"x86-kvm-nopv"|"x86-hyperv"|"x86-xen-pv""`,
    );
    expect(textAt(text, i.pos)).toMatch(/^sparc/);
  });

  it('batch_alloc: maybe lists the knob values', () => {
    const text = 'name: t\nmachine: { arch: x86 }\nconfig: { preset: sync-rcu, batch_alloc: maybe }\ncpus: [ { run: [ idle ] } ]\n';
    const i = onlyIssue(text);
    expect(formatIssue(i)).toMatchInlineSnapshot(
      `"x.yaml:3:42: error: config.batch_alloc: Invalid option: expected one of "succeeds"|"fails"|"may-fail""`,
    );
    expect(textAt(text, i.pos)).toMatch(/^maybe/);
  });

  it('a negative slot says it must be >= 0', () => {
    const text = `name: t
machine: { arch: x86 }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - mm: A
    run: [ { gup_fast: { slot: -1 } } ]
`;
    const i = onlyIssue(text);
    expect(formatIssue(i)).toMatchInlineSnapshot(`"x.yaml:7:32: error: cpus[0].run[0].gup_fast.slot: Too small: expected number to be >=0"`);
    expect(textAt(text, i.pos)).toMatch(/^-1 /);
  });

  it('a negative walk slot and a non-integer one', () => {
    const text = 'name: t\nmachine: { arch: x86 }\ncpus: [ { walks: [ { slot: -2 }, { slot: 1.5 } ] } ]\n';
    const e = errorOf(text);
    expect(e.issues.map((i) => [i.path, i.message, textAt(text, i.pos).slice(0, 3)])).toEqual([
      ['cpus[0].walks[0].slot', 'Too small: expected number to be >=0', '-2 '],
      ['cpus[0].walks[1].slot', 'Invalid input: expected int, received number', '1.5'],
    ]);
  });

  it('booleans, integer knobs and enums of a CPU', () => {
    const text = `name: t
machine: { arch: x86 }
config: { pt_reclaim: maybe, max_table_batch: 0 }
cpus: [ { run: [ idle ], lazy: "yes", tlb: hot } ]
`;
    const e = errorOf(text);
    expect(e.issues.map(formatIssue)).toMatchInlineSnapshot(`
      [
        "x.yaml:3:23: error: config.pt_reclaim: Invalid input: expected boolean, received string",
        "x.yaml:3:47: error: config.max_table_batch: Too small: expected number to be >=1",
        "x.yaml:4:32: error: cpus[0].lazy: Invalid input: expected boolean, received string",
        "x.yaml:4:44: error: cpus[0].tlb: Invalid option: expected one of "warm"|"cold"",
      ]
    `);
    expect(e.issues.map((i) => textAt(text, i.pos).split(/[,} ]/)[0])).toEqual(['maybe', '0', '"yes"', 'hot']);
  });

  it('max_table_batch above its bound and max_steps below its bound', () => {
    const text = 'name: t\nmachine: { arch: x86 }\nconfig: { max_table_batch: 513 }\ncpus: [ { run: [ idle ] } ]\ncheck: { max_steps: 5 }\n';
    const e = errorOf(text);
    expect(e.issues.map(formatIssue)).toEqual([
      'x.yaml:3:28: error: config.max_table_batch: Too big: expected number to be <=512',
      'x.yaml:5:21: error: check.max_steps: Too small: expected number to be >=10',
    ]);
  });

  it('a VMA that ends before it starts points at end', () => {
    const text = `name: t
machine: { arch: x86 }
mm:
  A:
    vmas:
      - { name: heap, start: 2, end: 1 }
cpus: [ { run: [ idle ] } ]
`;
    const i = onlyIssue(text);
    expect(formatIssue(i)).toBe('x.yaml:6:38: error: mm.A.vmas[0].end: end must be greater than start');
    expect(textAt(text, i.pos)).toMatch(/^1 \}/);
  });

  it('a VMA name that is not an identifier says what an identifier is', () => {
    const text = `name: t
machine: { arch: x86 }
mm:
  A: { vmas: [ { name: my-heap, start: 0, end: 1 } ] }
cpus: [ { run: [ idle ] } ]
`;
    const i = onlyIssue(text);
    expect(formatIssue(i)).toBe('x.yaml:4:24: error: mm.A.vmas[0].name: expected an identifier (letters, digits, _)');
    expect(textAt(text, i.pos)).toMatch(/^my-heap/);
  });

  it('empty lists and an empty name are too small', () => {
    const text = `name: ""
machine: { arch: x86 }
mm:
  A: { vmas: [] }
cpus: []
`;
    expect(errorOf(text).issues.map(formatIssue)).toEqual([
      'x.yaml:1:7: error: name: Too small: expected string to have >=1 characters',
      'x.yaml:4:14: error: mm.A.vmas: Too small: expected array to have >=1 items',
      'x.yaml:5:7: error: cpus: Too small: expected array to have >=1 items',
    ]);
  });

  it('an unknown sync function in a call step is rejected at the function', () => {
    const text = 'name: t\nmachine: { arch: x86 }\ncpus:\n  - { run: [ { call: { fn: synchronize_srcu } } ] }\n';
    const i = onlyIssue(text);
    expect(i.path).toBe('cpus[0].run[0].call.fn');
    expect(textAt(text, i.pos)).toMatch(/^synchronize_srcu/);
    expect(i.message).toMatch(/^expected one of tlb_remove_table_sync_one, /);
  });

  it('an unknown sync function lists the valid ones', () => {
    const i = onlyIssue('name: t\nmachine: { arch: x86 }\ncpus:\n  - { run: [ { call: { fn: synchronize_srcu } } ] }\n');
    expect(i.path).toBe('cpus[0].run[0].call.fn');
    expect(i.message).toContain('synchronize_rcu_expedited');
  });

  it('missing required keys are reported at the nearest existing node', () => {
    const e = errorOf('name: t\n');
    expect(e.issues.map(formatIssue)).toEqual([
      "x.yaml:1:1: error: machine: missing key 'machine' (expected object)",
      "x.yaml:1:1: error: cpus: missing key 'cpus' (expected array)",
    ]);
    const text = 'name: t\nmachine: { cpus: 1 }\ncpus: [ { run: [ idle ] } ]\n';
    const i = onlyIssue(text);
    expect(i.path).toBe('machine.arch');
    expect(textAt(text, i.pos)).toMatch(/^\{ cpus: 1 \}/);
  });

  it('a missing required key says it is missing', () => {
    const e = errorOf('name: t\nmachine: { arch: x86 }\n');
    expect(e.message).toMatch(/missing/i);
  });

  it('an mm name that is not an identifier says so, at the key', () => {
    const text = 'name: t\nmachine: { arch: x86 }\nmm:\n  1bad: { vmas: [ { name: heap, start: 0, end: 1 } ] }\ncpus: [ { run: [ idle ] } ]\n';
    const i = onlyIssue(text);
    expect(i.message).toContain('identifier');
    expect(textAt(text, i.pos)).toMatch(/^1bad:/);
  });

  it('reports every schema error of a file, in one ScenarioError', () => {
    const text = `name: t
machine: { arch: sparc, cpus: 0 }
config: { batch_alloc: maybe, colour: red }
mm:
  A: { vmas: [ { name: heap, start: 0, end: 1 } ] }
cpus:
  - mm: A
    run: [ { gup_fast: { slot: -1 } } ]
`;
    const e = errorOf(text);
    expect(e.issues.length).toBeGreaterThan(1);
    expect(e.issues.map((i) => i.path)).toEqual([
      'machine.arch',
      'machine.cpus',
      'config.batch_alloc',
      'config.colour',
      'cpus[0].run[0].gup_fast.slot',
    ]);
    for (const i of e.issues) expect(formatIssue(i)).toMatch(/^x\.yaml:\d+:\d+: error: [\w.[\]-]+: \S/);
    expect(e.message.split('\n')).toEqual(e.issues.map(formatIssue));
  });
});

describe('loadScenario', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    vi.restoreAllMocks();
  });
  function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'ptlab-loader-'));
    dirs.push(d);
    return d;
  }

  it('reads and parses a file, naming it in the result', () => {
    const path = join(tempDir(), 'ok.yaml');
    writeFileSync(path, MINIMAL);
    const f = loadScenario(path);
    expect(f.file).toBe(path);
    expect(f.data.name).toBe('minimal');
    expect(f.issue(['cpus', 0], 'm').file).toBe(path);
  });

  it('names the file in errors of its content', () => {
    const path = join(tempDir(), 'bad.yaml');
    writeFileSync(path, 'name: t\nmachine: { arch: sparc }\ncpus: [ { run: [ idle ] } ]\n');
    expect(() => loadScenario(path)).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:18: error: machine\\.arch: `));
  });

  it('a missing file gives one clean ScenarioError naming the file, and prints nothing', () => {
    const path = join(tempDir(), 'does-not-exist.yaml');
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    const log = vi.spyOn(console, 'log');
    const cerr = vi.spyOn(console, 'error');
    let caught: unknown;
    try {
      loadScenario(path);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ScenarioError);
    const e = caught as ScenarioError;
    expect(e.issues).toEqual([{ file: path, pos: null, path: '', message: 'cannot read scenario (ENOENT)' }]);
    expect(e.message).toBe(`${path}: error: cannot read scenario (ENOENT)`);
    expect(e.message).not.toMatch(/\n|\bat \S+:\d+/);
    for (const spy of [out, err, log, cerr]) expect(spy).not.toHaveBeenCalled();
  });

  it('a directory gives a clean ScenarioError too', () => {
    const dir = tempDir();
    expect(() => loadScenario(dir)).toThrow(new ScenarioError([{ file: dir, pos: null, path: '', message: 'cannot read scenario (EISDIR)' }]));
  });
});
