/** `ptlab serve`'s command line: its errors (exit 2, no stack trace) and the warning off loopback. */
import { describe, expect, it } from 'vitest';
import { captureStderr } from '../cli/capture.js';
import { main } from '../../src/cli/main.js';
import { serve, ServeError } from '../../src/web/serve-cli.js';

const stderr = captureStderr();

describe('ptlab serve', () => {
  it('refuses a directory that does not exist, and a bad port, with exit 2', async () => {
    let out = '';
    expect(await main(['serve', 'no/such/dir', '--port', '0'], (s) => (out += s))).toBe(2);
    expect(stderr.text).toContain('ptlab: no/such/dir: not a directory');
    expect(stderr.text).not.toMatch(/\n\s+at /);
    expect(out).toBe('');
    expect(await main(['serve', '--port', '70000'])).toBe(2);
    expect(stderr.text).toContain("expected a port number from 0 to 65535, got '70000'");
  });

  it('warns before listening on an address other than loopback', async () => {
    const warnings: string[] = [];
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine: the warning, then a clear error.
    await expect(serve('scenarios', { port: 0, host: '192.0.2.1' }, () => {}, (s) => warnings.push(s))).rejects.toThrow(ServeError);
    expect(warnings[0]).toMatch(/WARNING: listening on 192\.0\.2\.1, not the loopback address/);
  });

  it('listens on 127.0.0.1 by default and says where', async () => {
    const log: string[] = [];
    const warnings: string[] = [];
    const s = await serve(undefined, { port: 0, host: '127.0.0.1' }, (x) => log.push(x), (x) => warnings.push(x));
    try {
      expect(log[0]).toMatch(/^ptlab explorer: http:\/\/127\.0\.0\.1:\d+\//);
      expect(warnings).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
