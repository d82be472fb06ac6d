/** The same workload in the model: scenarios per phase on the kernel's configuration, and the comparison. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyse } from '../../src/kernel-run/run.js';
import { featuresOf, knobsFor, phaseScenario } from '../../src/kernel-run/scenario.js';
import { parseKernelConfig, type KernelImage } from '../../src/kernel-run/kernel-package.js';
import { loadWorkload } from '../../src/kernel-run/workload-file.js';
import { calibrateKernelRun, calibrateInterrupts, calibrateTrace } from '../../src/kernel-run/calibrate.js';
import { parseInterrupts } from '../../src/kernel-run/output.js';

const fxPath = (f: string): string => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const fx = (f: string): string => readFileSync(fxPath(f), 'utf8');

/** The options of Debian's 6.1.0-50-amd64 config the knobs depend on (the rest are not read). */
const KERNEL_61: KernelImage = {
  package: 'linux-image-6.1.0-50-amd64-unsigned',
  packageVersion: '6.1.176-1',
  release: '6.1.0-50-amd64',
  vmlinuz: '/nonexistent',
  configPath: '/nonexistent',
  config: parseKernelConfig('CONFIG_MMU_GATHER_TABLE_FREE=y\nCONFIG_MMU_GATHER_RCU_TABLE_FREE=y\nCONFIG_HAVE_FAST_GUP=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\n# CONFIG_DEBUG_TLBFLUSH is not set\n'),
};

describe('knobs from the kernel', () => {
  it('derives the model configuration from config and version, with a source for each', () => {
    const k = Object.fromEntries(knobsFor(KERNEL_61).map((x) => [x.knob, x.value]));
    expect(k).toMatchObject({ table_free: 'rcu', pt_reclaim: false, per_vma_lock: false, remove_table_one: 'sync_one', hugetlb_unshare: 'per_table_ipi', x86_switch_mm_cpumask: 'clear-after-cr3' });
    const k612 = Object.fromEntries(knobsFor({ ...KERNEL_61, release: '6.12.115+deb12-amd64', config: parseKernelConfig('CONFIG_MMU_GATHER_RCU_TABLE_FREE=y\nCONFIG_PER_VMA_LOCK=y\n') }).map((x) => [x.knob, x.value]));
    expect(k612.per_vma_lock).toBe(true);
    const k615 = Object.fromEntries(knobsFor({ ...KERNEL_61, release: '6.15.0', config: parseKernelConfig('CONFIG_MMU_GATHER_RCU_TABLE_FREE=y\nCONFIG_PT_RECLAIM=y\n') }).map((x) => [x.knob, x.value]));
    expect(k615).toMatchObject({ pt_reclaim: true, x86_switch_mm_cpumask: 'lazy' });
    expect(knobsFor(KERNEL_61).every((x) => x.source.length > 10)).toBe(true);
  });
});

describe('kernel features', () => {
  it('a kernel without THP (6.1 PREEMPT_RT) gets a collapse phase without the collapse step, and says so', () => {
    const w = loadWorkload(fxPath('smoke4.yaml'));
    const ph = w.phases.find((p) => p.op === 'collapse');
    if (!ph) throw new Error('fixture has a collapse phase');
    const rt = { ...KERNEL_61, config: parseKernelConfig('CONFIG_MMU_GATHER_RCU_TABLE_FREE=y\nCONFIG_PREEMPT_RT=y\n') };
    expect(featuresOf(rt).thp).toBe(false);
    const s = phaseScenario(w, ph, knobsFor(rt), featuresOf(rt));
    expect(JSON.stringify(s.scenario.cpus)).not.toContain('collapse');
    expect(s.limits[0]?.text).toMatch(/no CONFIG_TRANSPARENT_HUGEPAGE/);
    const withThp = phaseScenario(w, ph, knobsFor(KERNEL_61), { thp: true });
    expect(JSON.stringify(withThp.scenario)).toContain('"collapse":{"slot":0}');
  });
});

describe('kernel vs model on a recorded 6.1 guest', () => {
  const w = loadWorkload(fxPath('smoke4.yaml'));
  const r = analyse(w, KERNEL_61, fx('smoke4-6.1-serial.log'), null);
  const row = (phase: string, metric: string, cls: string) => r.comparison.find((c) => c.phase === phase)?.rows.find((x) => x.metric === metric && x.cls === cls);

  it('has every difference over 10% explained', () => {
    const open = r.comparison.flatMap((c) => c.rows.filter((x) => x.verdict === 'UNEXPLAINED').map((x) => `${c.phase} ${x.metric} ${x.cls}`));
    expect(open).toEqual([]);
  });

  it('agrees on the shootdowns of munmap: one per munmap to the CPU running the mm, one in all to the lazy CPU', () => {
    expect(row('munmap', 'TLB', 'spin')).toMatchObject({ kernel: 200, sim: 200, verdict: 'agrees' });
    expect(row('munmap', 'TLB', 'lazy')).toMatchObject({ kernel: 1, sim: 1, verdict: 'agrees' });
    expect(row('munmap', 'TLB', 'idle')).toMatchObject({ kernel: 0, sim: 0 });
  });

  it('agrees on the walker-sync broadcasts of collapse and of the hugetlb unshare at exit', () => {
    expect(row('collapse1', 'sync', 'idle')).toMatchObject({ kernel: 60, sim: 60, verdict: 'agrees' });
    expect(row('hugetlb', 'sync', 'idle')).toMatchObject({ kernel: 40, sim: 40, verdict: 'agrees' });
    expect(row('hugetlb', 'sync', 'op')).toMatchObject({ kernel: 20, sim: 20 });
  });

  it('puts the scheduler\'s IPIs, which the model lacks, down to their functions', () => {
    const x = row('collapse1', 'CAL-TLB', 'idle');
    expect(x?.verdict).toBe('unmodelled');
    expect(x?.why).toMatch(/sched_ttwu_pending \d+ \(remote wakeups\)/);
  });

  it('calibrates from the kernel-run result: IPIs per operation, lazy-hit share, fallbacks per munmap', () => {
    const c = calibrateKernelRun(JSON.parse(JSON.stringify(r)), 'run.json');
    const f = Object.fromEntries(c.fitted.map((x) => [x.name, x.value]));
    expect(f['ipis_per_op.munmap.TLB.spin']).toBe(1);
    expect(f['ipis_per_op.munmap.TLB.lazy']).toBe(0.005);
    expect(f['lazy_hit_share.munmap']).toBe(Math.round((1 / 201) * 10_000) / 10_000);
    expect(f.fallbacks_per_munmap).toBe(0);
    expect(c.sim.alloc_fail_rate).toBe(0);
    expect(c.fitted.find((x) => x.name === 'ipis_per_op.munmap.TLB.spin')?.source).toMatch(/run\.json: phase munmap .* TLB 200 on 1 spin CPU/);
  });
});

describe('calibrate from raw kernel text', () => {
  it('fits per-CPU IPIs per operation from two /proc/interrupts snapshots', () => {
    const c = calibrateInterrupts(parseInterrupts(fx('interrupts-before.txt')), parseInterrupts(fx('interrupts-after.txt')), 200, 'munmap', 'b -> a');
    const f = Object.fromEntries(c.fitted.map((x) => [x.name, x.value]));
    expect(f['ipis_per_op.munmap.TLB.cpu1']).toBe(1);
    expect(f['ipis_per_op.munmap.CAL-TLB.all']).toBe(0.04); // (210 - 202) / 200
  });

  it('fits events per operation from a hand-made tracefs sample', () => {
    const c = calibrateTrace(fx('tracefs-sample.txt'), 4, 2, 'munmap', 'sample');
    const f = Object.fromEntries(c.fitted.map((x) => [x.name, x.value]));
    expect(f['shootdowns_per_op.munmap']).toBe(1);
    expect(f['events_per_op.munmap.func/tlb_remove_table_smp_sync']).toBe(1.5);
    expect(f['ipis_per_op.munmap.function_call']).toBe(2.5);
  });
});
