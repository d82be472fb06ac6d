/**
 * Distributed sweeps on a BullMQ queue (Redis). `ptlab sweep --queue URL` puts the study's
 * missing points on the queue (one job per point, its id derived from the study and the point's
 * key, so a point is queued once however often the sweep is restarted), then collects completed
 * jobs' return values into its store, once per key, and removes them. `ptlab worker --queue URL`
 * takes jobs and runs each on its own pool of worker threads, so that its event loop keeps
 * renewing the job's lock while the point runs: a worker that dies (SIGKILL, a lost machine)
 * stops renewing, and after `lockDuration` BullMQ's stalled-job check puts the point back on the
 * queue for another worker. A point that throws is retried with exponential backoff.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { workerPool } from '../cli/pool.js';
import { progress } from '../cli/progress.js';
import type { PointOutcome } from './point.js';
import { pendingPoints, ptlabVersion, storedPoint, type SweepOptions, type SweepSummary } from './run.js';
import { Store } from './store.js';
import type { PointTask, Study } from './study.js';

export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

/** Attempts a point gets (the first run and its retries), and the first retry's delay in ms (then doubling). */
export const ATTEMPTS = 3;
export const BACKOFF_MS = 1000;
/** How often the sweep looks for completed jobs. */
const POLL_MS = 200;

type WorkerOutcome = PointOutcome & { readonly worker: string };

/** ioredis options from redis://[user:password@]HOST:PORT[/DB]. */
export function connectionOf(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The job id of a point: the same for the same study and key on every run. */
export function jobId(study: string, key: string): string {
  return `${study}-${createHash('sha256').update(`${study}\0${key}`).digest('hex').slice(0, 24)}`;
}

/** Wait until the client reaches Redis, or fail with a message after `ms`. */
async function reach(client: { waitUntilReady(): Promise<unknown> }, url: string, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueError(`cannot reach Redis at ${url} (waited ${ms / 1000} s)`)), ms);
  });
  try {
    await Promise.race([client.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface QueueSweepOptions extends Omit<SweepOptions, 'jobs'> {
  readonly url: string;
  readonly queueName: string;
}

/** Queue the study's missing points and collect their results into the store until all are there. */
export async function sweepOnQueue(study: Study, opts: QueueSweepOptions): Promise<SweepSummary> {
  const store = new Store(opts.store);
  const queue = new Queue(opts.queueName, { connection: connectionOf(opts.url) });
  let lastError: Error | null = null;
  queue.on('error', (e) => (lastError = e));
  try {
    const todo = pendingPoints(study, store, opts.resume);
    store.putStudy(study.data.name, study.file, opts.source, study.points.length, ptlabVersion());
    const total = study.points.length;
    const skipped = total - todo.length;
    if (todo.length === 0) return { total, skipped, stored: 0, interrupted: false, failed: null };
    try {
      await reach(queue, opts.url);
    } catch (e) {
      throw lastError && e instanceof QueueError ? new QueueError(`${e.message}: ${(lastError as Error).message}`) : e;
    }
    const byId = new Map<string, PointTask>(todo.map((p) => [jobId(p.study, p.key), p]));
    await queue.addBulk(todo.map((p) => ({ name: p.key, data: p, opts: { jobId: jobId(p.study, p.key), attempts: ATTEMPTS, backoff: { type: 'exponential', delay: BACKOFF_MS }, removeOnComplete: false, removeOnFail: false } })));
    const p = progress(`${study.data.name} on queue ${opts.queueName}`, { unit: 'points' });
    let stored = 0;
    let failed: SweepSummary['failed'] = null;
    try {
      while (byId.size > 0 && !opts.signal?.aborted && !failed) {
        const done = (await queue.getJobs(['completed'], 0, 999, true)) as Array<Job<PointTask, WorkerOutcome>>;
        for (const job of done) {
          const task = job.id !== undefined ? byId.get(job.id) : undefined;
          if (!task) continue;
          const o = job.returnvalue;
          store.put(storedPoint(task, o, o.worker));
          byId.delete(job.id as string);
          stored++;
          await job.remove();
        }
        for (const job of (await queue.getJobs(['failed'], 0, 999, true)) as Array<Job<PointTask, WorkerOutcome>>) {
          const task = job.id !== undefined ? byId.get(job.id) : undefined;
          if (task) failed = { key: task.key, message: `after ${job.attemptsMade} attempt(s): ${job.failedReason}` };
        }
        p.update(skipped + stored, { share: () => (skipped + stored) / total, detail: `of ${total}` });
        if (byId.size > 0 && !failed) await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      p.done();
    }
    return { total, skipped, stored, interrupted: opts.signal?.aborted === true && byId.size > 0, failed };
  } finally {
    await queue.close();
    store.close();
  }
}

export interface QueueWorkerOptions {
  readonly url: string;
  readonly queueName: string;
  readonly jobs: number;
  readonly lockDuration: number;
  readonly maxPoints?: number;
}

/** Take points from the queue and run them until SIGINT/SIGTERM (or maxPoints); returns the points run. */
export async function runQueueWorker(opts: QueueWorkerOptions): Promise<number> {
  const pool = workerPool(new URL('./point-worker.js', import.meta.url), opts.jobs);
  const me = `${hostname()}:${process.pid}`;
  let count = 0;
  let lastError: Error | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker<PointTask, WorkerOutcome>(
    opts.queueName,
    async (job) => {
      process.stderr.write(`ptlab worker ${me}: point ${job.data.study} ${job.data.key} (attempt ${job.attemptsMade + 1})\n`);
      const o = (await pool.run(job.data)) as PointOutcome;
      return { ...o, worker: me };
    },
    { connection: connectionOf(opts.url), concurrency: opts.jobs, lockDuration: opts.lockDuration, stalledInterval: opts.lockDuration, maxStalledCount: 5, autorun: false },
  );
  worker.on('error', (e) => (lastError = e));
  worker.on('completed', () => {
    count++;
    if (opts.maxPoints !== undefined && count >= opts.maxPoints) finish();
  });
  const onSignal = (): void => finish();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    try {
      await reach(worker, opts.url);
    } catch (e) {
      throw lastError && e instanceof QueueError ? new QueueError(`${e.message}: ${(lastError as Error).message}`) : e;
    }
    process.stderr.write(`ptlab worker ${me}: taking points from ${opts.queueName} at ${opts.url}, ${opts.jobs} at a time\n`);
    void worker.run();
    await finished;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await worker.close();
    await pool.destroy();
  }
  return count;
}
