/** The ledger of page-table pages: names (the checker's, in every trace), lives, pending count, stale reads. */
import { describe, expect, it } from 'vitest';
import { Driver } from '../../src/core/index.js';
import { scenarioFromText } from '../../src/scenarios/resolve.js';
import { TableLedger } from '../../src/model/table-ledger.js';
import { check } from '../../src/engines/check/index.js';
import { openScenario } from '../../src/scenarios/resolve.js';

/** A VMA mapped later gets a fresh page as its PTE table (A.pte2); the boot table A.pte0 is freed. */
const REFAULT = `
name: refault
machine: { arch: x86, cpus: 1 }
config: { preset: sync-rcu, batch_alloc: fails }
mm:
  A:
    vmas: [ { name: heap, start: 0, end: 1 }, { name: stack, start: 1, end: 2 }, { name: late, start: 2, end: 3, mapped: false } ]
cpus:
  - { mm: A, run: [ { mmap: late }, { touch: late }, { munmap: late }, { munmap: heap } ] }
check: { invariants: all }
`;

function roundRobin(text: string) {
  const s = scenarioFromText(text);
  const d = new Driver(s.program);
  d.runAll();
  return d.exec;
}

describe('TableLedger', () => {
  const exec = roundRobin(REFAULT);
  const ledger = TableLedger.of(exec.trace);
  const alloc = exec.trace.find((r) => r.events.some((e) => e.type === 'page_alloc' && e.level === 'pte'));
  if (!alloc) throw new Error('expected a PTE table allocation');
  const fresh = String(alloc.events.find((e) => e.type === 'page_alloc')?.page);

  it('names a fresh page by the table it is linked as, with the page: A.pte2@pfnN', () => {
    expect(fresh).toMatch(/^pfn\d+$/);
    expect(ledger.nameAt(fresh, alloc.index)).toBe(`A.pte2@${fresh}`);
    // Boot tables keep their names; a fresh page before its allocation is only a page.
    expect(ledger.nameAt('A.pte0', alloc.index)).toBe('A.pte0');
    expect(ledger.nameAt(fresh, alloc.index - 1)).toBe(fresh);
    expect(ledger.rename(`spin_lock(ptl:${fresh}) and ${fresh}[3]`, alloc.index)).toBe(`spin_lock(ptl:A.pte2@${fresh}) and A.pte2@${fresh}[3]`);
  });

  it('lists each life from allocation to free, boot tables from before the trace', () => {
    const lives = ledger.seen.map((l) => ({ name: TableLedger.nameOf(l), alloc: l.allocStep !== null, freed: l.freeStep !== null }));
    expect(lives).toEqual([
      { name: `A.pte2@${fresh}`, alloc: true, freed: true },
      { name: 'A.pte0', alloc: false, freed: true },
    ]);
    for (const l of ledger.seen) if (l.allocStep !== null && l.freeStep !== null) expect(l.allocStep).toBeLessThan(l.freeStep);
  });

  it('counts the tables unhooked and not yet freed', () => {
    // Two munmaps, each unhooks one table and frees it before returning (the fallback frees at once).
    expect(ledger.pendingAt.map(([, n]) => n)).toEqual([1, 0, 1, 0]);
    expect(ledger.pending).toBe(0);
  });

  it("finds the stale read of the checker's use-after-free and the step that freed the table", () => {
    const s = openScenario('scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml');
    const cx = check(s.program).verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.counterexample;
    if (!cx?.violation) throw new Error('expected a counterexample');
    const l = TableLedger.of(cx.trace.slice(0, cx.violation.step + 1));
    const read = l.staleReads.find((r) => r.step === cx.violation?.step);
    expect(read).toMatchObject({ page: 'A.pte0', state: 'free' });
    const freeStep = read?.freeStep as number;
    expect(cx.trace[freeStep]?.events.some((e) => e.type === 'pt_free' && e.table === 'A.pte0')).toBe(true);
    expect(freeStep).toBeLessThan(cx.violation.step);
  });

  it('forgets the facts of a range of steps, keeping the pending count they left', () => {
    const l = TableLedger.of(exec.trace);
    const [firstChange] = l.pendingAt;
    l.forget(0, (firstChange as readonly [number, number])[0] + 1);
    expect(l.pendingAt[0]).toEqual([(firstChange as readonly [number, number])[0], 1]);
    expect(l.seen.map((x) => TableLedger.nameOf(x))).toContain('A.pte0');
  });
});
