/**
 * Toy programs with known numbers of Mazurkiewicz traces, from the DPOR literature, written
 * against the core op protocol only. Used to test the checker engine.
 */
import { access, type Program, type Proc, type ThreadSpec, type Value } from '../../src/core/index.js';

/** A read of `loc`; returns its value. */
export function* read(loc: string): Proc<Value> {
  return yield* access<Value>({ fn: 'read', desc: `read ${loc}`, reads: [loc], effect: ([v]) => ({ result: v }) });
}

/** A write of `value` to `loc`. */
export function* write(loc: string, value: Value): Proc<void> {
  yield* access({ fn: 'write', desc: `write ${loc}=${JSON.stringify(value)}`, writes: [loc], effect: () => ({ writes: [[loc, value]] }) });
}

/** An agent thread (bound to no CPU). */
export function agent(name: string, body: () => Proc): ThreadSpec {
  return { name, cpu: null, kind: 'agent', body };
}

/** A program of agent threads (no CPUs) over the store `init`, with no properties. */
export function program(name: string, init: Record<string, Value>, threads: ThreadSpec[]): Program {
  return { name, machine: { cpus: 0 }, init: new Map(Object.entries(init)), threads, properties: [] };
}

/** N threads writing N different variables: 1 trace. */
export function independentWriters(n: number): Program {
  const init: Record<string, Value> = {};
  for (let i = 0; i < n; i++) init[`x${i}`] = 0;
  return program(`writers(${n})`, init, Array.from({ length: n }, (_, i) => agent(`w${i}`, function* () {
    yield* write(`x${i}`, 1);
  })));
}

/** One writer and N readers of one variable: 2^N traces. */
export function readersWriter(n: number): Program {
  const threads = [agent('w', function* () {
    yield* write('x', 1);
  })];
  for (let i = 0; i < n; i++) threads.push(agent(`r${i}`, function* () {
    yield* read('x');
  }));
  return program(`readers(${n})`, { x: 0 }, threads);
}

/** N threads each doing r = x; x = r + 1. */
export function incrementers(n: number): Program {
  return program(`incrementers(${n})`, { x: 0 }, Array.from({ length: n }, (_, i) => agent(`t${i}`, function* () {
    const r = (yield* read('x')) as number;
    yield* write('x', r + 1);
  })));
}

/**
 * lastzero(N) (Abdulla et al.): array a[0..N] = 0; thread 0 scans for the last zero:
 * for (i = N; a[i] != 0; i--); threads j = 1..N: a[j] = a[j-1] + 1. (N+3)·2^(N-2) traces.
 */
export function lastzero(n: number): Program {
  const init: Record<string, Value> = {};
  for (let i = 0; i <= n; i++) init[`a${i}`] = 0;
  const threads = [agent('scan', function* () {
    for (let i = n; i >= 0; i--) {
      const v = (yield* read(`a${i}`)) as number;
      if (v === 0) break;
    }
  })];
  for (let j = 1; j <= n; j++) threads.push(agent(`t${j}`, function* () {
    const v = (yield* read(`a${j - 1}`)) as number;
    yield* write(`a${j}`, v + 1);
  }));
  return program(`lastzero(${n})`, init, threads);
}

/** A blocking toy: T0 waits until x == 1, T1 sets x = 1; T2 reads x. */
export function waiter(): Program {
  return program('waiter', { x: 0 }, [
    agent('wait', function* () {
      yield* access({ fn: 'wait', desc: 'wait x==1', reads: ['x'], guard: ([v]) => v === 1 });
    }),
    agent('set', function* () {
      yield* write('x', 1);
    }),
    agent('peek', function* () {
      yield* read('x');
    }),
  ]);
}

/** Two threads that each wait for the other: always deadlocks. */
export function deadlock(): Program {
  return program('deadlock', { a: 0, b: 0 }, [
    agent('p', function* () {
      yield* access({ fn: 'wait', desc: 'wait b', reads: ['b'], guard: ([v]) => v === 1 });
      yield* write('a', 1);
    }),
    agent('q', function* () {
      yield* access({ fn: 'wait', desc: 'wait a', reads: ['a'], guard: ([v]) => v === 1 });
      yield* write('b', 1);
    }),
  ]);
}

/**
 * indexer(N) (Flanagan and Godefroid, POPL 2005): N threads each insert 4 messages into a
 * 128-entry hash table with compare-and-swap, probing linearly on collision. Message j of thread
 * t is (j + 1) * 11 + t, hashed to (w * 7) % 128. Threads collide only from N = 12 on:
 * 8^(N-11) traces.
 */
export function indexer(n: number): Program {
  const SIZE = 128;
  const init: Record<string, Value> = {};
  for (let i = 0; i < SIZE; i++) init[`t${i}`] = 0;
  return program(`indexer(${n})`, init, Array.from({ length: n }, (_, tid) => agent(`i${tid}`, function* () {
    for (let j = 0; j < 4; j++) {
      const w = (j + 1) * 11 + tid;
      let h = (w * 7) % SIZE;
      for (;;) {
        const loc = `t${h}`;
        const ok = yield* access<boolean>({
          fn: 'cas',
          desc: `cas(table[${h}], 0, ${w})`,
          reads: [loc],
          writes: [loc],
          effect: ([v]) => (v === 0 ? { writes: [[loc, w]], result: true } : { result: false }),
        });
        if (ok) break;
        h = (h + 1) % SIZE;
      }
    }
  })));
}

/** An atomic add with a commutativity tag (AccessOp.commutes): adds commute with each other. */
function* atomicAdd(loc: string, d: number): Proc<void> {
  yield* access({ fn: 'atomic_add', desc: `${loc} += ${d}`, reads: [loc], writes: [loc], commutes: 'add', effect: ([v]) => ({ writes: [[loc, (v as number) + d]] }) });
}

/**
 * N threads each atomically adding 1 to x (tagged as commuting), and, with `reader`, a thread
 * that reads x into r, and with `writer` a thread that sets x = 100 (plain). Traces: 1 without
 * reader and writer; 2^N with the reader (which adds are before it).
 */
export function atomicAdders(n: number, o: { reader?: boolean; writer?: boolean } = {}): Program {
  const threads = Array.from({ length: n }, (_, i) => agent(`add${i}`, function* () {
    yield* atomicAdd('x', 1);
  }));
  if (o.reader) threads.push(agent('reader', function* () {
    const v = yield* read('x');
    yield* write('r', v);
  }));
  if (o.writer) threads.push(agent('writer', function* () {
    yield* write('x', 100);
  }));
  return program(`atomicAdders(${n})`, { x: 0, r: null }, threads);
}
