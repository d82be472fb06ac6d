/**
 * Running a study's points: on a pool of worker threads (tinypool, src/cli/pool.ts) by default,
 * or on a BullMQ queue (src/sweep/queue.ts). Each finished point is written to the store at once
 * (one transaction); with `resume`, the points already stored are skipped. Progress on stderr
 * (src/cli/progress.ts): points done, rate, ETA.
 */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { workerPool } from '../cli/pool.js';
import { progress } from '../cli/progress.js';
import type { PointOutcome } from './point.js';
import { Store, StoreError } from './store.js';
import type { PointTask, Study } from './study.js';

export function ptlabVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export interface SweepOptions {
  readonly store: string;
  readonly jobs: number;
  readonly resume: boolean;
  /** Stops the sweep: the points in flight are abandoned, the finished ones are in the store. */
  readonly signal?: AbortSignal;
  /** The study file's text (kept in the store). */
  readonly source: string;
}

export interface SweepSummary {
  readonly total: number;
  /** Points already in the store before this run (resume). */
  readonly skipped: number;
  /** Points this run stored. */
  readonly stored: number;
  readonly interrupted: boolean;
  /** The first failed point and why. */
  readonly failed: { readonly key: string; readonly message: string } | null;
}

/** The points still to run, after checking the store (without resume, a store holding points of the study is an error). */
export function pendingPoints(study: Study, store: Store, resume: boolean): PointTask[] {
  const have = store.keys(study.data.name);
  if (have.size > 0 && !resume) {
    throw new StoreError(`${store.path} already holds ${have.size} point(s) of study ${study.data.name}: --resume runs only the missing ones, or give another -o`);
  }
  return study.points.filter((p) => !have.has(p.key));
}

/** The store row of a finished point. */
export function storedPoint(p: PointTask, o: PointOutcome, worker: string): Parameters<Store['put']>[0] {
  return { study: p.study, index: p.index, key: p.key, axes: p.axes, kind: p.kind, scenario: o.scenario, input: JSON.stringify(p.scenario), result: o.result, ptlabVersion: ptlabVersion(), elapsedMs: o.elapsedMs, worker };
}

/** Run the study on a local pool of `jobs` workers. */
export async function sweepOnPool(study: Study, opts: SweepOptions): Promise<SweepSummary> {
  const store = new Store(opts.store);
  try {
    const todo = pendingPoints(study, store, opts.resume);
    store.putStudy(study.data.name, study.file, opts.source, study.points.length, ptlabVersion());
    const total = study.points.length;
    const skipped = total - todo.length;
    let stored = 0;
    let failed: SweepSummary['failed'] = null;
    const p = progress(`${study.data.name} on ${opts.jobs} worker${opts.jobs === 1 ? '' : 's'}`, { unit: 'points' });
    const update = (): void => p.update(skipped + stored, { share: () => (skipped + stored) / total, detail: `of ${total}` });
    if (todo.length === 0) return { total, skipped, stored, interrupted: false, failed };
    const pool = workerPool(new URL('./point-worker.js', import.meta.url), Math.min(opts.jobs, todo.length));
    const abort = new AbortController();
    // Every queued point listens to the signal (tinypool drops it when aborted).
    setMaxListeners(todo.length + 16, abort.signal);
    const stop = (): void => abort.abort();
    opts.signal?.addEventListener('abort', stop);
    const worker = `pool@${hostname()}`;
    try {
      await Promise.all(todo.map(async (task) => {
        if (abort.signal.aborted) return;
        let o: PointOutcome;
        try {
          o = (await pool.run(task, { signal: abort.signal })) as PointOutcome;
        } catch (e) {
          if (abort.signal.aborted) return;
          failed ??= { key: task.key, message: e instanceof Error ? e.message : String(e) };
          abort.abort();
          return;
        }
        store.put(storedPoint(task, o, worker));
        stored++;
        update();
      }));
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      p.done();
      await pool.destroy();
    }
    return { total, skipped, stored, interrupted: opts.signal?.aborted === true, failed };
  } finally {
    store.close();
  }
}
