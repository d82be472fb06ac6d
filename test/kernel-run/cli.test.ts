/** `ptlab calibrate` and `ptlab kernel-run --serial` from the command line: outputs, files and errors (exit 2). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

const fx = (f: string): string => new URL(`./fixtures/${f}`, import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args, (s) => out.push(s));
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    process.stderr.write = write;
  }
}

describe('ptlab calibrate', () => {
  it('fits a hand-made tracefs sample and writes the override file with the source of each number', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ptlab-cal-'));
    const o = join(d, 'cal.json');
    const r = await run(['calibrate', '--trace', fx('tracefs-sample.txt'), '--ops', '2', '--op', 'munmap', '-o', o]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/shootdowns_per_op\.munmap\s+1\s+.*tracefs-sample\.txt: tlb_flush "remote shootdown" = 2 \/ 2/);
    const c = JSON.parse(readFileSync(o, 'utf8')) as { schema: string; fitted: Array<{ name: string; value: number; source: string }> };
    expect(c.schema).toBe('ptlab.calibration/1');
    expect(c.fitted.every((f) => f.source.includes('tracefs-sample.txt'))).toBe(true);
  });

  it('fits two /proc/interrupts snapshots', async () => {
    const r = await run(['calibrate', '--interrupts', fx('interrupts-before.txt'), fx('interrupts-after.txt'), '--ops', '200', '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out) as { fitted: Array<{ name: string; value: number }> };
    expect(c.fitted.find((f) => f.name === 'ipis_per_op.op.TLB.cpu1')?.value).toBe(1);
  });

  it('fits the kernel-run result written by kernel-run --serial --out', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ptlab-kr-'));
    const k = await run(['kernel-run', fx('smoke4.yaml'), '--serial', fx('smoke4-6.1-serial.log'), '--out', d]);
    // the kernel package is needed for its config: present in the cache when the suite runs under .ci/run
    expect(k.err).not.toMatch(/UNEXPLAINED/);
    expect(k.code).toBe(0);
    expect(k.out).toMatch(/TLB +spin +1 +200 +1 +200 +1 +1\.00/);
    expect(existsSync(join(d, 'scenarios', 'munmap.yaml'))).toBe(true);
    const c = await run(['calibrate', '--kernel-run', join(d, 'kernel-run.json')]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/ipis_per_op\.munmap\.TLB\.spin +1 /);
    expect(c.out).toMatch(/sim\.alloc_fail_rate: 0/);
  });

  it('says what is wrong with its input, exit 2, nothing on stdout', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ptlab-cal-'));
    const bad = join(d, 'x.json');
    writeFileSync(bad, '{"schema":"ptlab.sim/1"}');
    for (const [args, msg] of [
      [['calibrate'], /give exactly one input/],
      [['calibrate', '--trace', fx('tracefs-sample.txt')], /--ops N is needed/],
      [['calibrate', '--interrupts', fx('interrupts-before.txt'), '--ops', '3'], /--interrupts takes two files/],
      [['calibrate', '--kernel-run', bad], /expected a kernel-run result \(schema ptlab\.kernel-run\/1\), got "ptlab\.sim\/1"/],
      [['calibrate', '--trace', join(d, 'missing.txt'), '--ops', '1'], /missing\.txt: cannot read trace \(ENOENT\)/],
      [['calibrate', '--interrupts', bad, bad, '--ops', '1'], /x\.json: no header line of CPU columns/],
    ] as const) {
      const r = await run([...args]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
    }
  });
});
