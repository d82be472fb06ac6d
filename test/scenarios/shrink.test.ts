/**
 * A scenario with fewer of its identical CPUs (src/scenarios/shrink.ts): which CPUs are identical,
 * the smaller document, and its errors still pointing at the file's text.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenarios/loader.js';
import { resolveScenario } from '../../src/scenarios/resolve.js';
import { identicalCpus, withoutCpus } from '../../src/scenarios/shrink.js';
import { rejectionOf, textAt } from './helpers.js';

const WALKERS = `name: shrink-fixture
machine: { arch: arm64, cpus: 5 }
config: { preset: broadcast-ipi }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 1 }
      - { name: stack, start: 1, end: 2 }
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
  - { mm: A, run: [ { gup_fast: { slot: 0 } } ], count: 2 }
  - { mm: A, run: [ { gup_fast: { slot: 1 } } ] }
  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }
`;

describe('identicalCpus', () => {
  it('groups CPUs whose entries are equal, count: groups expanded, and leaves out CPUs alike with none', () => {
    expect(identicalCpus(parseScenario(WALKERS, 'w.yaml'))).toEqual([[1, 2, 4]]);
    expect(identicalCpus(parseScenario(WALKERS.replace('count: 2', 'count: 1').replace('cpus: 5', 'cpus: 4').replace('slot: 1', 'slot: 2'), 'w.yaml'))).toEqual([[1, 3]]);
  });

  it('tells CPUs apart by any per-CPU option', () => {
    const one = WALKERS.replace('  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }\n', '  - { mm: A, run: [ { gup_fast: { slot: 0 } } ], lazy: true }\n');
    expect(identicalCpus(parseScenario(one, 'w.yaml'))).toEqual([[1, 2]]);
  });
});

describe('withoutCpus', () => {
  it('drops the CPUs, moves the later ones down, and lowers machine.cpus to match', () => {
    const file = parseScenario(WALKERS, 'w.yaml');
    const smaller = withoutCpus(file, [2, 4]);
    expect(smaller.data.machine.cpus).toBe(3);
    expect(smaller.data.cpus.map((c) => JSON.stringify(c.run))).toEqual([/munmap/, /"slot":0/, /"slot":1/].map((re) => expect.stringMatching(re)));
    const s = resolveScenario(smaller);
    expect(s.program.machine.cpus).toBe(3);
    expect(s.program.threads.filter((t) => t.kind === 'task').map((t) => t.cpu)).toEqual([0, 1, 2]);
  });

  it('keeps errors pointing at the entry in the file', () => {
    const bad = WALKERS.replace('{ gup_fast: { slot: 1 } }', '{ gup_fast: { slot: 7 } }');
    const err = rejectionOf(() => resolveScenario(withoutCpus(parseScenario(bad, 'w.yaml'), [1])));
    const issue = err.issues.find((i) => /slot/.test(i.message));
    expect(issue, err.message).toBeDefined();
    expect(textAt(bad, issue!.pos)).toContain('slot: 7');
  });

  it('refuses a CPU the file does not have, and dropping them all', () => {
    const file = parseScenario(WALKERS, 'w.yaml');
    expect(() => withoutCpus(file, [5])).toThrow(/no CPU5 \(CPUs 0\.\.4\)/);
    expect(() => withoutCpus(file, [0, 1, 2, 3, 4])).toThrow(/leaves no scenario/);
  });
});
