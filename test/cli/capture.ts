/**
 * The CLI in tests: main() with its stdout collected, and stderr captured per test (a file that
 * calls captureStderr() gets a fresh capture in each test, read through `.text`).
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface Captured {
  text: string;
}

/** Capture process.stderr in every test of the calling file (or describe block). */
export function captureStderr(): Captured {
  const c = { text: '' };
  beforeEach(() => {
    c.text = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      c.text += String(s);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return c;
}

/** Run the CLI: its exit code and everything it printed on stdout. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, (s) => (out += `${s}\n`));
  return { code, out };
}
