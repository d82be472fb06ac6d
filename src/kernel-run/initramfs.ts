/**
 * The guest's initramfs: busybox-static as the shell, the workload program compiled from
 * workload.c with the machine's gcc (`-static -O2 -pthread`), the phases to run and an /init
 * that mounts proc, sysfs, devtmpfs and tracefs, sets transparent hugepages to `never` (so that
 * faults map small pages and MADV_COLLAPSE has something to collapse), runs the workload and
 * powers off. Written as a gzip'd newc cpio archive by this module (no cpio tool needed).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { KernelRunError, kernelCacheDir } from './kernel-package.js';

export const WORKLOAD_SOURCE = fileURLToPath(new URL('../../src/kernel-run/workload.c', import.meta.url));

/** Compile workload.c (cached by the hash of its source and of the compiler's version). */
export function buildWorkload(onStatus: (s: string) => void = () => {}): string {
  if (!existsSync(WORKLOAD_SOURCE)) throw new KernelRunError(`${WORKLOAD_SOURCE}: the workload source is missing`);
  const src = readFileSync(WORKLOAD_SOURCE);
  let cc: string;
  try {
    cc = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    throw new KernelRunError('gcc not found: kernel-run compiles its guest program with gcc -static (apt-get install gcc libc6-dev)');
  }
  const hash = createHash('sha256').update(src).update(cc).digest('hex').slice(0, 16);
  const dir = join(kernelCacheDir(), 'workload');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `workload-${hash}`);
  if (existsSync(out)) return out;
  onStatus('compiling the guest workload (gcc -static -O2 -pthread)');
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    execFileSync('gcc', ['-static', '-O2', '-pthread', '-Wall', '-o', tmp, WORKLOAD_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new KernelRunError(`gcc -static failed on ${WORKLOAD_SOURCE}: ${String(err.stderr ?? e).trim().split('\n').slice(0, 5).join(' / ')}`);
  }
  renameSync(tmp, out);
  return out;
}

/** The static busybox of busybox-static (a dynamic one cannot run in an initramfs without its libraries). */
export function findBusybox(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue;
    const head = readFileSync(p).subarray(0, 1 << 16);
    if (head.includes('/lib64/ld-linux') || head.includes('/lib/ld-linux')) {
      throw new KernelRunError(`${p} is dynamically linked: install busybox-static (apt-get install busybox-static)`);
    }
    return p;
  }
  throw new KernelRunError('busybox not found: install busybox-static (apt-get install busybox-static)');
}

export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
echo never > /sys/kernel/mm/transparent_hugepage/enabled
echo "@@ptlab kernel $(/bin/busybox uname -r)"
echo "@@ptlab hugepages $(/bin/busybox cat /proc/sys/vm/nr_hugepages)"
echo "@@ptlab thp $(/bin/busybox cat /sys/kernel/mm/transparent_hugepage/enabled)"
/workload /phases.txt
echo "@@ptlab exit $?"
/bin/busybox poweroff -f
`;

interface Entry {
  readonly name: string;
  readonly mode: number;
  readonly data?: Buffer;
}

function cpioHeader(ino: number, e: Entry): Buffer {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  const name = Buffer.from(`${e.name}\0`);
  const size = e.data?.length ?? 0;
  const fields = ['070701', hex(ino), hex(e.mode), hex(0), hex(0), hex(1), hex(0), hex(size), hex(0), hex(0), hex(0), hex(0), hex(name.length), hex(0)].join('');
  const head = Buffer.concat([Buffer.from(fields, 'ascii'), name]);
  return Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4)]);
}

/** A newc cpio archive of `entries`, gzip'd. */
export function cpioNewc(entries: readonly Entry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    parts.push(cpioHeader(i + 1, e));
    if (e.data) {
      parts.push(e.data);
      parts.push(Buffer.alloc((4 - (e.data.length % 4)) % 4));
    }
  });
  parts.push(cpioHeader(0, { name: 'TRAILER!!!', mode: 0 }));
  return gzipSync(Buffer.concat(parts), { level: 1 });
}

/** Build the initramfs for these phase lines; returns its path (in `dir`). */
export function buildInitramfs(dir: string, phases: string, onStatus: (s: string) => void = () => {}): string {
  const workload = buildWorkload(onStatus);
  const busybox = findBusybox();
  const DIR = 0o040755;
  const EXE = 0o100755;
  const FILE = 0o100644;
  const img = cpioNewc([
    { name: 'bin', mode: DIR },
    { name: 'proc', mode: DIR },
    { name: 'sys', mode: DIR },
    { name: 'dev', mode: DIR },
    { name: 'bin/busybox', mode: EXE, data: readFileSync(busybox) },
    { name: 'workload', mode: EXE, data: readFileSync(workload) },
    { name: 'phases.txt', mode: FILE, data: Buffer.from(phases) },
    { name: 'init', mode: EXE, data: Buffer.from(INIT_SCRIPT) },
  ]);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'initrd.gz');
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, img);
  } catch (e) {
    throw new KernelRunError(`cannot write ${tmp}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  renameSync(tmp, path);
  return path;
}
