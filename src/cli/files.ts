/**
 * Output files are written whole or not at all: to a temporary file next to them, then renamed.
 * An existing file keeps its mode; a symlink stays a symlink (its target is replaced). A process
 * that exits before the rename removes its temporary file (an exit hook); one killed by a signal
 * during the write cannot, so each write also removes the temporary files of the same name left by
 * processes that no longer exist.
 */
import { chmodSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/** Temporary files being written, removed if the process exits before their rename. */
const pending = new Set<string>();
let hooked = false;

function removePending(): void {
  for (const tmp of pending) rmSync(tmp, { force: true });
  pending.clear();
}

export function writeFileAtomic(path: string, data: string): void {
  if (!hooked) {
    hooked = true;
    process.on('exit', removePending);
  }
  let target = path;
  let mode: number | undefined;
  try {
    target = realpathSync(path);
    mode = statSync(target).mode & 0o7777;
  } catch {
    // A new file: written where it is named, with the default mode.
  }
  removeStale(dirname(target), basename(target));
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  pending.add(tmp);
  try {
    writeFileSync(tmp, data);
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);
    throw new OutputError(`cannot write ${path} (${why})`);
  } finally {
    pending.delete(tmp);
  }
}

/** Remove `.NAME.PID.tmp` files in `dir` whose process is gone. */
function removeStale(dir: string, name: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const pid = Number(n.slice(prefix.length, -'.tmp'.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, n), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class OutputError extends Error {}
