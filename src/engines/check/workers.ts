/**
 * Subtrees of one exploration on worker threads (subtree.ts): the Delegation every explorer
 * uses, the one on the main thread and one in each worker.
 *
 * Each thread has a state in shared memory: busy, idle (it would take a subtree), or claimed
 * (someone is sending it one). An explorer checks after every execution whether some other
 * thread is idle (wanted()); if so it claims it with a compare-and-swap and sends it the
 * subtree. A thread is idle when it has nothing to do, and also while it waits for the result of
 * a subtree it handed out: it then explores what it is sent meanwhile, so a thread that waits
 * never stands still while there is work, and nested hand-outs cannot deadlock (the subtree
 * waited for is always being explored by some thread). Waiting sleeps on Atomics.wait (allowed
 * on Node's main thread) and messages are read with receiveMessageOnPort, so the explorers stay
 * synchronous. Every pair of threads has a MessageChannel.
 *
 * A worker builds the program itself, from a module and an export the caller names
 * (ProgramSource), so the engine never learns what the program models.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Program } from '../../core/execution.js';
import { Explorer, exploreSubtree } from './dpor.js';
import type { Delegation, SubtreeResult, SubtreeTask } from './subtree.js';

/** How a worker builds the program: `(await import(module))[name](args)`. */
export interface ProgramSource {
  /** A file URL. */
  readonly module: string;
  readonly name: string;
  /** Structured-cloneable. */
  readonly args: unknown;
}

const BUSY = 0;
const IDLE = 1;
const CLAIMED = 2;
/** A worker that could not build its program (it never takes a subtree). */
const FAILED = 3;

type Message =
  | { readonly kind: 'task'; readonly from: number; readonly handle: number; readonly task: SubtreeTask }
  | { readonly kind: 'result'; readonly handle: number; readonly result: SubtreeResult }
  | { readonly kind: 'error'; readonly handle: number; readonly message: string };

/** Per thread, in WorkerData.work: subtrees explored for others, their executions, ms idle. */
const WORK_FIELDS = 3;

/** How the threads of a split exploration spent it (WorkerDelegation.work()). */
export interface ThreadWork {
  /** Subtrees it explored for another thread. */
  readonly subtrees: number;
  /** Their executions. */
  readonly executions: number;
  /** Time it had nothing to explore, in ms. */
  readonly idleMs: number;
}

/** What a worker is started with. */
interface WorkerData {
  readonly self: number;
  readonly source: ProgramSource;
  readonly states: SharedArrayBuffer;
  readonly mail: SharedArrayBuffer;
  readonly work: SharedArrayBuffer;
  /** Ports to send to thread j (index j; null for itself), and to receive from any. */
  readonly out: ReadonlyArray<MessagePort | null>;
  readonly in: readonly MessagePort[];
}

/** One thread's end of the hand-off. */
class Endpoint implements Delegation {
  private program: Program | null = null;
  readonly states: Int32Array;
  private readonly mail: Int32Array;
  private readonly work: Float64Array;
  private readonly results = new Map<number, SubtreeResult | Error>();
  private readonly dropped = new Set<number>();
  /** Handles are this thread's index plus a multiple of the thread count, so unique everywhere. */
  private nextHandle: number;

  constructor(
    private readonly self: number,
    states: SharedArrayBuffer,
    mail: SharedArrayBuffer,
    work: SharedArrayBuffer,
    private readonly out: ReadonlyArray<MessagePort | null>,
    private readonly inbox: readonly MessagePort[],
  ) {
    this.states = new Int32Array(states);
    this.mail = new Int32Array(mail);
    this.work = new Float64Array(work);
    this.nextHandle = self;
  }

  setProgram(program: Program): void {
    this.program = program;
  }

  wanted(_explored?: () => number): boolean {
    for (let j = 0; j < this.states.length; j++) if (j !== this.self && Atomics.load(this.states, j) === IDLE) return true;
    return false;
  }

  submit(task: SubtreeTask): number | null {
    for (let j = 0; j < this.states.length; j++) {
      if (j === this.self || Atomics.compareExchange(this.states, j, IDLE, CLAIMED) !== IDLE) continue;
      const handle = this.nextHandle;
      this.nextHandle += this.states.length;
      this.send(j, { kind: 'task', from: this.self, handle, task });
      return handle;
    }
    return null;
  }

  wait(handle: number, ms: number): SubtreeResult | null {
    this.serve(() => this.results.has(handle), performance.now() + ms);
    const r = this.results.get(handle);
    if (r === undefined) return null;
    this.results.delete(handle);
    if (r instanceof Error) throw r;
    return r;
  }

  cancel(handle: number): void {
    if (!this.results.delete(handle)) this.dropped.add(handle);
  }

  /**
   * Be idle until `done()` or the time `until` (performance.now()): explore the subtrees sent
   * here meanwhile, keep the results sent here. Leaving, a thread claimed in the meantime takes
   * the subtree it is being sent first.
   */
  serve(done: () => boolean, until = Infinity): void {
    Atomics.store(this.states, this.self, IDLE);
    for (;;) {
      const seen = Atomics.load(this.mail, this.self);
      let got = false;
      for (const port of this.inbox) {
        for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
          got = true;
          this.receive(m.message as Message);
        }
      }
      const now = performance.now();
      if ((done() || now >= until) && Atomics.compareExchange(this.states, this.self, IDLE, BUSY) === IDLE) return;
      if (!got) {
        Atomics.wait(this.mail, this.self, seen, Math.max(1, Math.min(1000, until - now)));
        (this.work[this.self * WORK_FIELDS + 2] as number) += performance.now() - now;
      }
    }
  }

  private receive(m: Message): void {
    if (m.kind === 'task') {
      Atomics.store(this.states, this.self, BUSY);
      let reply: Message;
      try {
        if (this.program === null) throw new Error('worker: no program');
        const result = exploreSubtree(this.program, m.task, this);
        reply = { kind: 'result', handle: m.handle, result };
        (this.work[this.self * WORK_FIELDS] as number) += 1;
        (this.work[this.self * WORK_FIELDS + 1] as number) += result.stats.executions;
      } catch (e) {
        reply = { kind: 'error', handle: m.handle, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
      }
      this.send(m.from, reply);
      Atomics.store(this.states, this.self, IDLE);
      return;
    }
    if (this.dropped.delete(m.handle)) return;
    this.results.set(m.handle, m.kind === 'result' ? m.result : new Error(`a worker exploring a subtree failed: ${m.message}`));
  }

  private send(j: number, m: Message): void {
    (this.out[j] as MessagePort).postMessage(m);
    Atomics.add(this.mail, j, 1);
    Atomics.notify(this.mail, j);
  }
}

/** The main thread's Delegation, with its workers; close() when the exploration is over. */
export class WorkerDelegation implements Delegation {
  private readonly endpoint: Endpoint;
  private readonly workers: Worker[] = [];
  private readonly workBuffer: Float64Array;
  /** Workers still to start, and when (performance.now()). */
  private pending: Array<{ readonly data: WorkerData; readonly transfer: MessagePort[] }> = [];
  private startAt: number;
  private readonly begun = performance.now();
  /** Workers started. */
  private started = 0;
  /** What failed workers threw (once the event loop has delivered it). */
  private readonly errors: Error[] = [];

  /**
   * `threads` explorers in all: this one and threads - 1 workers building the program from
   * `source`. The workers start once the exploration has run `startAfterMs` (default 3000) and
   * the estimate of what is left (Explorer.exploredShare()) is at least MIN_LEFT_MS: a worker
   * starting (loading its modules, building the program, warming up) slows the main thread for
   * about a second, and on this 2-core machine runs of 2 to 5 s ended later on two threads than
   * on one; runs of 30 s and more gain (docs/performance.md).
   */
  constructor(program: Program, source: ProgramSource, threads: number, startAfterMs = 3000) {
    this.startAt = performance.now() + startAfterMs;
    if (!Number.isInteger(threads) || threads < 2) throw new Error(`WorkerDelegation: threads must be an integer >= 2, got ${threads}`);
    const states = new SharedArrayBuffer(4 * threads);
    const mail = new SharedArrayBuffer(4 * threads);
    const work = new SharedArrayBuffer(8 * WORK_FIELDS * threads);
    this.workBuffer = new Float64Array(work);
    const ports: Array<Array<MessagePort | null>> = [];
    const inboxes: MessagePort[][] = Array.from({ length: threads }, () => []);
    for (let i = 0; i < threads; i++) {
      const row: Array<MessagePort | null> = [];
      for (let j = 0; j < threads; j++) {
        if (i === j) {
          row.push(null);
          continue;
        }
        const ch = new MessageChannel();
        row.push(ch.port1);
        (inboxes[j] as MessagePort[]).push(ch.port2);
      }
      ports.push(row);
    }
    // Nobody is idle until it has its program.
    new Int32Array(states).fill(BUSY);
    this.endpoint = new Endpoint(0, states, mail, work, ports[0] as Array<MessagePort | null>, inboxes[0] as MessagePort[]);
    this.endpoint.setProgram(program);
    for (let j = 1; j < threads; j++) {
      const out = ports[j] as Array<MessagePort | null>;
      const inbox = inboxes[j] as MessagePort[];
      const data: WorkerData = { self: j, source, states, mail, work, out, in: inbox };
      const transfer = [...out.filter((p): p is MessagePort => p !== null), ...inbox];
      this.pending.push({ data, transfer });
    }
  }

  wanted(explored: () => number): boolean {
    if (this.pending.length > 0) {
      const now = performance.now();
      if (now >= this.startAt) {
        // Start only with enough left, by the estimate of the share explored; else look again later.
        const share = explored();
        const left = share > 0 ? ((now - this.begun) * (1 - share)) / share : Infinity;
        if (left >= MIN_LEFT_MS) this.start();
        else this.startAt = now + 1000;
      }
    }
    return this.endpoint.wanted();
  }

  private start(): void {
    for (const { data, transfer } of this.pending) {
      const worker = startWorker(data, transfer);
      // A worker that fails marks itself FAILED and the exploration goes on without it.
      worker.on('error', (e) => this.errors.push(e));
      worker.unref();
      this.workers.push(worker);
      this.started++;
    }
    this.pending = [];
  }

  /**
   * Start the workers now and wait until each has its program and is warm (tests and benchmarks
   * use it to split from the first execution on).
   */
  async ready(): Promise<void> {
    this.start();
    const states = this.endpoint.states;
    for (;;) {
      let all = true;
      for (let j = 1; j < states.length; j++) {
        const state = Atomics.load(states, j);
        if (state === FAILED) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          throw new Error(`worker ${j} could not build the program${this.errors.length > 0 ? `: ${this.errors.map((e) => e.message).join('; ')}` : ''}`);
        }
        if (state !== IDLE) all = false;
      }
      if (all) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  submit(task: SubtreeTask): number | null {
    return this.endpoint.submit(task);
  }
  wait(handle: number, ms: number): SubtreeResult | null {
    return this.endpoint.wait(handle, ms);
  }
  cancel(handle: number): void {
    this.endpoint.cancel(handle);
  }

  /** Threads that took part: this one and the workers started (none if the run ended first). */
  get threads(): number {
    return 1 + this.started;
  }

  /** How each thread (this one first) spent the exploration so far. */
  work(): ThreadWork[] {
    const out: ThreadWork[] = [];
    for (let i = 0; i < this.workBuffer.length / WORK_FIELDS; i++) {
      const at = i * WORK_FIELDS;
      out.push({ subtrees: this.workBuffer[at] as number, executions: this.workBuffer[at + 1] as number, idleMs: this.workBuffer[at + 2] as number });
    }
    return out;
  }

  /** Stop the workers (whatever they are exploring is no longer wanted). */
  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.pending = [];
  }
}

/**
 * A worker running this module's workerMain(): the compiled module as it is, or, under the
 * TypeScript sources (tests, tsx), the source through tsx's loader, registered in the worker.
 */
function startWorker(data: WorkerData, transfer: MessagePort[]): Worker {
  const self = import.meta.url;
  // A worker's default young generation is a fraction of the main thread's; with it, the
  // explorer, which allocates a little per step, ran 1.7 times slower in a worker than on the
  // main thread (docs/performance.md). 48 MB makes them even.
  const options = { workerData: data, transferList: transfer, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } };
  if (!self.endsWith('.ts')) return new Worker(new URL('./worker-main.js', self), options);
  // tsx's ESM API (its `require` export is the CommonJS one, which cannot register in a worker).
  const tsx = pathToFileURL(join(dirname(createRequire(self).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker-main.ts', self).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * How long a worker explores the program on its own before it takes subtrees: a cold worker
 * explores at half speed or less until V8 has compiled the explorer and the model for it
 * (measured in docs/performance.md); warming up on its own core costs the exploration nothing.
 */
const WARM_UP_MS = 400;

/** Workers start only if the exploration looks to have at least this much left, in ms. */
const MIN_LEFT_MS = 10_000;

/** A worker's young generation, in MB (startWorker()). */
const YOUNG_GENERATION_MB = 48;

/** Explore `program` for about `ms`, for nothing but the JIT. */
function warmUp(program: Program, ms: number): void {
  const until = performance.now() + ms;
  const steps = new Explorer(program, { reduction: 'source-dpor' }).explore();
  while (performance.now() < until && steps.next().done !== true);
}

/** A worker's life: build the program, warm up, then explore what it is sent until it is stopped. */
export async function workerMain(data: WorkerData): Promise<void> {
  const endpoint = new Endpoint(data.self, data.states, data.mail, data.work, data.out, data.in);
  let program: Program;
  try {
    const m = (await import(data.source.module)) as Record<string, unknown>;
    const build = m[data.source.name];
    if (typeof build !== 'function') throw new Error(`worker: ${data.source.module} has no function ${data.source.name}`);
    program = (await (build as (args: unknown) => Program | Promise<Program>)(data.source.args)) as Program;
  } catch (e) {
    // The exploration goes on without this worker.
    Atomics.store(endpoint.states, data.self, FAILED);
    throw e;
  }
  warmUp(program, WARM_UP_MS);
  endpoint.setProgram(program);
  endpoint.serve(() => false);
}
