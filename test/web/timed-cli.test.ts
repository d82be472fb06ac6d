/** `ptlab replay --timed`: text, JSON, exit codes. */
import { describe, expect, it } from 'vitest';
import { captureStderr, runCli } from '../cli/capture.js';
import { timedReplayResultSchema } from '../../src/schemas.js';

const NO_SYNC = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const SCHEDULE = '0*16 1*4 0*7 1*5';

const stderr = captureStderr();


describe('ptlab replay --timed', () => {
  it('prints the race window in ns, the IPIs per CPU and the time each CPU was held up; exit 0 for an expected violation', async () => {
    const { code, out } = await runCli('replay', NO_SYNC, '--schedule', SCHEDULE, '--timed', '--profile', 'arm64');
    expect(code).toBe(0);
    expect(out).toContain('timed replay of 32 steps on profile arm64');
    expect(out).toMatch(/race window on A\.pte0:/);
    expect(out).toMatch(/window \(unhook -> free\): \d[\d,]* ns; free -> violation: 0 ns/);
    expect(out).toMatch(/ CAL:\s+0\s+0\s+0 {3}Function call interrupts/);
    expect(out).toMatch(/CPU0\s+0\s+0\s+0\s+\d+/);
  });

  it('gives the same numbers as JSON (ptlab.timed-replay/1), byte-identical run to run', async () => {
    const a = await runCli('replay', NO_SYNC, '--schedule', SCHEDULE, '--timed', '--json');
    const b = await runCli('replay', NO_SYNC, '--schedule', SCHEDULE, '--timed', '--json');
    expect(a.out).toBe(b.out);
    const j = JSON.parse(a.out) as { schema: string; window: { freeToRead: number; at: { free: number; read: number } }; steps: Array<{ start_ns: number }> };
    expect(j.schema).toBe('ptlab.timed-replay/1');
    expect(j.window.freeToRead).toBe(j.window.at.read - j.window.at.free);
    expect(j.steps).toHaveLength(32);
    expect(timedReplayResultSchema.safeParse(j).error).toBeUndefined();
  });

  it('refuses a profile for another arch, and --profile without --timed (exit 2, no output)', async () => {
    const a = await runCli('replay', NO_SYNC, '--schedule', SCHEDULE, '--timed', '--profile', 'x86-2s');
    expect(a.code).toBe(2);
    expect(a.out).toBe('');
    expect(stderr.text).toContain('profile x86-2s is for x86/x86-invlpgb, the scenario\'s arch is arm64');
    const b = await runCli('replay', NO_SYNC, '--schedule', SCHEDULE, '--profile', 'arm64');
    expect(b.code).toBe(2);
    expect(stderr.text).toContain('--profile goes with --timed');
  });
});
