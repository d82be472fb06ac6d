/** The CLI end to end, through main() with captured output. */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from './capture.js';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UAF = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const SAFE = 'scenarios/check/munmap-vs-gup-fast/sync-rcu+arm64+batch-fails.yaml';

const stderr = captureStderr();


describe('ptlab check', () => {
  it('reports verdicts, the counterexample per CPU and a replay line; exit 0 when as expected', async () => {
    const { code, out } = await runCli('check', UAF, '--no-timing');
    expect(code).toBe(0);
    expect(out).toContain('no-walk-of-freed-table     violated  violated');
    expect(out).toMatch(/CPU0 munmap\s+CPU1 gup_fast\s+CPU2/);
    expect(out).toContain('<<< no-walk-of-freed-table');
    expect(out).toMatch(/replay: ptlab replay \S+ --schedule '[\d:* ]+'/);
  });

  it('stops at the answer by default once every checked invariant is violated; --shortest explores on', async () => {
    const ONE = 'scenarios/check/old-gather/mm-users-shortcut+exit-mmap.yaml';
    const early = await runCli('check', ONE, '--no-timing');
    expect(early.code).toBe(0);
    expect(early.out).toContain('source-set DPOR exploration, stopped at the answer: 1 executions');
    expect(early.out).toContain('shorter counterexamples may exist (--shortest');
    expect(early.out).toContain(': shortest counterexample found');
    const full = await runCli('check', ONE, '--no-timing', '--shortest');
    expect(full.out).toMatch(/exhaustive source-set DPOR exploration: [2-9]\d* executions/);
    expect(full.out).toContain(': shortest counterexample ---');
    const j = JSON.parse((await runCli('check', ONE, '--json')).out);
    expect([j.exhaustive, j.stopped]).toEqual([false, 'all-violated']);
    const jf = JSON.parse((await runCli('check', ONE, '--json', '--shortest')).out);
    expect([jf.exhaustive, jf.stopped]).toEqual([true, null]);
    // A scenario where an invariant holds is explored to the end either way: "holds" stays proven.
    const holds = JSON.parse((await runCli('check', UAF, '--json')).out);
    expect([holds.exhaustive, holds.stopped]).toEqual([true, null]);
  });

  it('the printed replay command re-executes the same trace', async () => {
    const { out } = await runCli('check', UAF, '--no-timing');
    const schedule = /--schedule '([^']+)'/.exec(out)?.[1] as string;
    const replay = await runCli('replay', UAF, '--schedule', schedule);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('no-walk-of-freed-table violated at step');
    const rows = (text: string) => text.split('\n').filter((l) => /^\s*\d+ /.test(l)).map((l) => l.replace(/\s+<<<.*$/, '').trimEnd());
    // The check prints the trace up to the violation; the replay prints it all.
    const cx = rows(out);
    expect(rows(replay.out).slice(0, cx.length)).toEqual(cx);
    // As check: exit 1 when the replayed execution violates an invariant the scenario says holds.
    const holds = join(mkdtempSync(join(tmpdir(), 'ptlab-')), 'holds.yaml');
    writeFileSync(holds, readFileSync(UAF, 'utf8').replace('no-walk-of-freed-table: violated', 'no-walk-of-freed-table: holds'));
    expect((await runCli('replay', holds, '--schedule', schedule)).code).toBe(1);
  });

  it('exits 1 and says MISMATCH when a verdict differs from the expectation', async () => {
    const { code, out } = await runCli('check', UAF, '--preset', 'sync-rcu', '--no-timing');
    expect(code).toBe(1);
    expect(out).toMatch(/no-walk-of-freed-table\s+violated\s+holds\s+MISMATCH/);
  });

  it('is byte-identical across runs without timing, as text and as JSON', async () => {
    expect((await runCli('check', UAF, '--no-timing')).out).toBe((await runCli('check', UAF, '--no-timing')).out);
    expect((await runCli('check', UAF, '--json')).out).toBe((await runCli('check', UAF, '--json')).out);
  });

  it('prints JSON results with the resolved configuration and the counterexample as data', async () => {
    const { code, out } = await runCli('check', UAF, '--json');
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r.schema).toBe('ptlab.check/2');
    expect(r.scenario.config.remove_table_one).toBe('none');
    expect(r.scenario.arch).toBe('arm64');
    expect(r.exhaustive).toBe(true);
    const v = r.verdicts.find((x: { id: string }) => x.id === 'no-walk-of-freed-table');
    expect(v.status).toBe('violated');
    expect(v.counterexample.violation.details.table).toBe('A.pte0');
    expect(v.counterexample.schedule).toMatch(/^[\d:* ]+$/);
    expect(v.counterexample.steps.length).toBeGreaterThan(10);
    expect(r.ok).toBe(true);
    expect(r.elapsed_ms).toBeUndefined();
  });

  it('runs the random and bounded modes deterministically', async () => {
    const a = await runCli('check', UAF, '--random', '50', '--seed', '3', '--no-timing');
    expect(a.out).toContain('random PCT exploration (seed 3, depth 3): 50 executions');
    expect(a.out).toBe((await runCli('check', UAF, '--random', '50', '--seed', '3', '--no-timing')).out);
    const b = await runCli('check', UAF, '--preemptions', '1', '--no-timing');
    expect(b.out).toContain('preemption-bounded exploration (at most 1 preemptions)');
    expect(b.code).toBe(0);
    const both = await runCli('check', UAF, '--preemptions', '1', '--random', '5');
    expect(both.code).toBe(2);
    expect(stderr.text).toContain('--preemptions and --random are different modes');
  });

  it('writes a Perfetto trace of the counterexample, and nothing when there is none (the verdicts still print)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptlab-'));
    const file = join(dir, 'uaf.json');
    expect((await runCli('check', UAF, '--perfetto', file)).code).toBe(0);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    expect(t.traceEvents.some((e: { ph: string; name: string }) => e.ph === 'i' && e.name === 'no-walk-of-freed-table')).toBe(true);
    const none = join(dir, 'none.json');
    const r = await runCli('check', SAFE, '--perfetto', none);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^no-walk-of-freed-table\s+holds\s+holds/m);
    expect(stderr.text).toContain(`has no counterexample to export (no invariant violated, no deadlock); ${none} not written`);
    expect(existsSync(none)).toBe(false);
    expect(readdirSync(dir)).toEqual(['uaf.json']);
  });

  it('--reduction names the exploration it ran (source-set DPOR by default); every reduction gives the same verdicts', async () => {
    const optimal = await runCli('check', UAF, '--no-timing', '--reduction', 'dpor');
    const source = await runCli('check', UAF, '--no-timing');
    expect(optimal.out).toMatch(/exhaustive optimal DPOR exploration: \d+ executions, \d+ distinct traces, 0 sleep-set blocked/);
    expect(source.out).toMatch(/exhaustive source-set DPOR exploration: \d+ executions, \d+ distinct traces/);
    const verdicts = (out: string): string[] => out.split('\n').filter((l) => /^no-|^deadlock/.test(l));
    expect(verdicts(source.out)).toEqual(verdicts(optimal.out));
    expect(verdicts(optimal.out).length).toBeGreaterThan(0);
  });

  it('--jobs: the same output on any number of threads; a note when the exploration cannot be shared', async () => {
    const one = await runCli('check', UAF, '--no-timing', '--jobs', '1');
    const two = await runCli('check', UAF, '--no-timing', '--jobs', '2');
    expect(two.out).toBe(one.out);
    expect(stderr.text).not.toContain('--jobs');
    const optimal = await runCli('check', UAF, '--no-timing', '--jobs', '2', '--reduction', 'dpor');
    expect(optimal.code).toBe(0);
    expect(stderr.text).toContain('ptlab: --jobs 2: only an exhaustive source-set DPOR exploration is shared among threads; this one runs on one');
  });

  it('--estimate sizes the exhaustive run from smaller runs with fewer identical CPUs, as text and ptlab.estimate/1', async () => {
    const SPIN_A = 'scenarios/check/spin/a+n2+w1.yaml';
    const { code, out } = await runCli('check', SPIN_A, '--estimate', '--no-timing');
    expect(code).toBe(0);
    expect(out.trimEnd().split('\n')).toEqual([
      'spin+a+n2+w1: CPUs 1-2 are identical (the same workload, mm and options)',
      'exhaustive runs (source-dpor) with fewer of them:',
      '  CPUs  executions',
      '     0           1',
      '     1          30',
      'growth: 30.0x per CPU (the last two runs)',
      'estimate with all 2: ~900 executions',
      '(every interleaving; a run that stops at the answer may explore fewer)',
    ]);
    expect((await runCli('check', SPIN_A, '--estimate')).out).toMatch(/~900 executions, ~\d+(\.\d)? s on one thread at the rate of the largest run/);
    const json = (await runCli('check', SPIN_A, '--estimate', '--json')).out;
    expect(JSON.parse(json)).toMatchObject({ schema: 'ptlab.estimate/1', identical: [1, 2], growth: 30, executions: 900, why: null });
    expect((await runCli('check', SPIN_A, '--estimate', '--json')).out).toBe(json);
    const bad = await runCli('check', SPIN_A, '--estimate', '--random', '5');
    expect([bad.code, bad.out]).toEqual([2, '']);
    expect(stderr.text).toContain('--estimate sizes an exhaustive check of scenario files without running it: not with --random');
  });

  it('--catalog checks a directory against its expectations and sums up', async () => {
    const { code, out } = await runCli('check', '--catalog', 'scenarios/check/reuse', '--no-timing');
    expect(code).toBe(0);
    expect(out).toContain('reuse/no-sync+arm64+reuse-by-other-mm.yaml');
    expect(out.trim().split('\n').pop()).toBe('2 passed, 0 failed');
  });

  it('--catalog --jobs 2 runs scenarios on worker threads and prints the same rows, in file order, as --jobs 1', async () => {
    const one = await runCli('check', '--catalog', 'scenarios/check/munmap-vs-gup-fast', '--no-timing', '--jobs', '1');
    const two = await runCli('check', '--catalog', 'scenarios/check/munmap-vs-gup-fast', '--no-timing', '--jobs', '2');
    expect(two.code).toBe(0);
    expect(two.out).toBe(one.out);
    expect(two.out.trim().split('\n').pop()).toBe('40 passed, 0 failed');
    const json1 = JSON.parse((await runCli('check', '--catalog', 'scenarios/check/reuse', '--json', '--jobs', '1')).out);
    const json2 = JSON.parse((await runCli('check', '--catalog', 'scenarios/check/reuse', '--json', '--jobs', '2')).out);
    const strip = (j: { results: Array<Record<string, unknown>> }): unknown => j.results.map(({ elapsedMs: _e, ...r }) => r);
    expect(strip(json2)).toEqual(strip(json1));
    expect(json2.results).toHaveLength(2);
  }, 60_000);
});

/** A scenario file with one CPU munmapping and `walkers` CPUs running GUP-fast, plus `idle` idle CPUs. */
function walkersScenario(walkers: number, idle = 0): string {
  const dir = mkdtempSync(join(tmpdir(), 'ptlab-'));
  const lines = [
    'name: walkers',
    'machine: { arch: x86 }',
    'config: { preset: broadcast-ipi, batch_alloc: fails }',
    'mm:',
    '  A:',
    '    vmas:',
    '      - { name: heap, start: 0, end: 1 }',
    'cpus:',
    '  - { mm: A, run: [ { munmap: heap } ] }',
    ...Array.from({ length: walkers }, () => '  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }'),
    ...Array.from({ length: idle }, () => '  - { mm: null }'),
    'check:',
    '  invariants: [no-walk-of-freed-table]',
  ];
  const file = join(dir, 'walkers.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('limits: a message, exit 2, no output; a flag moves each', () => {
  it('CPUs: a machine past --max-cpus is refused at its cpus list, with file:line:col', async () => {
    const file = walkersScenario(1, 12);
    const { code, out } = await runCli('check', file);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(stderr.text).toContain(`${file}:9:3: error: cpus: 14 CPUs is past the limit of 12 for check (the checker explores every interleaving, exponential in the CPUs; use --random N, --estimate to see how big the check would be, or --max-cpus N to raise it)`);
    stderr.text = '';
    expect((await runCli('check', file, '--max-cpus', '14', '--random', '2')).code).toBe(0);
    const est = await runCli('check', file, '--estimate', '--no-timing');
    expect(est.code).toBe(0);
    expect(est.out).toMatch(/^walkers: CPUs 2-13 are identical/);
    expect(stderr.text).toBe('');
    const sim = await runCli('sim', file, '--max-cpus', '4', '--duration', '1ms');
    expect(sim.code).toBe(2);
    expect(stderr.text).toContain('14 CPUs is past the limit of 4 for sim (use --max-cpus N to raise it)');
  });

  it('steps per execution: --max-steps below an execution\'s length', async () => {
    const { code, out } = await runCli('check', walkersScenario(1), '--max-steps', '20');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(stderr.text).toBe('ptlab: an execution exceeded 20 steps (a loop in the model or the workload?); raise the limit with --max-steps N (or check.max_steps in the scenario)\n');
  });

  it('memory: --max-memory below what the process holds stops the run', async () => {
    const file = walkersScenario(2);
    const { code, out } = await runCli('check', file, '--max-memory', '1');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(stderr.text).toMatch(new RegExp(`^ptlab: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: stopped at \\d+ MB of memory, past the limit of 1 MB \\(--max-memory MB to raise it\\)\n$`));
  });
});

describe('--first', () => {
  it('stops at the first counterexample of any invariant; the others are not proven', async () => {
    const first = await runCli('check', UAF, '--first', '--no-timing', '--json');
    expect(first.code).toBe(0);
    const j = JSON.parse(first.out);
    expect(j.stopped).toBe('first-violation');
    expect(j.verdicts.find((v: { id: string }) => v.id === 'no-walk-of-freed-table').status).toBe('violated');
    expect(j.verdicts.filter((v: { status: string }) => v.status === 'holds')).toEqual([]);
    const all = JSON.parse((await runCli('check', UAF, '--json')).out);
    expect(j.stats.executions).toBeLessThanOrEqual(all.stats.executions);
    const text = await runCli('check', UAF, '--first', '--no-timing');
    expect(text.out).toMatch(/^source-set DPOR exploration, stopped at the first counterexample: \d+ executions/m);
    expect(text.out).toMatch(/^stopped at the first counterexample .*an invariant without one is not proven/m);
    expect((await runCli('check', UAF, '--first', '--shortest')).code).toBe(2);
  });
});

describe('Ctrl-C', () => {
  it('stops the run after its current execution, prints what it found marked as interrupted, and exits 130', async () => {
    const file = walkersScenario(3);
    const timer = setTimeout(() => process.emit('SIGINT'), 300);
    const { code, out } = await runCli('check', file, '--no-timing');
    clearTimeout(timer);
    expect(code).toBe(130);
    expect(out).toMatch(/^INTERRUPTED source-set DPOR exploration: (\d+) executions/m);
    expect(Number(/: (\d+) executions/.exec(out)?.[1])).toBeLessThan(5832);
    expect(out).toMatch(/^interrupted \(about \d+% of the space by the estimate\): the verdicts are partial/m);
    expect(out).toMatch(/^no-walk-of-freed-table\s+-\s+no violation found/m);
    expect(stderr.text).toContain('ptlab: interrupted: the results above are partial');
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('stops a random run too, and says so in JSON', async () => {
    const file = walkersScenario(3);
    const timer = setTimeout(() => process.emit('SIGINT'), 300);
    const { code, out } = await runCli('check', file, '--random', '1000000', '--json');
    clearTimeout(timer);
    expect(code).toBe(130);
    const j = JSON.parse(out);
    expect(j.stopped).toBe('interrupted');
    expect(j.stats.executions).toBeLessThan(1_000_000);
  });
});

describe('bad input: exit 2 and a precise message, no output', () => {
  it('check A B with B missing: nothing runs, nothing prints', async () => {
    expect(await runCli('check', UAF, 'nope.yaml')).toEqual({ code: 2, out: '' });
    expect(stderr.text).toBe('nope.yaml: error: cannot read scenario (ENOENT)\n');
  });

  const SIM = 'scenarios/sim/x86-default-collapse-unshare.yaml';
  const yamlFile = (text: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'ptlab-')), 'bad.yaml');
    writeFileSync(file, text);
    return file;
  };

  it('a catalog directory that does not exist, or is a file', async () => {
    expect(await runCli('check', '--catalog', '/no/such/dir')).toEqual({ code: 2, out: '' });
    expect(stderr.text).toBe('ptlab: /no/such/dir: cannot read the scenario directory (ENOENT)\n');
    stderr.text = '';
    expect((await runCli('check', '--catalog', UAF)).code).toBe(2);
    expect(stderr.text).toBe(`ptlab: ${UAF}: cannot read the scenario directory (ENOTDIR)\n`);
  });

  it('a YAML alias to no anchor, and an alias bomb, are scenario errors at the alias', async () => {
    const undef = yamlFile('name: *x\n');
    expect(await runCli('check', undef)).toEqual({ code: 2, out: '' });
    expect(stderr.text).toMatch(new RegExp(`^${undef}:1:7: error: YAML: .*x`));
    stderr.text = '';
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const bomb = yamlFile(`${levels.join('\n')}\nname: t\n`);
    expect(await runCli('check', bomb)).toEqual({ code: 2, out: '' });
    expect(stderr.text).toMatch(new RegExp(`^${bomb}:\\d+:\\d+: error: YAML: .*alias`, 'i'));
  });

  it('seeds: empty, not a number, or past 32 bits', async () => {
    for (const seed of ['', '1e3', '4294967296']) {
      stderr.text = '';
      expect((await runCli('sim', SIM, '--duration', '1ms', '--seed', seed)).code).toBe(2);
      expect(stderr.text).toMatch(seed === '4294967296' ? /expected a seed below 2\^32/ : /expected a non-negative integer/);
    }
    stderr.text = '';
    expect((await runCli('compare', SIM, '--seeds', '1,4294967296')).code).toBe(2);
    expect(stderr.text).toContain('seed 4294967296 is not below 2^32');
  });

  it('inputs too large to run: a device that never ends, a schedule of 10^8 steps, a VMA of 2^32 pages, 10^23 s', async () => {
    expect(await runCli('check', '/dev/zero')).toEqual({ code: 2, out: '' });
    expect(stderr.text).toBe('/dev/zero: error: scenario file larger than 1048576 bytes\n');
    stderr.text = '';
    expect(await runCli('replay', UAF, '--schedule', '0*100000000')).toEqual({ code: 2, out: '' });
    expect(stderr.text).toBe("ptlab: schedule token 1 '0*100000000': the schedule would exceed 1,000,000 steps\n");
    stderr.text = '';
    const huge = yamlFile('name: t\nmachine: { arch: x86 }\nmm:\n  A:\n    vmas:\n      - { name: heap, start: 0, end: 4294967296 }\ncpus:\n  - { mm: A, run: [ { munmap: heap } ] }\n');
    expect(await runCli('check', huge)).toEqual({ code: 2, out: '' });
    expect(stderr.text).toBe(`${huge}:6:38: error: mm.A.vmas[0].end: Too big: expected number to be <=65536\n`);
    stderr.text = '';
    expect((await runCli('sim', SIM, '--duration', '1e23s')).code).toBe(2);
    expect(stderr.text).toContain("at most 3600s, got '1e23s'");
  });

  it('a cost parameter named like an Object.prototype member', async () => {
    expect(await runCli('sim', SIM, '--duration', '1ms', '--cost', 'toString=5')).toEqual({ code: 2, out: '' });
    expect(stderr.text).toContain("has no parameter 'toString'");
  });

  it('a missing scenario file', async () => {
    const { code, out } = await runCli('check', 'nope.yaml');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(stderr.text).toBe('nope.yaml: error: cannot read scenario (ENOENT)\n');
  });

  it('an unknown knob or a bad value on the command line', async () => {
    expect((await runCli('check', UAF, '--set', 'batch_alloc=sometimes')).code).toBe(2);
    expect(stderr.text).toContain('--set: error: batch_alloc=sometimes: batch_alloc takes one of succeeds, fails, may-fail');
    expect((await runCli('check', UAF, '--reduction', 'magic')).code).toBe(2);
    expect(stderr.text).toContain("argument 'magic' is invalid");
  });

  it('a schedule that does not fit the scenario', async () => {
    const { code } = await runCli('replay', UAF, '--schedule', '1 1 9');
    expect(code).toBe(2);
    expect(stderr.text).toMatch(/replay step 2: thread 9 does not exist yet; enabled: 0 \(munmap: /);
    expect((await runCli('replay', UAF, '--schedule', '1 x')).code).toBe(2);
    expect(stderr.text).toContain("schedule token 2 'x': expected THREAD");
  });
});

describe('ptlab list and help', () => {
  it('lists strategies, invariants and knobs', async () => {
    expect((await runCli('list', 'strategies')).out).toContain('skip-redundant-ipi');
    expect((await runCli('list', 'invariants')).out).toContain('no-stale-walk-cache');
    expect((await runCli('list', 'knobs')).out).toMatch(/remove_table_one\s+sync_one \| synchronize_rcu \| sync_rcu \| none/);
    expect((await runCli('list', 'colours')).code).toBe(2);
  });

  it('lists each knob with its description and each value with its provenance, the default marked', async () => {
    const out = (await runCli('list', 'knobs')).out;
    expect(out).toContain("When tlb_flush_mmu() frees the data pages zap_pte_range() queued");
    expect(out).toMatch(/\* after_flush\s+mainline\s+tlb_flush_mmu_tlbonly\(\) then tlb_flush_mmu_free\(\)/);
    expect(out).toMatch(/ {4}before_flush\s+counterfactual/);
    expect(out).toMatch(/\* sync_rcu\s+mainline\s+tlb_remove_table_sync_rcu\(\) \(1fb3d8c20bfa/);
    expect(out).toMatch(/ {4}true\s+posted\s+v8 1\/2/);
  });

  it('list --json gives knobs with provenance and presets with their kernel', async () => {
    const knobs = JSON.parse((await runCli('list', 'knobs', '--json')).out) as { knob: string; default: unknown; values: { value: string; kind: string; merged: boolean }[] }[];
    const free = knobs.find((k) => k.knob === 'tlb_free_pages');
    expect(free?.default).toBe('after_flush');
    expect(free?.values).toEqual([
      expect.objectContaining({ value: 'after_flush', kind: 'mainline', merged: true }),
      expect.objectContaining({ value: 'before_flush', kind: 'counterfactual', merged: false }),
    ]);
    const presets = JSON.parse((await runCli('list', 'strategies', '--json')).out) as { id: string; kernel: string }[];
    expect(presets.find((p) => p.id === 'sync-rcu')?.kernel).toMatch(/^merged: 1fb3d8c20bfa/);
    expect(presets.find((p) => p.id === 'skip-redundant-ipi')?.kernel).toMatch(/^posted: /);
    expect((await runCli('list', 'strategies')).out).toMatch(/sync-rcu-v1 .*\n\s+kernel: posted: Lance Yang/);
    expect((await runCli('list', 'invariants', '--json')).code).toBe(2);
  });

  it('prints help with the commands', async () => {
    const { code, out } = await runCli('--help');
    expect(code).toBe(0);
    for (const c of ['check', 'replay', 'list']) expect(out).toContain(c);
  });
});

describe('ptlab sim and compare', () => {
  const SIM = 'scenarios/sim/munmap-under-pressure.yaml';

  it('sim prints the /proc/interrupts table, cyclictest lines and latencies', async () => {
    // 6 ms: sync-rcu's first munmap may hold the mmap_lock through a 4 ms grace period, and the
    // others queue behind it (FIFO rwsem, issue #12).
    const { code, out } = await runCli('sim', SIM, '--duration', '6ms', '--no-timing');
    expect(code).toBe(0);
    expect(out).toMatch(/^ CAL:\s+\d+/m);
    expect(out).toMatch(/^ TLB:\s+\d+/m);
    expect(out).toMatch(/^T: 0 \(CPU\d+\) P:99 I:\d+ C:\s+\d+ Min:\s+\d+ Act:\s+\d+ Avg:\s+\d+ Max:\s+\d+$/m);
    expect(out).toMatch(/^munmap\s+\d+/m);
    expect(out).toContain('6.000 ms simulated');
    expect((await runCli('sim', SIM, '--duration', '6ms', '--no-timing')).out).toBe(out);
  });

  it('sim --json gives the measurements and the resolved configuration', async () => {
    const { out } = await runCli('sim', SIM, '--duration', '1ms', '--json', '--cost', 'ipi.delivery=900');
    const r = JSON.parse(out);
    expect(r.schema).toBe('ptlab.sim/1');
    expect(r.sim.params['ipi.delivery']).toBe(900);
    expect(r.sim.chance.allocFailRate).toBe(0.2);
    expect(r.time_ns).toBe(1_000_000);
    expect(r.metrics.interrupts).toHaveLength(16);
  });

  it('compare puts strategies side by side', async () => {
    const { code, out } = await runCli('compare', SIM, '--duration', '2ms', '--strategies', 'broadcast-ipi,sync-rcu');
    expect(code).toBe(0);
    expect(out).toMatch(/^\s+broadcast-ipi\s+sync-rcu$/m);
    expect(out).toMatch(/^IPIs on idle CPUs \(9\)\s+\d+\s+0$/m);
  });

  it('compare runs fixed work by default, and replicates over seeds with --seeds', async () => {
    const { code, out } = await runCli('compare', SIM, '--work', '4', '--seeds', '1..3', '--strategies', 'broadcast-ipi,skip-redundant-ipi');
    expect(code).toBe(0);
    expect(out).toContain('fixed work: 4 rounds of each workload CPU\'s run list, 3 seeds (1, 2, 3)');
    expect(out).toMatch(/^munmap count\s+16 ±0\s+16 ±0 ≈$/m);
    expect(out).toContain("mean ±95% confidence interval over 3 seeds (Student's t)");
    const j = JSON.parse((await runCli('compare', SIM, '--work', '2', '--seeds', '1,2', '--strategies', 'broadcast-ipi,sync-rcu', '--json')).out);
    expect(j.schema).toBe('ptlab.compare/2');
    expect(j.mode).toEqual({ work: 2, time_limit_ns: 10_000_000_000 });
    expect(j.runs.map((r: { strategy: string; seed: number }) => `${r.strategy}/${r.seed}`)).toEqual(['broadcast-ipi/1', 'broadcast-ipi/2', 'sync-rcu/1', 'sync-rcu/2']);
    const munmaps = j.rows.find((r: { label: string }) => r.label === 'munmap count');
    expect(munmaps.cells['sync-rcu']).toMatchObject({ values: [8, 8], mean: 8, ci95: 0, differs_from_first: false });
    expect((await runCli('compare', SIM, '--seeds', '2..1')).code).toBe(2);
    expect(stderr.text).toContain("seed range '2..1' runs backwards");
  });

  it('writes a Perfetto trace of a window of the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptlab-'));
    const file = join(dir, 'sim.json');
    expect((await runCli('sim', SIM, '--duration', '1ms', '--perfetto', file, '--window', '200us', '--no-timing')).code).toBe(0);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    const slices = t.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    expect(slices.length).toBeGreaterThan(10);
    expect(Math.max(...slices.map((e: { ts: number }) => e.ts))).toBeLessThan(200);
  });

  it('rejects bad simulation options with exit 2', async () => {
    expect((await runCli('sim', SIM, '--profile', 'cray')).code).toBe(2);
    expect(stderr.text).toContain("unknown machine profile 'cray'");
    expect((await runCli('sim', SIM, '--duration', 'soon')).code).toBe(2);
    expect((await runCli('check', SIM)).code).toBe(2);
    expect(stderr.text).toContain('repeat: forever runs until the simulation stops');
  });
});
