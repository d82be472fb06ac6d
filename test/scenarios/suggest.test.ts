/** "Did you mean" on misspelt keys, knobs, presets, invariants and profiles. */
import { describe, expect, it } from 'vitest';
import { didYouMean, keysAt } from '../../src/scenarios/suggest.js';
import { scenarioSchema } from '../../src/scenarios/schema.js';
import { ScenarioError } from '../../src/scenarios/loader.js';
import { scenarioFromText } from '../../src/scenarios/resolve.js';

const BASE = ['name: t', 'machine: { arch: x86 }', 'mm: { A: { vmas: [ { name: heap, start: 0, end: 1 } ] } }', 'cpus:', '  - { mm: A, run: [ { munmap: heap } ] }'];

function error(lines: readonly string[], overrides = {}): string {
  try {
    scenarioFromText(lines.join('\n'), 'x.yaml', overrides);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message;
    throw e;
  }
  throw new Error('no error');
}

describe('didYouMean', () => {
  it('names the closest candidate within a third of its length (at least 2 edits), else nothing', () => {
    expect(didYouMean('sync-rc', ['sync-rcu', 'broadcast-ipi'])).toBe(" (did you mean 'sync-rcu'?)");
    expect(didYouMean('gup_fats', ['gup_fast', 'munmap'])).toBe(" (did you mean 'gup_fast'?)");
    expect(didYouMean('zzzzzz', ['sync-rcu', 'broadcast-ipi'])).toBe('');
    expect(didYouMean('x', [])).toBe('');
  });

  it('finds the keys a scenario object takes, through optionals, arrays, records and unions', () => {
    expect(keysAt(scenarioSchema, [])).toContain('machine');
    expect(keysAt(scenarioSchema, ['machine'])).toEqual(expect.arrayContaining(['arch', 'cpus']));
    expect(keysAt(scenarioSchema, ['mm', 'A', 'vmas', 0])).toEqual(expect.arrayContaining(['name', 'start', 'end']));
    expect(keysAt(scenarioSchema, ['cpus', 0])).toEqual(expect.arrayContaining(['mm', 'run', 'walks']));
    expect(keysAt(scenarioSchema, ['no', 'such'])).toEqual([]);
  });
});

describe('scenario errors suggest the name meant', () => {
  it('a misspelt run step', () => {
    expect(error([...BASE.slice(0, 4), '  - { mm: A, run: [ { munmapp: heap } ] }'])).toContain("unknown step 'munmapp' (did you mean 'munmap'?); expected a step");
    expect(error([...BASE.slice(0, 4), '  - { mm: A, run: [ idel ] }'])).toContain("unknown step 'idel' (did you mean 'idle'?)");
  });

  it('a misspelt knob, in the scenario and on the command line', () => {
    expect(error([...BASE, 'config: { batch_aloc: fails }'])).toContain("(did you mean 'batch_alloc'?)");
    expect(error(BASE, { set: ['batch_aloc=fails'] })).toContain("unknown knob 'batch_aloc' (did you mean 'batch_alloc'?); expected one of");
  });

  it('a misspelt preset and invariant', () => {
    expect(error([...BASE, 'config: { preset: sync-rc }'])).toContain("unknown preset 'sync-rc' (did you mean 'sync-rcu'?); expected one of");
    expect(error([...BASE, 'check: { invariants: [ no-walk-of-freed-tables ] }'])).toContain("unknown invariant 'no-walk-of-freed-tables' (did you mean 'no-walk-of-freed-table'?)");
    expect(error([...BASE.slice(0, 1), 'expect: { deadlok: no }', ...BASE.slice(1)])).toContain("(did you mean 'deadlock'?)");
  });
});
