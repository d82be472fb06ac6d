/**
 * One exploration split over worker threads (src/engines/check/workers.ts): the same results as
 * the exploration alone, with subtrees really explored by the workers. The hand-off itself is
 * tested on thousands of random programs without threads (subtree.test.ts); here the threads,
 * the messages and the nested waits are. The workers load the TypeScript sources through tsx.
 */
import { describe, expect, it } from 'vitest';
import { Explorer, type ExploreResult } from '../../../src/engines/check/dpor.js';
import { WorkerDelegation } from '../../../src/engines/check/workers.js';
import { incrementers } from '../../toys/models.js';

const MODELS = new URL('../../toys/models.ts', import.meta.url).href;

function observable(r: ExploreResult): unknown {
  const { replayed: _r, rerun: _rr, ...stats } = r.stats;
  return { stats, exhaustive: r.exhaustive, stopped: r.stopped, explored: r.explored, violations: [...r.violations].map(([id, c]) => [id, c.schedule]), deadlock: r.deadlock?.schedule ?? null };
}

describe('one exploration on worker threads', () => {
  it.each([2, 3])('5 incrementers on %i threads: the counts of the exploration alone, with subtrees explored by the workers', async (threads) => {
    const program = incrementers(5);
    const alone = new Explorer(program, { reduction: 'source-dpor' }).run();
    const workers = new WorkerDelegation(program, { module: MODELS, name: 'incrementers', args: 5 }, threads);
    try {
      await workers.ready();
      const split = new Explorer(program, { reduction: 'source-dpor', delegation: workers }).run();
      expect(observable(split)).toEqual(observable(alone));
      const work = workers.work();
      expect(work).toHaveLength(threads);
      // Every worker explored subtrees for another thread.
      for (const w of work.slice(1)) expect(w.executions).toBeGreaterThan(0);
    } finally {
      workers.close();
    }
  }, 60_000);

  it('a worker that cannot build the program is reported by ready()', async () => {
    const program = incrementers(2);
    const workers = new WorkerDelegation(program, { module: MODELS, name: 'noSuchModel', args: 2 }, 2);
    try {
      await expect(workers.ready()).rejects.toThrow('worker 1 could not build the program');
    } finally {
      workers.close();
    }
  }, 60_000);
});
