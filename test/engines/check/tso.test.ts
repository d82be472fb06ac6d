/**
 * x86-TSO in the checker, on the classic litmus tests (Sewell et al., "x86-TSO", CACM 2010;
 * tools/memory-model's SB and MP): store buffering is observable without a full barrier, message
 * passing is not (the buffer is FIFO), and smp_mb() forbids store buffering.
 */
import { describe, expect, it } from 'vitest';
import { access, type Program, type Proc, type ThreadSpec, type Value } from '../../../src/core/index.js';
import { Explorer } from '../../../src/engines/check/dpor.js';

function* store(loc: string, v: Value): Proc<void> {
  yield* access({ fn: 'WRITE_ONCE', desc: `${loc} = ${String(v)}`, writes: [loc], ordering: 'store', effect: () => ({ writes: [[loc, v]] }) });
}
function* load(loc: string): Proc<Value> {
  return yield* access<Value>({ fn: 'READ_ONCE', desc: loc, reads: [loc], ordering: 'load', effect: ([v]) => ({ result: v }) });
}
function* mb(): Proc<void> {
  yield* access({ fn: 'smp_mb', desc: 'full barrier' });
}
/** Publish a register's final value (a locked store: drains, then writes memory). */
function* result(loc: string, v: Value): Proc<void> {
  yield* access({ fn: 'result', desc: loc, writes: [loc], effect: () => ({ writes: [[loc, v]] }) });
}

function program(memoryModel: 'sc' | 'tso', t0: () => Proc, t1: () => Proc): Program {
  const threads: ThreadSpec[] = [
    { name: 'P0', cpu: 0, kind: 'task', body: t0 },
    { name: 'P1', cpu: 1, kind: 'task', body: t1 },
  ];
  return { name: 'litmus', machine: { cpus: 2 }, init: new Map<string, Value>([['x', 0], ['y', 0], ['r0', -1], ['r1', -1]]), threads, properties: [], memoryModel };
}

function outcomes(p: Program): Set<string> {
  const seen = new Set<string>();
  new Explorer(p, { reduction: 'dpor', onComplete: (exec) => seen.add(`r0=${String(exec.read('r0'))} r1=${String(exec.read('r1'))}`) }).run();
  return seen;
}

const sb = (withMb: boolean) => [
  function* () {
    yield* store('x', 1);
    if (withMb) yield* mb();
    yield* result('r0', yield* load('y'));
  },
  function* () {
    yield* store('y', 1);
    if (withMb) yield* mb();
    yield* result('r1', yield* load('x'));
  },
] as const;

describe('x86-TSO', () => {
  it('SB: both loads can miss the other CPU\'s store under TSO, never under SC', () => {
    const [a, b] = sb(false);
    expect(outcomes(program('sc', a, b))).toEqual(new Set(['r0=0 r1=1', 'r0=1 r1=0', 'r0=1 r1=1']));
    expect(outcomes(program('tso', a, b))).toEqual(new Set(['r0=0 r1=0', 'r0=0 r1=1', 'r0=1 r1=0', 'r0=1 r1=1']));
  });

  it('SB+mbs: full barriers on both sides forbid it', () => {
    const [a, b] = sb(true);
    expect(outcomes(program('tso', a, b))).not.toContain('r0=0 r1=0');
  });

  it('MP: stores reach memory in order, so a reader that sees the flag sees the data', () => {
    const p = program('tso',
      function* () {
        yield* store('x', 1);
        yield* store('y', 1);
      },
      function* () {
        const f = yield* load('y');
        const d = yield* load('x');
        yield* result('r0', f);
        yield* result('r1', d);
      });
    const o = outcomes(p);
    expect(o).not.toContain('r0=1 r1=0');
    expect(o).toContain('r0=1 r1=1');
    expect(o).toContain('r0=0 r1=0');
  });

  it('a CPU reads its own buffered store', () => {
    const p = program('tso',
      function* () {
        yield* store('x', 1);
        yield* result('r0', yield* load('x'));
      },
      function* () {
        yield* result('r1', 0);
      });
    expect([...outcomes(p)].every((o) => o.startsWith('r0=1'))).toBe(true);
  });
});

describe('x86-TSO: DPOR explores every outcome naive exploration finds', () => {
  function outcomesNaive(p: Program): Set<string> {
    const seen = new Set<string>();
    new Explorer(p, { reduction: 'none', onComplete: (exec) => seen.add(`r0=${String(exec.read('r0'))} r1=${String(exec.read('r1'))}`) }).run();
    return seen;
  }
  it.each([false, true])('SB (mb: %s)', (withMb) => {
    const [a, b] = sb(withMb);
    const p = program('tso', a, b);
    expect(outcomes(p)).toEqual(outcomesNaive(p));
  });
  it('a CPU storing twice to one location while another reads it', () => {
    const p = program('tso',
      function* () {
        yield* store('x', 1);
        yield* store('x', 2);
        yield* result('r0', yield* load('y'));
      },
      function* () {
        yield* store('y', 1);
        const a = yield* load('x');
        const b = yield* load('x');
        yield* result('r1', `${String(a)}${String(b)}`);
      });
    expect(outcomes(p)).toEqual(outcomesNaive(p));
    expect([...outcomes(p)].some((o) => o.endsWith('r1=21'))).toBe(false);
  });
});
