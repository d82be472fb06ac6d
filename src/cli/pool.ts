/**
 * A pool of worker threads (tinypool) for work that splits into independent tasks, such as the
 * scenarios of `check --catalog`: worker threads running the compiled JavaScript, or, under the
 * TypeScript sources (tests, tsx), child processes that load them through tsx.
 */
import { availableParallelism } from 'node:os';
import Tinypool from 'tinypool';

/** Workers by default: one per core. */
export function defaultJobs(): number {
  return availableParallelism();
}

/**
 * A pool running the default export of the module `worker` (a URL next to the caller, e.g.
 * `new URL('./catalog-worker.js', import.meta.url)`), on `threads` workers.
 */
export function workerPool(worker: URL, threads: number): Tinypool {
  const fromSources = import.meta.url.endsWith('.ts');
  const filename = fromSources ? worker.href.replace(/\.js$/, '.ts') : worker.href;
  // Worker threads do not take loader flags: under the sources, workers are child processes with tsx.
  if (fromSources) return new Tinypool({ filename, minThreads: threads, maxThreads: threads, runtime: 'child_process', execArgv: ['--import', 'tsx'] });
  return new Tinypool({ filename, minThreads: threads, maxThreads: threads });
}
