/**
 * `ptlab sweep STUDY.yaml` and `ptlab worker`: registered on the CLI's commander program by
 * registerSweepCommands() (one line in src/cli/main.ts).
 */
import type { Command } from 'commander';
import { renderTable } from '../report/table.js';
import { InvalidArgumentError } from 'commander';
import { defaultJobs } from '../cli/pool.js';
import { readBounded } from '../scenarios/loader.js';
import { measureText } from './measure.js';
import { loadStudy, MEASURES, type MeasureId, type Study } from './study.js';
import type { SweepSummary } from './run.js';

// The store (better-sqlite3, a native module) and the queue (BullMQ, ioredis) are loaded by the
// commands that use them, not by every ptlab command.
const storeModules = async () => ({ ...(await import('./record.js')), ...(await import('./store.js')), ...(await import('./run.js')) });
const queueModule = () => import('./queue.js');

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return Number(v);
}

function redisUrl(v: string): string {
  if (!/^rediss?:\/\/[^\s/]+(\/\d+)?$/.test(v)) throw new InvalidArgumentError(`expected redis://HOST:PORT (or redis://HOST:PORT/DB), got '${v}'`);
  return v;
}

/** The summary table of a study's measures, from the store. */
async function measuresTable(study: Study, storePath: string): Promise<string> {
  const { readRecords } = await storeModules();
  const ms = study.data.measure as MeasureId[];
  if (ms.length === 0) return '';
  const recs = readRecords(storePath).filter((r) => r.study === study.data.name);
  const head = ['point', ...ms];
  const rows = recs.map((r) => [r.key, ...ms.map((m) => measureText(m, r.kind, r.result))]);
  const legend = ms.map((m) => `${m}: ${MEASURES[m]}`).join('; ');
  const strategies = study.data.run === 'compare' ? ` (per strategy, mean over seeds: ${(recs[0]?.result as { strategies?: string[] } | undefined)?.strategies?.join(' / ') ?? ''})` : '';
  const table = renderTable([head, ...rows], { columns: head.map((_, i) => (i === 0 ? {} : { align: 'right' as const })) });
  return [...table, '', `${legend}${strategies}`].join('\n');
}

function summaryLine(study: Study, store: string, s: SweepSummary): string {
  const parts = [`${study.data.name}: ${s.skipped + s.stored} of ${s.total} points in ${store}`];
  if (s.skipped > 0) parts.push(`${s.skipped} were there already`);
  parts.push(`${s.stored} run now`);
  return parts.join(', ');
}

export function registerSweepCommands(program: Command, out: (s: string) => void, setCode: (c: number) => void): void {
  program
    .command('sweep')
    .description('run every point of a study (base scenario x axes) on a worker pool or a BullMQ queue, storing each result as it completes (docs/sweep.md)')
    .argument('<study>', 'study YAML file')
    .option('-o, --output <file>', 'the SQLite store (default: STUDY-NAME.sqlite)')
    .option('--jobs <n>', 'worker threads (default: one per core)', positiveInt)
    .option('--resume', 'run only the points missing from the store')
    .option('--queue <url>', 'put the points on a BullMQ queue at redis://HOST:PORT for `ptlab worker`s to take, and collect their results', redisUrl)
    .option('--queue-name <name>', 'the BullMQ queue', 'ptlab-sweep')
    .action(async (file: string, flags: { output?: string; jobs?: number; resume?: boolean; queue?: string; queueName: string }) => {
      const study = loadStudy(file);
      const store = flags.output ?? `${study.data.name}.sqlite`;
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      let s: SweepSummary;
      const { StoreError, sweepOnPool } = await storeModules();
      const q = flags.queue !== undefined ? await queueModule() : null;
      try {
        const common = { store, resume: flags.resume === true, signal: abort.signal, source: readBounded(file, 'study') };
        s = q && flags.queue !== undefined ? await q.sweepOnQueue(study, { ...common, url: flags.queue, queueName: flags.queueName }) : await sweepOnPool(study, { ...common, jobs: flags.jobs ?? defaultJobs() });
      } catch (e) {
        if (e instanceof StoreError || (q && e instanceof q.QueueError)) {
          process.stderr.write(`ptlab: ${(e as Error).message}\n`);
          setCode(2);
          return;
        }
        throw e;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
      process.stderr.write(`${summaryLine(study, store, s)}\n`);
      if (s.failed) {
        process.stderr.write(`ptlab: point ${s.failed.key} failed: ${s.failed.message}\nptlab: the finished points are in ${store}; --resume after fixing runs the rest\n`);
        setCode(2);
        return;
      }
      if (s.interrupted) {
        process.stderr.write(`ptlab: interrupted: the finished points are in ${store}; --resume runs the rest\n`);
        setCode(130);
        return;
      }
      const table = await measuresTable(study, store);
      if (table) out(table);
      setCode(0);
    });

  program
    .command('worker')
    .description('take points of sweeps from a BullMQ queue and run them (any number of workers, on any machine)')
    .requiredOption('--queue <url>', 'the queue\'s Redis: redis://HOST:PORT', redisUrl)
    .option('--queue-name <name>', 'the BullMQ queue', 'ptlab-sweep')
    .option('--jobs <n>', 'points run at once (default: one per core)', positiveInt)
    .option('--lock-duration <ms>', 'how long a point\'s lock lasts without renewal: a worker silent this long is taken for dead and its point re-run elsewhere', positiveInt, 30_000)
    .option('--max-points <n>', 'stop after running this many points (default: run until SIGINT/SIGTERM)', positiveInt)
    .action(async (flags: { queue: string; queueName: string; jobs?: number; lockDuration: number; maxPoints?: number }) => {
      const { QueueError, runQueueWorker } = await queueModule();
      try {
        const n = await runQueueWorker({ url: flags.queue, queueName: flags.queueName, jobs: flags.jobs ?? defaultJobs(), lockDuration: flags.lockDuration, ...(flags.maxPoints !== undefined ? { maxPoints: flags.maxPoints } : {}) });
        process.stderr.write(`ptlab worker: ${n} point(s) run\n`);
        setCode(0);
      } catch (e) {
        if (e instanceof QueueError) {
          process.stderr.write(`ptlab: ${e.message}\n`);
          setCode(2);
          return;
        }
        throw e;
      }
    });
}
