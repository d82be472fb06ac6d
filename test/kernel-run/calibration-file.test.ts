/** `ptlab sim|compare --calibration FILE`: the simulator reads what `ptlab calibrate -o` writes. */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from '../cli/capture.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'ptlab-calibration-'));
const S = 'scenarios/sim/munmap-under-pressure.yaml';
const stderr = captureStderr();


function calibration(body: unknown): string {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(body));
  return f;
}

describe('sim --calibration', () => {
  it('runs as with the fitted --alloc-fail-rate; the flag given on the command line wins', async () => {
    const f = calibration({ schema: 'ptlab.calibration/1', sim: { alloc_fail_rate: 0.5 }, fitted: [{ name: 'fallbacks per munmap', value: 0.5, source: 'test' }], notes: [] });
    const fromFile = await runCli('sim', S, '--duration', '200us', '--json', '--calibration', f);
    const byFlag = await runCli('sim', S, '--duration', '200us', '--json', '--alloc-fail-rate', '0.5');
    const other = await runCli('sim', S, '--duration', '200us', '--json', '--alloc-fail-rate', '0');
    expect(fromFile.code).toBe(byFlag.code);
    expect(fromFile.out).toBe(byFlag.out);
    expect(fromFile.out).not.toBe(other.out);
    const flagWins = await runCli('sim', S, '--duration', '200us', '--json', '--calibration', f, '--alloc-fail-rate', '0');
    expect(flagWins.out).toBe(other.out);
  }, 120_000);

  it('a file that is not a calibration is bad input: exit 2, the file named, nothing printed', async () => {
    const f = calibration({ schema: 'ptlab.sim/1' });
    const r = await runCli('sim', S, '--duration', '200us', '--calibration', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(stderr.text).toContain(`${f}: error: expected a calibration file (schema 'ptlab.calibration/1'`);
    const rate = calibration({ schema: 'ptlab.calibration/1', sim: { alloc_fail_rate: 2 } });
    expect((await runCli('sim', S, '--calibration', rate)).code).toBe(2);
    expect(stderr.text).toContain('sim.alloc_fail_rate: expected a probability in [0, 1], got 2');
  });
});
