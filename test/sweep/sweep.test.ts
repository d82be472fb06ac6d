/**
 * `ptlab sweep` on the worker pool: every point's result is the document `ptlab sim|check --json`
 * prints, byte for byte, whatever the number of workers; --resume runs only the missing points;
 * a store is not overwritten by accident.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readRecords } from '../../src/sweep/record.js';

const dir = mkdtempSync(join(tmpdir(), 'ptlab-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SIM_STUDY = join(dir, 'sim.study.yaml');
writeFileSync(SIM_STUDY, `name: sim-t
base: ${join(process.cwd(), 'studies/munmap-cost.yaml')}
axes:
  strategy: [broadcast-ipi, sync-rcu]
  seed: [1, 2]
sim: { duration: 300us }
measure: [ipis-received, grace-periods]
`);
const CHECK_STUDY = join(dir, 'check.study.yaml');
writeFileSync(CHECK_STUDY, `name: check-t
base: [check/pt-reclaim/immediate-free+x86+rcu-walker, check/pt-reclaim/pt-reclaim+x86+rcu-walker]
run: check
measure: [executions, ok]
`);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    const code = await main(argv, (s) => (out += `${s}\n`));
    return { code, out, err };
  } finally {
    spy.mockRestore();
  }
}

/** key -> result JSON text, as stored. */
function results(path: string): Map<string, string> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map((db.prepare('SELECT key, result FROM points').all() as Array<{ key: string; result: string }>).map((r) => [r.key, r.result]));
  } finally {
    db.close();
  }
}

describe('ptlab sweep on the pool', () => {
  it('stores every point; 1 and 2 workers give byte-identical results, equal to ptlab sim --json', async () => {
    const one = join(dir, 'one.sqlite');
    const two = join(dir, 'two.sqlite');
    const a = await run('sweep', SIM_STUDY, '-o', one, '--jobs', '1');
    expect(a.code, a.err).toBe(0);
    const b = await run('sweep', SIM_STUDY, '-o', two, '--jobs', '2');
    expect(b.code, b.err).toBe(0);
    const ra = results(one);
    const rb = results(two);
    expect([...ra.keys()].sort()).toEqual(['strategy=broadcast-ipi,seed=1', 'strategy=broadcast-ipi,seed=2', 'strategy=sync-rcu,seed=1', 'strategy=sync-rcu,seed=2']);
    for (const [k, v] of ra) expect(rb.get(k), k).toBe(v);

    const cli = await run('sim', 'studies/munmap-cost.yaml', '--json', '--preset', 'sync-rcu', '--seed', '2', '--duration', '300us');
    expect(cli.code).toBe(0);
    expect(JSON.parse(ra.get('strategy=sync-rcu,seed=2') as string)).toEqual(JSON.parse(cli.out));
    expect(ra.get('strategy=sync-rcu,seed=2')).toBe(JSON.stringify(JSON.parse(cli.out)));

    const recs = readRecords(one);
    expect(recs.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(recs[3]).toMatchObject({ study: 'sim-t', key: 'strategy=sync-rcu,seed=2', axes: { strategy: 'sync-rcu', seed: 2 }, kind: 'sim', ptlabVersion: '0.1.0' });
    expect((recs[3]!.scenario as { preset: string; cpus: number }).preset).toBe('sync-rcu');
    expect((recs[3]!.result as { schema: string }).schema).toBe('ptlab.sim/1');
    // The measures table: one row per point.
    expect(a.out.split('\n')[0]).toMatch(/^point\s+ipis-received\s+grace-periods$/);
    expect(a.out.split('\n').filter((l) => l.startsWith('strategy='))).toHaveLength(4);
  });

  it('refuses to add to a store holding the study without --resume; --resume runs only the missing points', async () => {
    const path = join(dir, 'resume.sqlite');
    expect((await run('sweep', SIM_STUDY, '-o', path, '--jobs', '2')).code).toBe(0);
    const full = results(path);
    const again = await run('sweep', SIM_STUDY, '-o', path);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`${path} already holds 4 point(s) of study sim-t: --resume runs only the missing ones`);
    // A partial store: two points lost (as after Ctrl-C).
    const db = new Database(path);
    db.prepare("DELETE FROM points WHERE key IN ('strategy=broadcast-ipi,seed=2', 'strategy=sync-rcu,seed=1')").run();
    db.close();
    const r = await run('sweep', SIM_STUDY, '-o', path, '--resume', '--jobs', '2');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('sim-t: 4 of 4 points in');
    expect(r.err).toContain('2 were there already, 2 run now');
    expect(results(path)).toEqual(full);
    const nothing = await run('sweep', SIM_STUDY, '-o', path, '--resume');
    expect(nothing.err).toContain('4 were there already, 0 run now');
  });

  it('runs check points as ptlab check --json does (a list of built-in scenarios as the scenario axis)', async () => {
    const path = join(dir, 'check.sqlite');
    const r = await run('sweep', CHECK_STUDY, '-o', path, '--jobs', '2');
    expect(r.code, r.err).toBe(0);
    const recs = readRecords(path);
    expect(recs.map((r) => r.key)).toEqual(['scenario=scenarios/check/pt-reclaim/immediate-free+x86+rcu-walker.yaml', 'scenario=scenarios/check/pt-reclaim/pt-reclaim+x86+rcu-walker.yaml']);
    const first = recs[0]!;
    const cli = await run('check', first.axes.scenario as string, '--json');
    expect(JSON.stringify(first.result)).toBe(JSON.stringify(JSON.parse(cli.out)));
    expect(r.out).toMatch(/^point\s+executions\s+ok$/m);
  });

  it('rejects a bad study with exit 2 and no store', async () => {
    const bad = join(dir, 'bad.study.yaml');
    writeFileSync(bad, 'name: b\nbase: studies/munmap-cost.yaml\naxes:\n  arch: [x86, risc-v]\n');
    const r = await run('sweep', bad, '-o', join(dir, 'bad.sqlite'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:4:15: error: axes.arch[1]: unknown arch 'risc-v'`);
  });

  it('loses no finished point when the sweep process is killed (SIGKILL), and --resume finishes it', async () => {
    const path = join(dir, 'killed.sqlite');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/sweep/cli-entry.ts', 'sweep', SIM_STUDY, '-o', path, '--jobs', '1'], { detached: true, stdio: 'ignore' });
    const stored = (): number => {
      if (!existsSync(path)) return 0;
      try {
        const db = new Database(path, { readonly: true });
        try {
          return (db.prepare('SELECT count(*) AS n FROM points').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0; // the store is being created
      }
    };
    try {
      const t0 = Date.now();
      while (stored() < 1) {
        if (Date.now() - t0 > 120_000) throw new Error('the sweep stored no point in 120 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      process.kill(-proc.pid!, 'SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(-proc.pid!, 'SIGKILL');
    }
    const kept = results(path);
    expect(kept.size).toBeGreaterThanOrEqual(1);
    expect(kept.size).toBeLessThan(4);
    const r = await run('sweep', SIM_STUDY, '-o', path, '--resume', '--jobs', '1');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`${kept.size} were there already, ${4 - kept.size} run now`);
    const all = results(path);
    for (const [k, v] of kept) expect(all.get(k)).toBe(v);
    const fresh = results(join(dir, 'one.sqlite'));
    expect(all).toEqual(fresh);
  }, 240_000);

  it('ptlab report reads the store as it reads JSONL: the same records, the same HTML', async () => {
    const store = join(dir, 'report.sqlite');
    expect((await run('sweep', SIM_STUDY, '-o', store, '--jobs', '1')).code).toBe(0);
    const jsonl = join(dir, 'report.jsonl');
    writeFileSync(jsonl, readRecords(store).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const fromStore = join(dir, 'store.html');
    const fromJsonl = join(dir, 'jsonl.html');
    expect((await run('report', store, '-o', fromStore)).code).toBe(0);
    expect((await run('report', jsonl, '-o', fromJsonl)).code).toBe(0);
    expect(readFileSync(fromStore, 'utf8')).toBe(readFileSync(fromJsonl, 'utf8'));
    expect(readFileSync(fromStore, 'utf8')).toContain('sim-t');
  }, 120_000);
});
