/**
 * `ptlab sweep --queue` with `ptlab worker`s on a real Redis (Debian's redis-server, started here
 * on 127.0.0.1 on a free port, nothing saved): two worker processes take the points; one is
 * killed with SIGKILL in the middle of a point; its point is re-run by the other after the lock
 * expires, and every point is in the store exactly once.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runPoint } from '../../src/sweep/point.js';
import { loadStudy } from '../../src/sweep/study.js';

const dir = mkdtempSync(join(tmpdir(), 'ptlab-queue-'));
const children: ChildProcess[] = [];
let redis: ChildProcess | null = null;
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error('redis-server is not installed: the distributed sweep test needs it (apt-get install redis-server; .ci/run installs it)');
  port = await freePort();
  let log = '';
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  await until(`redis-server on port ${port} (${log})`, () => /Ready to accept connections/.test(log), 15_000);
});

/** Signal a child's process group, unless it is gone already. */
function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.exitCode !== null || c.signalCode !== null || !c.pid) return;
  try {
    process.kill(-c.pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

afterAll(() => {
  for (const c of children) killGroup(c, 'SIGKILL');
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A `ptlab worker` process, leader of its own process group (so that SIGKILL takes its pool's processes too). */
function worker(name: string): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/sweep/cli-entry.ts', 'worker', '--queue', `redis://127.0.0.1:${port}`, '--queue-name', 'q-test', '--jobs', '1', '--lock-duration', '2000'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  children.push(proc);
  void name;
  return { proc, log: () => log };
}

describe('ptlab sweep --queue with ptlab worker', () => {
  it('completes every point exactly once in the store when a worker is killed mid-point', async () => {
    const study = join(dir, 'q.study.yaml');
    writeFileSync(study, `name: q-t
base: ${join(process.cwd(), 'studies/munmap-cost.yaml')}
axes:
  strategy: [broadcast-ipi, sync-rcu, pt-reclaim]
  seed: [1, 2]
sim: { duration: 3ms }
`);
    const store = join(dir, 'q.sqlite');
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    let code: number;
    const a = worker('a');
    let b: ReturnType<typeof worker> | null = null;
    try {
      const sweep = main(['sweep', study, '-o', store, '--queue', `redis://127.0.0.1:${port}`, '--queue-name', 'q-test'], () => {});
      // Worker A takes the first point; kill it (and its pool) while the point runs.
      await until('worker A to start a point', () => /: point q-t /.test(a.log()), 60_000);
      const killed = /: point q-t (\S+) /.exec(a.log())![1] as string;
      process.kill(-a.proc.pid!, 'SIGKILL');
      b = worker('b');
      code = await sweep;
      expect(code, err).toBe(0);
      // B ran the killed point again (after A's lock expired).
      expect(b.log()).toContain(`: point q-t ${killed} `);
      const db = new Database(store, { readonly: true });
      const rows = db.prepare('SELECT key, worker, result FROM points WHERE study = ?').all('q-t') as Array<{ key: string; worker: string; result: string }>;
      db.close();
      expect(rows.map((r) => r.key).sort()).toEqual(loadStudy(study).points.map((p) => p.key).sort());
      expect(new Set(rows.map((r) => r.key)).size).toBe(6);
      const again = rows.find((r) => r.key === killed)!;
      expect(again.worker).toBe(`${(await import('node:os')).hostname()}:${b.proc.pid}`);
      // The re-run point's result is the one a direct run gives.
      const task = loadStudy(study).points.find((p) => p.key === killed)!;
      expect(again.result).toBe(runPoint(task).result);
    } finally {
      spy.mockRestore();
      for (const w of [a, b]) if (w) killGroup(w.proc, 'SIGTERM');
    }
  }, 180_000);
});
