/**
 * `npm run validate:kernel`: the kernel-run matrix. Debian's 6.1 and 6.12 kernels, generic and
 * PREEMPT_RT, with 2, 4 and 8 vCPUs under QEMU TCG, each running every workload operation; the
 * guest's counts beside the simulator's on the same scenarios. Writes docs/validation-kernel.md
 * and, per run, out/validation-kernel/<kernel>-<vcpus>/kernel-run.json and serial.log.
 *
 *   npm run validate:kernel                       # the whole matrix (about 10-20 min here)
 *   npm run validate:kernel -- --kernels 6.1 --vcpus 4   # a part of it
 *   npm run validate:kernel -- --reuse             # analyse the serial logs of an earlier run again, no boot
 *
 * arm64 is not in the matrix: it needs qemu-system-arm, an aarch64 cross gcc with a static libc
 * and an arm64 busybox-static; see docs/kernel-run.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseWorkload, type Workload } from '../src/kernel-run/workload-file.js';
import { analyse, bootWorkload, resolveKernel, type KernelRunResult } from '../src/kernel-run/run.js';
import { requireQemu } from '../src/kernel-run/qemu.js';

const KERNELS: ReadonlyArray<{ id: string; pkg: string }> = [
  { id: '6.1', pkg: 'linux-image-6.1.0-50-amd64-unsigned' },
  { id: '6.1-rt', pkg: 'linux-image-6.1.0-50-rt-amd64-unsigned' },
  { id: '6.12', pkg: 'linux-image-6.12.115+deb12-amd64-unsigned' },
  { id: '6.12-rt', pkg: 'linux-image-6.12.115+deb12-rt-amd64-unsigned' },
];
const VCPUS = [2, 4, 8];

/** The matrix workload for n vCPUs: every operation, CPU 0 runs it, CPU 1 spins (or runs the child), CPU 2 sleeps in the mm. */
export function matrixWorkload(pkg: string, n: number, name: string): Workload {
  const lazy = n > 2 ? ', { cpu: 2, role: sleep }' : '';
  const allSpin = Array.from({ length: n - 1 }, (_, i) => `{ cpu: ${i + 1}, role: spin }`).join(', ');
  const text = `name: ${name}
kernel: { package: ${pkg} }
vcpus: ${n}
memory_mb: 512
hugepages: 8
timeout: 900s
phases:
  - { name: baseline, op: baseline, count: 300, threads: [ { cpu: 0, role: op } ] }
  - { name: munmap, op: munmap, count: 200, threads: [ { cpu: 0, role: op }, { cpu: 1, role: spin }${lazy} ] }
  - { name: munmap-all, op: munmap, count: 100, threads: [ { cpu: 0, role: op }, ${allSpin} ] }
  - { name: gup-fast, op: gup_fast, count: 200, threads: [ { cpu: 0, role: op }, { cpu: 1, role: spin } ] }
  - { name: fork-exit, op: fork_exit, count: 50, threads: [ { cpu: 0, role: op } ], child_cpu: 1 }
  - { name: collapse, op: collapse, count: 20, threads: [ { cpu: 0, role: op }, { cpu: 1, role: spin }${lazy} ] }
  - { name: collapse-alone, op: collapse, count: 20, threads: [ { cpu: 0, role: op } ] }
  - { name: hugetlb-fork, op: hugetlb_fork, count: 20, threads: [ { cpu: 0, role: op } ], child_cpu: 1 }
`;
  return parseWorkload(text, `${name}.yaml`);
}

function arg(name: string): string[] | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string).split(',') : null;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

function runSection(r: KernelRunResult, wallS: number): string[] {
  const w = r.workload;
  const lines = [`### ${r.kernel.package} ${r.kernel.version ?? ''} (${r.guest.kernel}), ${w.vcpus} vCPUs`, '', `Boot and workload: ${wallS.toFixed(0)} s under TCG.${r.guest.phases.some((p) => p.warnings.length) ? ` Guest warnings: ${r.guest.phases.filter((p) => p.warnings.length).map((p) => `${p.name}: ${p.warnings.length} x ${p.warnings[0] as string}`).join('; ')}.` : ''} Model knobs: ${r.knobs.map((k) => `${k.knob}=${String(k.value)}`).join(', ')}.`, ''];
  lines.push('| phase | CPUs | metric | class | kernel | per op | sim | per op | ratio | verdict |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const c of r.comparison) {
    for (const x of c.rows) {
      if (x.kernel === 0 && x.sim === 0) continue;
      lines.push(`| ${c.phase} | ${c.classes.map((cl, i) => `${i}:${cl}`).join(' ')} | ${x.metric} | ${x.cls} (${x.cpus}) | ${x.kernel} | ${fmt(x.kernel / c.operations)} | ${x.sim} | ${fmt(x.sim / c.operations)} | ${x.ratio === null ? '–' : x.ratio.toFixed(2)} | ${x.verdict}: ${x.why.replace(/\|/g, '/')} |`);
    }
  }
  const limits = r.comparison.flatMap((c) => c.limits.map((l) => `${c.phase}: ${l.text}`));
  if (limits.length) lines.push('', 'Limits of the scenarios:', '', ...[...new Set(limits)].map((l) => `- ${l}`));
  lines.push('');
  return lines;
}

/** The numbers the closing note quotes, per run. */
function keyNumbers(r: KernelRunResult): Record<string, string> {
  const ph = (n: string) => r.guest.phases.find((p) => p.name === n);
  const ops = (n: string) => r.workload.phases.find((p) => p.name === n)?.count ?? 1;
  const sum = (v: readonly number[] | undefined) => (v ?? []).reduce((a, b) => a + b, 0);
  const m = ph('munmap');
  const ca = ph('collapse-alone');
  const all = ph('munmap-all');
  const hu = ph('hugetlb-fork');
  const lazyCpu = r.workload.vcpus > 2 ? 2 : -1;
  return {
    'TLB per munmap, spinning CPU': fmt((m?.irq.TLB?.[1] ?? 0) / ops('munmap')),
    'TLB to the lazy CPU, whole munmap phase': lazyCpu >= 0 ? String(m?.irq.TLB?.[lazyCpu] ?? 0) : '–',
    'TLB per munmap, all CPUs (N-1 spinning)': fmt(sum(all?.irq.TLB) / ops('munmap-all')),
    'CAL per MADV_COLLAPSE, all CPUs': fmt(sum(ca?.irq.CAL) / ops('collapse-alone')),
    'sync IPIs per MADV_COLLAPSE': fmt(sum(ca?.trace?.['func/tlb_remove_table_smp_sync']) / ops('collapse-alone')),
    'sync IPIs per hugetlb child exit': fmt(sum(hu?.trace?.['func/tlb_remove_table_smp_sync']) / ops('hugetlb-fork')),
    'rows: agree / background / unmodelled / coalesced / limit / UNEXPLAINED': ['agrees', 'background', 'unmodelled', 'coalesced', 'limit', 'UNEXPLAINED'].map((v) => r.comparison.reduce((a, c) => a + c.rows.filter((x) => x.verdict === v && (x.kernel > 0 || x.sim > 0)).length, 0)).join(' / '),
  };
}

async function main(): Promise<void> {
  const qemu = requireQemu();
  const kernels = KERNELS.filter((k) => !arg('kernels') || (arg('kernels') as string[]).includes(k.id));
  const vcpus = VCPUS.filter((n) => !arg('vcpus') || (arg('vcpus') as string[]).includes(String(n)));
  const sections: string[] = [];
  const summary: Array<{ run: string; nums: Record<string, string> }> = [];
  const t0 = Date.now();
  for (const k of kernels) {
    for (const n of vcpus) {
      const name = `matrix-${k.id.replace(/\./g, '_')}-${n}`;
      const w = matrixWorkload(k.pkg, n, name);
      const status = (s: string): void => {
        process.stderr.write(`[${name}] ${s}\n`);
      };
      const img = resolveKernel(w, status);
      const t = Date.now();
      const dir = join('out', 'validation-kernel', `${k.id}-${n}`);
      const log = join(dir, 'serial.log');
      const reuse = process.argv.includes('--reuse') && existsSync(log);
      const b = reuse ? { serial: readFileSync(log, 'latin1'), wallS: (JSON.parse(readFileSync(join(dir, 'kernel-run.json'), 'utf8')) as KernelRunResult).bootWallS ?? 0 } : await bootWorkload(w, img, status);
      const r = analyse(w, img, b.serial, b.wallS, { onStatus: status });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'kernel-run.json'), `${JSON.stringify(r, null, 2)}\n`);
      if (!reuse) writeFileSync(log, b.serial);
      sections.push(...runSection(r, reuse ? b.wallS : (Date.now() - t) / 1000));
      summary.push({ run: `${k.id}, ${n} vCPUs`, nums: keyNumbers(r) });
    }
  }
  const keys = Object.keys(summary[0]?.nums ?? {});
  const gcc = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const doc = [
    '# The model against real kernels (generated)',
    '',
    `Generated by \`npm run validate:kernel\` (scripts/validate-kernel.ts)${process.argv.includes('--reuse') ? ' with --reuse: the guests\' serial logs recorded by earlier runs of the script (out/validation-kernel/*/serial.log; each run\'s boot time below) analysed again' : ` in ${((Date.now() - t0) / 60000).toFixed(1)} min`}: ${qemu}, TCG (no KVM), guest workload built with ${gcc}. Each run boots the kernel package with the matrix workload (scripts/validate-kernel.ts \`matrixWorkload()\`), reads /proc/interrupts and tracefs in the guest before and after each phase, and simulates the same phases with the model configured for that kernel (src/kernel-run/scenario.ts). docs/kernel-run.md explains the columns, the CPU classes and the verdicts; its "Findings" section reads these tables.`,
    '',
    'Classes: `op` runs the operation, `spin` a thread of the same process in user mode, `lazy` a thread of the same process blocked (its CPU idles, lazy in the mm), `child` the CPU the forked children run on, `idle` nothing of the workload. Metrics: `TLB` = /proc/interrupts TLB; `CAL-TLB` = CAL minus TLB (on x86 a shootdown is also a function-call interrupt; the model counts it once, as TLB); `sync` = `tlb_remove_table_smp_sync()` run on the CPU (function tracer) against the model\'s CAL. A row differs when kernel and model differ by more than 10%; its verdict says why: `background` (the idle guest\'s own rate, from the baseline phase), `unmodelled` (function-call IPIs the model does not have, counted by the function tracer: remote wakeups, idle load-balance kicks, irq_work queued from another CPU, text patching, expedited RCU), `limit` (a stated limit of the scenario), or `UNEXPLAINED`. Rows where both are 0 are left out.',
    '',
    '## Summary',
    '',
    `| run | ${keys.join(' | ')} |`,
    `|---|${keys.map(() => '---').join('|')}|`,
    ...summary.map((s) => `| ${s.run} | ${keys.map((k) => s.nums[k]).join(' | ')} |`),
    '',
    '## Runs',
    '',
    ...sections,
  ].join('\n');
  writeFileSync('docs/validation-kernel.md', `${doc.trimEnd()}\n`);
  process.stderr.write(`wrote docs/validation-kernel.md (${summary.length} runs)\n`);
}

await main();
