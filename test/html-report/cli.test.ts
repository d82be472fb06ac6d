/** `ptlab report` and `--html` end to end, through main() with captured output. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { checkRecords } from './fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, (s) => (out += `${s}\n`));
    return { code, out, err };
  } finally {
    process.stderr.write = write;
  }
}

const dir = (): string => mkdtempSync(join(tmpdir(), 'ptlab-report-'));

describe('ptlab report', () => {
  it('writes the report of a JSONL file, and the counterexamples\' Perfetto files beside it', async () => {
    const d = dir();
    const recs = checkRecords();
    writeFileSync(join(d, 'results.jsonl'), `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const r = await run('report', join(d, 'results.jsonl'), '-o', join(d, 'study.html'));
    expect(r.code).toBe(0);
    const html = readFileSync(join(d, 'study.html'), 'utf8');
    expect(html).toContain('<h1>ptlab report: munmap-verdicts</h1>');
    const cx = readdirSync(join(d, 'study.cx'));
    expect(cx.length).toBeGreaterThan(0);
    for (const f of cx) expect(html).toContain(`href="study.cx/${f}"`);
    expect(r.out).toContain(`wrote ${join(d, 'study.html')} (${recs.length} points; ${cx.length} Perfetto file`);
  }, 60_000);

  it('refuses a bad line with file:line:col, exit 2, and writes nothing', async () => {
    const d = dir();
    writeFileSync(join(d, 'bad.jsonl'), '{"study": "s", "index": 0}\n');
    const r = await run('report', join(d, 'bad.jsonl'), '-o', join(d, 'out.html'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${join(d, 'bad.jsonl')}:1:1: expected 'key' to be a string\n`);
    expect(existsSync(join(d, 'out.html'))).toBe(false);
    expect(r.out).toBe('');
  });

  it('says when the results file cannot be read, exit 2', async () => {
    const d = dir();
    const r = await run('report', join(d, 'missing.jsonl'), '-o', join(d, 'out.html'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('missing.jsonl: cannot read the results (ENOENT)');
  });
});

describe('--html', () => {
  it('ptlab sim --html writes the report of one run beside its text output', async () => {
    const d = dir();
    const r = await run('sim', 'scenarios/sim/munmap-under-pressure.yaml', '--work', '2', '--no-timing', '--html', join(d, 'sim.html'));
    expect(r.code).toBe(0);
    const html = readFileSync(join(d, 'sim.html'), 'utf8');
    expect(html).toContain('<h1>ptlab report: munmap-under-pressure</h1>');
    expect(html).toContain('The run, as ptlab sim prints it');
    expect(html).toContain('Function call interrupts');
    expect(r.out).toContain('CAL:');
  }, 60_000);

  it('ptlab compare --html writes the same report as ptlab report does from its --json', async () => {
    const d = dir();
    const args = ['compare', 'scenarios/sim/munmap-under-pressure.yaml', '--work', '2', '--seeds', '1..2', '--strategies', 'sync-rcu,skip-redundant-ipi'];
    const a = await run(...args, '--html', join(d, 'cmp.html'), '--json');
    expect(a.code).toBe(0);
    const doc = JSON.parse(a.out) as { runs: Array<{ scenario: unknown }> };
    const rec = { study: 'munmap-under-pressure', index: 0, key: 'compare', axes: {}, kind: 'compare', scenario: doc.runs[0]?.scenario, result: doc, ptlabVersion: JSON.parse(readFileSync('package.json', 'utf8')).version as string };
    writeFileSync(join(d, 'cmp.jsonl'), `${JSON.stringify(rec)}\n`);
    const b = await run('report', join(d, 'cmp.jsonl'), '-o', join(d, 'cmp2.html'));
    expect(b.code).toBe(0);
    expect(readFileSync(join(d, 'cmp2.html'), 'utf8')).toBe(readFileSync(join(d, 'cmp.html'), 'utf8'));
  }, 60_000);
});
