/**
 * The executable's stdout against a reader that leaves early (`ptlab sim … | head`): real pipes,
 * real processes. No stack trace, nothing on stderr, and the command's own exit status.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';

const ENTRY = ['--import', 'tsx', 'src/cli/run.ts'];
const BUG_HUNT = 'scenarios/sim/no-sync-arm64-bug-hunt.yaml';
const UAF = 'scenarios/check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';

/** `ptlab ARGS | head -1` in bash: what head printed, ptlab's status and its stderr. */
function throughHead(args: string[]): { first: string; status: number; stderr: string } {
  const quoted = [...ENTRY, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `node ${quoted} 2>"$ERRFILE" | head -1; echo "status \${PIPESTATUS[0]}"; cat "$ERRFILE" >&2`], {
    encoding: 'utf8',
    env: { ...process.env, ERRFILE: `/tmp/ptlab-epipe-${process.pid}-${Math.random().toString(36).slice(2)}` },
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { first: lines[0] ?? '', status: Number(/status (\d+)/.exec(lines[lines.length - 1] ?? '')?.[1]), stderr: r.stderr };
}

/** Spawn ptlab and close the read end of its stdout at once, before it has written anything. */
function closedAtOnce(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [...ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('ptlab with its stdout closed early', () => {
  it('ends quietly with the status of its result, a 260-line sim output into head -1, twice', () => {
    for (let i = 0; i < 2; i++) {
      const r = throughHead(['sim', BUG_HUNT, '--duration', '5ms', '--no-timing']);
      expect(r.first).toMatch(/^no-sync-arm64-bug-hunt \(no-sync, profile arm64, seed 1\)/);
      expect(r.stderr).toBe('');
      // The run finds use-after-frees: 1, as without the pipe, not 0 and not a crash.
      expect(r.status).toBe(1);
    }
  }, 60_000);

  it('keeps check\'s verdict status (1: a verdict differs) when the reader leaves after a line, 5 runs', () => {
    for (let i = 0; i < 5; i++) {
      const r = throughHead(['check', UAF, '--preset', 'sync-rcu', '--no-timing']);
      expect(r.first).toContain('munmap-vs-gup-fast+no-sync+arm64+batch-fails');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(1);
    }
  }, 60_000);

  it('exits 0 with no output at all when the pipe is closed before the first write', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await closedAtOnce(['list', 'knobs']);
      expect(r).toEqual({ code: 0, signal: null, stderr: '' });
    }
  }, 60_000);
});
