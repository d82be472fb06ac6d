/**
 * `ptlab kernel-run`: boot the workload's kernel under QEMU, read what the guest counted, run
 * the same phases in the simulator on that kernel's configuration, and compare.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backgroundRates, comparePhase, type PhaseComparison } from './compare.js';
import { buildInitramfs } from './initramfs.js';
import { fetchKernelPackage, KernelRunError, kernelFromPaths, type KernelImage } from './kernel-package.js';
import { parseGuestOutput, type GuestOutput } from './output.js';
import { boot } from './qemu.js';
import { featuresOf, knobsFor, phaseScenario, simulatePhase, type KnobSource, type SimCounts } from './scenario.js';
import { phaseLines, type Workload } from './workload-file.js';
import type { ScenarioInput } from '../index.js';

export interface KernelRunResult {
  readonly schema: 'ptlab.kernel-run/1';
  readonly workload: Workload;
  readonly kernel: { readonly package: string; readonly version: string | null; readonly release: string; readonly booted: string | null };
  readonly knobs: readonly KnobSource[];
  readonly guest: GuestOutput;
  readonly sim: ReadonlyArray<{ readonly phase: string; readonly scenario: ScenarioInput; readonly counts: SimCounts }>;
  readonly comparison: readonly PhaseComparison[];
  /** Host wall time of the boot, s (null when the serial log was read from a file). */
  readonly bootWallS: number | null;
}

export function resolveKernel(w: Workload, onStatus: (s: string) => void): KernelImage {
  return 'package' in w.kernel ? fetchKernelPackage(w.kernel.package, onStatus) : kernelFromPaths(w.kernel.vmlinuz, w.kernel.config);
}

/** Boot the guest and return its serial console. */
export async function bootWorkload(w: Workload, k: KernelImage, onStatus: (s: string) => void): Promise<{ serial: string; wallS: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ptlab-kernel-run-'));
  try {
    const initrd = buildInitramfs(dir, phaseLines(w), onStatus);
    return await boot({ vmlinuz: k.vmlinuz, initrd, vcpus: w.vcpus, memoryMb: w.memory_mb, hugepages: w.hugepages, timeoutS: w.timeout, onStatus });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** From the guest's serial console to the result: parse, check completeness, simulate, compare. */
export function analyse(w: Workload, k: KernelImage, serial: string, bootWallS: number | null, opts: { simulate?: boolean; onStatus?: (s: string) => void } = {}): KernelRunResult {
  const guest = parseGuestOutput(serial);
  if (!guest.done) {
    const last = guest.phases[guest.phases.length - 1];
    const tail = serial.split(/\r?\n/).map((l) => l.replace(/[^\x20-\x7e]/g, '').trim()).filter((l) => l !== '').slice(-4).join(' / ');
    throw new KernelRunError(`the guest did not finish the workload (${guest.phases.length} of ${w.phases.length} phases started${last ? `, last ${last.name}` : ''}; no '@@ptlab done' on the console; its last lines: ${tail || 'none'})`);
  }
  for (const p of guest.phases) {
    if (p.status !== 0) throw new KernelRunError(`phase ${p.name} exited with status ${p.status ?? 'unknown'} in the guest`);
  }
  if (guest.cpus !== w.vcpus) throw new KernelRunError(`the guest has ${guest.cpus} CPUs online, the workload asks for ${w.vcpus}`);
  const knobs = knobsFor(k);
  const sim: Array<{ phase: string; scenario: ScenarioInput; counts: SimCounts }> = [];
  const comparison: PhaseComparison[] = [];
  if (opts.simulate !== false) {
    const bg = backgroundRates(w, guest);
    for (const ph of w.phases) {
      const out = guest.phases.find((p) => p.name === ph.name);
      if (!out) throw new KernelRunError(`phase ${ph.name}: no output from the guest`);
      opts.onStatus?.(`simulating phase ${ph.name}`);
      const ps = phaseScenario(w, ph, knobs, featuresOf(k));
      const counts = simulatePhase(ps, `${w.name}-${ph.name}`);
      sim.push({ phase: ph.name, scenario: ps.scenario, counts });
      comparison.push(comparePhase(w, ph, out, counts, ps.limits, bg));
    }
  }
  return {
    schema: 'ptlab.kernel-run/1',
    workload: w,
    kernel: { package: k.package, version: k.packageVersion, release: k.release, booted: guest.kernel },
    knobs,
    guest,
    sim,
    comparison,
    bootWallS,
  };
}
