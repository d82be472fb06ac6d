/**
 * Boots Debian's 6.1 kernel under QEMU (TCG) with 2 vCPUs and checks the counts of one workload.
 * Needs qemu-system-x86, busybox-static, gcc and the kernel package (.ci/run installs them; the
 * package is fetched with apt-get download into node_modules/.cache/ptlab-kernels when absent).
 * Without QEMU the test fails and says what to install: it is never skipped.
 */
import { describe, expect, it } from 'vitest';
import { parseWorkload } from '../../src/kernel-run/workload-file.js';
import { analyse, bootWorkload, resolveKernel } from '../../src/kernel-run/run.js';
import { requireQemu } from '../../src/kernel-run/qemu.js';

const WORKLOAD = `name: boot-test
kernel: { package: linux-image-6.1.0-50-amd64-unsigned }
vcpus: 2
memory_mb: 256
hugepages: 0
timeout: 150s
phases:
  - { name: munmap, op: munmap, count: 100, threads: [ { cpu: 0, role: op }, { cpu: 1, role: spin } ] }
`;

describe('kernel-run on a real 6.1 kernel', () => {
  it('boots 2 vCPUs and counts one shootdown per munmap on the CPU running the same mm, as the model does', { timeout: 200_000 }, async () => {
    requireQemu(); // throws "qemu-system-x86_64 not found: ... (apt-get install qemu-system-x86)"
    const w = parseWorkload(WORKLOAD, 'boot-test.yaml');
    const k = resolveKernel(w, () => {});
    const { serial } = await bootWorkload(w, k, () => {});
    const r = analyse(w, k, serial, null);
    const ph = r.guest.phases[0];
    expect(r.guest.kernel).toBe('6.1.0-50-amd64');
    expect(ph?.irq.TLB?.[1]).toBe(100);
    expect(ph?.irq.TLB?.[0]).toBe(0);
    expect(ph?.trace?.['func/flush_tlb_func']?.[1]).toBe(100);
    const rows = r.comparison[0]?.rows ?? [];
    expect(rows.find((x) => x.metric === 'TLB' && x.cls === 'spin')).toMatchObject({ kernel: 100, sim: 100, verdict: 'agrees' });
    expect(rows.filter((x) => x.verdict === 'UNEXPLAINED')).toEqual([]);
  });
});
