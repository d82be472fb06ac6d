/**
 * scenarios/check/lock-order/: every scenario exists twice, identical but for the order of its
 * first two CPUs (scripts/gen-lock-order-twins.ts). The verdicts of the twins are compared by the
 * catalog test (each against the same `expect:`); here, that the twins are twins.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LOCK_ORDER_DIR, TWINS, twinFile, twinText } from '../../scripts/gen-lock-order-twins.js';

describe('lock-order twins', () => {
  it('every file of the directory belongs to a twin', () => {
    const listed = TWINS.flatMap((t) => [twinFile(t, t.first), twinFile(t, t.second)]).sort();
    const present = readdirSync(LOCK_ORDER_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `${LOCK_ORDER_DIR}/${f}`)
      .sort();
    expect(present).toEqual(listed);
  });

  it.each(TWINS.map((t) => [t.base, t] as const))('%s: the twin is up to date', (_, t) => {
    const source = readFileSync(twinFile(t, t.first), 'utf8');
    for (const who of [t.first, t.second]) expect(readFileSync(twinFile(t, who), 'utf8')).toBe(twinText(t, source, who));
  });

  it.each(TWINS.map((t) => [t.base, t] as const))('%s: same scenario, first two CPUs swapped', (_, t) => {
    const a = parse(readFileSync(twinFile(t, t.first), 'utf8')) as Record<string, unknown> & { cpus: unknown[] };
    const b = parse(readFileSync(twinFile(t, t.second), 'utf8')) as Record<string, unknown> & { cpus: unknown[] };
    const rest = (d: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'name' && k !== 'cpus'));
    expect(rest(b)).toEqual(rest(a));
    expect(b.cpus).toEqual([a.cpus[1], a.cpus[0], ...a.cpus.slice(2)]);
    expect(a.cpus[0]).not.toEqual(a.cpus[1]);
  });
});
