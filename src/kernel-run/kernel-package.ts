/**
 * A kernel to boot: a Debian `linux-image-*` package fetched with `apt-get download` and unpacked
 * with `dpkg-deb -x` into an ignored cache folder (never installed into the host), or a vmlinuz
 * and its config given as paths. The kernel's `/boot/config-*` is read into a map of options.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class KernelRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelRunError';
  }
}

/** The cache of kernel packages (inside node_modules: ignored by git, removed by a clean install). */
export function kernelCacheDir(): string {
  return process.env.PTLAB_KERNEL_CACHE ?? resolve('node_modules/.cache/ptlab-kernels');
}

export interface KernelImage {
  /** The package, or `path` for a kernel given by paths. */
  readonly package: string;
  /** Version string of the package (`6.1.176-1`), or null. */
  readonly packageVersion: string | null;
  /** The kernel release (`6.1.0-50-amd64`). */
  readonly release: string;
  readonly vmlinuz: string;
  readonly configPath: string;
  /** CONFIG_* options: 'y', 'm', a value, or 'n' for `# CONFIG_X is not set`. */
  readonly config: ReadonlyMap<string, string>;
}

export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) out.set(set[1] as string, (set[2] as string).replace(/^"(.*)"$/, '$1'));
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) out.set(unset[1] as string, 'n');
  }
  return out;
}

function tool(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new KernelRunError(`${cmd} not found: install it (apt-get install ${cmd === 'dpkg-deb' ? 'dpkg' : 'apt'})`);
    throw new KernelRunError(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? String(e)).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

function findBoot(root: string): { vmlinuz: string; config: string; release: string } | null {
  const boot = join(root, 'boot');
  if (!existsSync(boot)) return null;
  const names = readdirSync(boot);
  const vm = names.find((n) => n.startsWith('vmlinuz-'));
  const cfg = names.find((n) => n.startsWith('config-'));
  if (!vm || !cfg) return null;
  return { vmlinuz: join(boot, vm), config: join(boot, cfg), release: vm.slice('vmlinuz-'.length) };
}

/**
 * The unpacked package in the cache, downloading it first if it is not there
 * (`onStatus` hears what is being done).
 */
export function fetchKernelPackage(pkg: string, onStatus: (s: string) => void = () => {}): KernelImage {
  const cache = kernelCacheDir();
  mkdirSync(cache, { recursive: true });
  const dir = join(cache, pkg);
  let found = findBoot(dir);
  if (!found) {
    let debs = readdirSync(cache).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
    if (debs.length === 0) {
      onStatus(`downloading ${pkg} with apt-get download`);
      tool('apt-get', ['download', '-q', pkg], cache);
      debs = readdirSync(cache).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
      if (debs.length === 0) throw new KernelRunError(`apt-get download ${pkg} left no .deb in ${cache}`);
    }
    onStatus(`unpacking ${debs[0]}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    tool('dpkg-deb', ['-x', join(cache, debs[0] as string), tmp]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    found = findBoot(dir);
    if (!found) throw new KernelRunError(`${pkg}: no /boot/vmlinuz-* and /boot/config-* in the package`);
  }
  const debs = readdirSync(cache).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  const version = debs[0] ? (debs[0].split('_')[1] ?? null) : null;
  return {
    package: pkg,
    packageVersion: version ? decodeURIComponent(version.replace(/%3a/gi, ':')) : null,
    release: found.release,
    vmlinuz: found.vmlinuz,
    configPath: found.config,
    config: parseKernelConfig(readFileSync(found.config, 'utf8')),
  };
}

export function kernelFromPaths(vmlinuz: string, config: string): KernelImage {
  for (const p of [vmlinuz, config]) if (!existsSync(p)) throw new KernelRunError(`${p}: no such file`);
  const text = readFileSync(config, 'utf8');
  const cfg = parseKernelConfig(text);
  if (cfg.size === 0) throw new KernelRunError(`${config}: not a kernel config (no CONFIG_ lines)`);
  const rel = /^# Linux\/\S+ (\S+) Kernel Configuration/m.exec(text)?.[1] ?? 'unknown';
  return { package: 'path', packageVersion: null, release: rel, vmlinuz, configPath: config, config: cfg };
}

/** `6.1.0-50-amd64` -> [6, 1]. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}
