/**
 * Boot a kernel under QEMU (TCG: no KVM here) with the initramfs, and collect the serial console.
 * The guest powers itself off when the workload ends; past the timeout QEMU is killed and the
 * run is an error that says how far the guest got.
 */
import { spawn, spawnSync } from 'node:child_process';
import { KernelRunError } from './kernel-package.js';

export interface BootOptions {
  readonly vmlinuz: string;
  readonly initrd: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly hugepages: number;
  readonly timeoutS: number;
  /** A line of the guest's own progress (`@@ptlab phase ... begin`), or a status of the boot. */
  readonly onStatus?: (s: string) => void;
}

export const QEMU = 'qemu-system-x86_64';

/** The QEMU binary, or an error saying how to install it (never a silent skip). */
export function requireQemu(): string {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new KernelRunError(`${QEMU} not found: kernel-run boots the kernel under QEMU (apt-get install qemu-system-x86)`);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

export function qemuArgs(o: BootOptions): string[] {
  return [
    '-nodefaults', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-accel', 'tcg', '-smp', String(o.vcpus), '-m', String(o.memoryMb),
    '-kernel', o.vmlinuz, '-initrd', o.initrd,
    '-append', `console=ttyS0 panic=-1 hugepages=${o.hugepages} quiet loglevel=3`,
  ];
}

/** Boot and return everything the guest printed on its serial console. */
export function boot(o: BootOptions): Promise<{ serial: string; wallS: number }> {
  requireQemu();
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pending = '';
    let last = 'booting';
    o.onStatus?.(`booting ${o.vcpus} vCPUs under TCG`);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => {
      out += d;
      pending += d;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const m = /@@ptlab (phase \S+ \S+ \d+ begin|kernel \S+|done)/.exec(l);
        if (m) {
          last = m[1] as string;
          o.onStatus?.(`guest: ${last} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        }
      }
      if (out.length > 64 << 20) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new KernelRunError(`the guest did not power off within ${o.timeoutS} s (last seen: ${last}); raise timeout: in the workload, or give fewer/smaller phases`));
    }, o.timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new KernelRunError(`${QEMU}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new KernelRunError(`${QEMU} exited with status ${code}: ${err.trim().split('\n').slice(-3).join(' / ') || 'no message'}`));
        return;
      }
      resolve({ serial: out, wallS: (Date.now() - t0) / 1000 });
    });
  });
}
