/** Output files: whole or not at all, keeping the mode and the symlink of what they replace. */
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputError, writeFileAtomic } from '../../src/cli/files.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'ptlab-files-'));

describe('writeFileAtomic', () => {
  it('keeps the mode of the file it replaces', () => {
    const d = dir();
    const f = join(d, 'trace.json');
    writeFileSync(f, 'old');
    chmodSync(f, 0o640);
    writeFileAtomic(f, 'new');
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(statSync(f).mode & 0o777).toBe(0o640);
  });

  it('writes through a symlink: the link stays, its target gets the data', () => {
    const d = dir();
    const target = join(d, 'real.json');
    const link = join(d, 'link.json');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new');
  });

  it('removes the temporary files of the same name left by dead processes, not those of live ones', () => {
    const d = dir();
    const f = join(d, 'out.json');
    writeFileSync(join(d, '.out.json.999999999.tmp'), 'stale');
    writeFileSync(join(d, `.out.json.${process.ppid}.tmp`), 'a live writer');
    writeFileAtomic(f, 'x');
    expect(readdirSync(d).sort()).toEqual([`.out.json.${process.ppid}.tmp`, 'out.json']);
  });

  it('fails with OutputError and leaves nothing when the directory does not exist', () => {
    const f = join(dir(), 'no', 'such', 'x.json');
    expect(() => writeFileAtomic(f, 'x')).toThrow(OutputError);
    expect(existsSync(f)).toBe(false);
  });
});
