/** Progress lines: plain periodic lines off a terminal, with the projected total and time left. */
import { describe, expect, it } from 'vitest';
import { progress, progressText } from '../../src/cli/progress.js';

function fakeStream(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('progress off a terminal', () => {
  it('prints a plain line once per period, with the rate, the share done, the projected total and the time left', () => {
    let t = 0;
    const { stream, lines } = fakeStream();
    const p = progress('S.yaml', { stream, everyMs: 10_000, now: () => t });
    t = 5_000;
    p.update(500, { share: () => 0.1 });
    expect(lines).toEqual([]);
    t = 10_000;
    p.update(1_000, { share: () => 0.25 });
    expect(lines).toEqual(['S.yaml: 1,000 executions, 100/s, 10 s elapsed, ~25.0% done, ~4,000 in all, ~30 s left\n']);
    t = 15_000;
    p.update(1_500);
    expect(lines).toHaveLength(1);
    t = 200_000;
    p.update(20_000, { detail: 'now x' });
    expect(lines[1]).toBe('S.yaml: 20,000 executions, 100/s, 3 min 20 s elapsed, now x\n');
    p.done();
    expect(lines).toHaveLength(2);
  });

  it('says nothing of a total for units other than executions, and nothing of time left when the share is unknown or complete', () => {
    expect(progressText('c.yaml', 'runs', 3, 30, 0.5, 'of 6')).toBe('c.yaml: 3 runs, 0.1/s, 30 s elapsed, ~50.0% done, ~30 s left, of 6');
    expect(progressText('s.yaml', 'µs simulated', 2_000, 2, undefined, undefined)).toBe('s.yaml: 2,000 µs simulated, 1,000/s, 2.0 s elapsed');
    expect(progressText('s.yaml', 'executions', 10, 1, 1, undefined)).toBe('s.yaml: 10 executions, 10/s, 1.0 s elapsed');
  });

});
