import { describe, expect, it } from 'vitest';
import { access, Execution, type Program, type Proc, type ThreadSpec, type Value } from '../../src/core/index.js';

function agent(name: string, body: () => Proc): ThreadSpec {
  return { name, cpu: null, kind: 'agent', body };
}

function program(threads: ThreadSpec[], init: Record<string, Value> = { x: 0 }): Program {
  return { name: 'p', machine: { cpus: 0 }, init: new Map(Object.entries(init)), threads, properties: [] };
}

function* write(loc: string, value: Value): Proc<void> {
  yield* access({ fn: 'write', desc: `write ${loc}=${JSON.stringify(value)}`, writes: [loc], effect: () => ({ writes: [[loc, value]] }) });
}

/** Run thread `tid` until it has finished. */
function finish(e: Execution, tid: number): void {
  while (e.thread(tid).phase !== 'done') e.step(tid);
}

describe('Execution.rollback', () => {
  it('restores the store and each thread, and the threads re-run to the same steps', () => {
    const p = program([
      agent('a', function* () {
        for (let i = 1; i <= 3; i++) yield* write('x', i);
      }),
      agent('b', function* () {
        yield* write('y', 1);
      }),
    ], { x: 0, y: 0 });
    const e = new Execution(p);
    e.step(0);
    e.step(1);
    finish(e, 0);
    expect(e.read('x')).toBe(3);
    e.rollback(1);
    expect(e.read('x')).toBe(1);
    expect(e.read('y')).toBe(0);
    expect(e.thread(0).steps).toBe(1);
    expect(e.pending(0).desc).toBe('write x=2');
    expect(e.enabled()).toEqual([0, 1]);
    finish(e, 0);
    expect(e.trace.map((r) => r.desc)).toEqual(['write x=1', 'write x=2', 'write x=3']);
    expect(e.read('x')).toBe(3);
  });

  it('rolls back to before a thread first stepped', () => {
    const p = program([agent('a', function* () {
      yield* write('x', 1);
      yield* write('x', 2);
    })]);
    const e = new Execution(p);
    finish(e, 0);
    e.rollback(0);
    expect(e.read('x')).toBe(0);
    expect(e.pending(0).desc).toBe('write x=1');
    finish(e, 0);
    expect(e.read('x')).toBe(2);
  });

  it('reports a model whose op depends on state changed after it was yielded', () => {
    // The third op's description comes from a counter that outlives a run of the body: the
    // re-run after a rollback yields a different op from the one the rollback restored. (The
    // re-run happens because the op then reads another value of y than before the rollback.)
    const shared = { count: 0 };
    const p = program([
      agent('a', function* () {
        yield* write('x', 1);
        yield* write('x', 2);
        yield* access({ fn: 'write', desc: `write #${shared.count++}`, reads: ['y'], writes: ['x'], effect: () => ({ writes: [['x', 3]] }) });
      }),
      agent('b', () => write('y', 1)),
    ], { x: 0, y: 0 });
    const f = new Execution(p);
    finish(f, 0);
    f.rollback(2);
    expect(f.pending(0).desc).toBe('write #0');
    f.step(1);
    expect(() => f.step(0)).toThrow(/re-ran differently after a rollback: parked at write: write #0, re-run reaches write: write #1/);
  });
});

describe('Execution.rollback: replaying a thread\'s undone steps (ghost)', () => {
  /** A thread that counts how often its body starts, adds y into x twice, and spawns a child. */
  function counting() {
    const runs = { a: 0 };
    const p = program([
      agent('a', function* () {
        runs.a++;
        for (let i = 0; i < 2; i++) {
          yield* access({ fn: 'add', desc: 'x += y', reads: ['x', 'y'], writes: ['x'], effect: ([x, y]) => ({ writes: [['x', (x as number) + (y as number)]], result: x }) });
        }
        const child = (yield { kind: 'spawn', fn: 'spawn', desc: 'child', thread: agent('child', () => write('z', 1)) }) as number;
        yield* write('w', child);
      }),
      agent('b', () => write('y', 10)),
    ], { x: 0, y: 1, z: 0, w: -1 });
    return { runs, e: new Execution(p) };
  }

  it('replays the same steps on the same values without re-running the generator, then resumes it', () => {
    const { runs, e } = counting();
    finish(e, 0);
    expect(runs.a).toBe(1);
    const before = e.trace.map((r) => [r.thread, r.desc, r.writes, r.spawned]);
    e.rollback(1);
    expect(e.read('x')).toBe(1);
    finish(e, 0);
    // Same steps, same writes, same child id, and the body never started again.
    expect(e.trace.map((r) => [r.thread, r.desc, r.writes, r.spawned])).toEqual(before);
    expect(runs.a).toBe(1);
    expect(e.read('w')).toBe(2);
    finish(e, 2);
    expect(e.read('z')).toBe(1);
  });

  it('re-runs the generator once a step reads a different value, and the run goes on from there', () => {
    const { runs, e } = counting();
    finish(e, 0);
    e.rollback(1);
    e.step(1); // y = 10 before a's second add: the replay must stop there
    finish(e, 0);
    expect(runs.a).toBe(2);
    expect(e.read('x')).toBe(11);
    expect(e.trace.map((r) => r.desc)).toEqual(['x += y', 'write y=10', 'x += y', 'child', 'write w=2']);
    expect(e.read('w')).toBe(2);
  });

  it('keeps the undone steps across a second rollback to an earlier point', () => {
    const { runs, e } = counting();
    finish(e, 0);
    e.rollback(2);
    e.step(0); // replayed: the spawn
    e.rollback(0);
    finish(e, 0);
    expect(runs.a).toBe(1);
    expect(e.trace.map((r) => r.desc)).toEqual(['x += y', 'x += y', 'child', 'write w=2']);
    expect(e.read('x')).toBe(2);
  });
});

describe('Execution.sentAt', () => {
  it('gives the value each step sent into its thread, also after a rollback', () => {
    const p = program([
      agent('a', function* () {
        yield* access({ fn: 'read', desc: 'read x', reads: ['x'], effect: ([x]) => ({ result: { x } }) });
      }),
      agent('b', () => write('x', 7)),
    ]);
    const e = new Execution(p);
    e.step(1);
    e.step(0);
    expect(e.sentAt(1)).toEqual({ x: 7 });
    e.rollback(0);
    e.step(0);
    expect(e.sentAt(0)).toEqual({ x: 0 });
    expect(() => e.sentAt(1)).toThrow(/no step 1 \(the trace has 1\)/);
  });
});

describe('Execution.enabledIn', () => {
  it('evaluates a guard on values the store does not hold', () => {
    const p = program([agent('w', function* () {
      yield* access({ fn: 'wait', desc: 'wait for x == 1', reads: ['x'], guard: ([x]) => x === 1 });
    })]);
    const e = new Execution(p);
    const t = e.thread(0);
    expect(e.isEnabled(t)).toBe(false);
    expect(e.enabledIn(t, t.phase, t.op, (loc) => (loc === 'x' ? 1 : undefined))).toBe(true);
    expect(e.enabledIn(t, t.phase, t.op, (loc) => (loc === 'x' ? 0 : undefined))).toBe(false);
    expect(e.initialValue('x')).toBe(0);
  });
});
