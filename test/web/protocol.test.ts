/**
 * The worker's code path (handleRequest, what src/web/worker.ts runs in the browser) against the
 * CLI: the same executions, traces and verdicts, byte for byte, and the same errors.
 */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from '../cli/capture.js';
import { readFileSync } from 'node:fs';
import { handleRequest, type WorkerReply, type WorkerRequest } from '../../src/web/protocol.js';
import type { ExploreReplay } from '../../src/api/explore.js';

const VIOLATED = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const HOLDS = 'scenarios/check/munmap-vs-gup-fast/broadcast-ipi+x86+batch-fails.yaml';
const LAZY = 'scenarios/check/lazy-tlb/x86-freed-tables-skips-lazy.yaml';
const DEADLOCK = 'scenarios/check/context/sync-ipi-with-irqs-off.yaml';

const stderr = captureStderr();


async function ask(req: WorkerRequest): Promise<WorkerReply[]> {
  const replies: WorkerReply[] = [];
  await handleRequest(req, (m) => replies.push(m));
  return replies;
}

const yaml = (f: string): string => readFileSync(f, 'utf8');

describe('the worker against the CLI', () => {
  for (const [file, extra] of [[VIOLATED, []], [HOLDS, []], [LAZY, []], [DEADLOCK, []], [VIOLATED, ['--first']], [LAZY, ['--preset', 'broadcast-ipi']]] as const) {
    it(`check ${file} ${extra.join(' ')}: the document ptlab check --json prints, byte for byte`, async () => {
      const { out } = await runCli('check', file, '--json', ...extra);
      const req = { id: 1, type: 'check' as const, yaml: yaml(file), file, ...(extra[0] === '--first' ? { first: true } : {}), ...(extra[0] === '--preset' ? { preset: extra[1] } : {}) };
      const replies = await ask(req);
      const last = replies[replies.length - 1];
      expect(last?.type).toBe('result');
      expect(`${JSON.stringify((last as { value: unknown }).value, null, 2)}\n`).toBe(out);
      // Progress before the result, each with the request's id.
      expect(replies.every((r) => r.id === 1)).toBe(true);
      expect(replies.slice(0, -1).every((r) => r.type === 'progress')).toBe(true);
    });
  }

  it('replays a counterexample with the text report\'s step descriptions, and the freed table in the state at the violation', async () => {
    const { out } = await runCli('check', VIOLATED, '--json');
    const cx = (JSON.parse(out) as { verdicts: Array<{ id: string; counterexample: { schedule: string; steps: Array<{ fn: string; desc: string }> } | null }> }).verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.counterexample;
    const [reply] = await ask({ id: 2, type: 'replay', yaml: yaml(VIOLATED), file: VIOLATED, schedule: cx!.schedule });
    expect(reply?.type).toBe('replay');
    const r = (reply as { value: ExploreReplay }).value;
    expect(r.steps.map((s) => s.fn)).toEqual(cx!.steps.map((s) => s.fn));
    const text = (await runCli('replay', VIOLATED, '--schedule', cx!.schedule, '--width', '1000')).out;
    for (const s of r.steps) expect(text).toContain(s.text);
    const v = r.violations[0]!;
    expect(v.property).toBe('no-walk-of-freed-table');
    const before = r.states[v.step]!;
    expect(before.tables.find((t) => t.id === 'A.pte0')?.freed).toBe(true);
    expect(r.states[0]!.tables.find((t) => t.id === 'A.pte0')?.freed).toBe(false);
    // The walker's CPU has IRQs off at the stale read (GUP-fast's local_irq_save()).
    expect(before.cpus[1]?.irqsOff).toBe(true);
    expect(r.links).toContainEqual({ from: r.steps.findIndex((s) => s.events.some((e) => e.type === 'pt_free')), to: v.step, kind: 'window' });
  });

  it('links an IPI\'s send to its handler and its end, and shows it pending in between', async () => {
    const { out } = await runCli('check', LAZY, '--json');
    const schedule = (JSON.parse(out) as { verdicts: Array<{ counterexample: { schedule: string } | null }> }).verdicts.find((v) => v.counterexample)!.counterexample!.schedule;
    const [reply] = await ask({ id: 3, type: 'replay', yaml: yaml(LAZY), file: LAZY, schedule });
    const r = (reply as { value: ExploreReplay }).value;
    const spawn = r.links.find((l) => l.kind === 'spawn')!;
    expect(r.steps[spawn.from]?.kind).toBe('spawn');
    expect(r.steps[spawn.to]?.kind).toBe('irq-entry');
    const done = r.links.find((l) => l.kind === 'done' && l.from === spawn.to)!;
    expect(r.steps[done.to]?.kind).toBe('irq-exit');
    const pendingAt = r.states[spawn.from + 1]!.pendingIpis;
    expect(pendingAt.length).toBeGreaterThan(0);
  });

  it('gives the CLI\'s file:line:col errors for bad YAML', async () => {
    const bad = yaml(VIOLATED).replace('machine: { arch: arm64, cpus: 3 }', 'machine: { arch: arm46, cpus: 3 }');
    const [reply] = await ask({ id: 4, type: 'check', yaml: bad, file: 'bad.yaml' });
    expect(reply?.type).toBe('error');
    const msg = (reply as { message: string }).message;
    expect(msg).toMatch(/^bad\.yaml:\d+:\d+: error: machine\.arch: /);
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/ptlab-web-');
    writeFileSync(`${dir}/bad.yaml`, bad);
    const c = await runCli('check', `${dir}/bad.yaml`);
    expect(c.code).toBe(2);
    expect(stderr.text.trim().replace(`${dir}/`, '')).toBe(msg);
  });

  it('holds untrusted text to the CLI\'s limits: CPUs, size, schedule length', async () => {
    const many = yaml(VIOLATED).replace('cpus: 3 }', 'cpus: 13 }');
    const [a] = await ask({ id: 5, type: 'validate', yaml: many, file: 'big.yaml' });
    expect(a?.type).toBe('error');
    const [b] = await ask({ id: 6, type: 'validate', yaml: `# ${'x'.repeat(1 << 20)}\n`, file: 'huge.yaml' });
    expect((b as { message: string }).message).toContain('larger than 1048576 bytes');
    const [c] = await ask({ id: 7, type: 'replay', yaml: yaml(VIOLATED), file: VIOLATED, schedule: '0*2000000' });
    expect((c as { message: string }).message).toContain('would exceed 1,000,000 steps');
    const [d] = await ask({ id: 8, type: 'replay', yaml: yaml(VIOLATED), file: VIOLATED, schedule: '0*3 9' });
    expect((d as { message: string }).message).toContain('schedule step 3: thread 9 does not exist yet');
  });

  it('gives the timed replay the CLI prints with --timed --json', async () => {
    const sched = '0*16 1*4 0*7 1*5';
    const { out } = await runCli('replay', VIOLATED, '--schedule', sched, '--timed', '--json');
    const [r] = await ask({ id: 9, type: 'timed', yaml: yaml(VIOLATED), file: VIOLATED, schedule: sched });
    expect(`${JSON.stringify((r as { value: unknown }).value, null, 2)}\n`).toBe(out);
  });

  it('renders sim and compare result files as the CLI prints them', async () => {
    const SIM = 'scenarios/sim/rcu-gp-idle.yaml';
    const simArgs = [SIM, '--duration', '1ms', '--no-timing'];
    const simText = (await runCli('sim', ...simArgs)).out;
    const simDoc = JSON.parse((await runCli('sim', ...simArgs, '--json')).out) as unknown;
    const [a] = await ask({ id: 10, type: 'render', doc: simDoc, file: 'sim.json' });
    expect(`${(a as { value: string }).value}\n`).toBe(simText);
    const cmpArgs = [SIM, '--work', '2', '--strategies', 'broadcast-ipi,sync-rcu'];
    const cmpText = (await runCli('compare', ...cmpArgs)).out;
    const cmpDoc = JSON.parse((await runCli('compare', ...cmpArgs, '--json')).out) as unknown;
    const [b] = await ask({ id: 11, type: 'render', doc: cmpDoc, file: 'compare.json' });
    expect(`${(b as { value: string }).value}\n`).toBe(cmpText);
    // A document that is not what its schema says is refused, naming the file.
    const [c] = await ask({ id: 12, type: 'render', doc: { schema: 'ptlab.sim/1', metrics: 3 }, file: 'bad.json' });
    expect(c?.type).toBe('error');
    expect((c as { message: string }).message).toMatch(/^bad\.json: error: .*not a valid result document/);
  }, 60_000);
});
