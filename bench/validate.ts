/**
 * Validation of the simulator against published figures (docs/validation.md): for each, the
 * published number, the simulated one and their ratio. Runs the compiled code in dist/.
 *
 *   npm run bench:validate
 */
import { readFileSync } from 'node:fs';
import { scenarioFromText } from '../dist/scenarios/resolve.js';
import { simConfigOf, simulateScenario, type SimConfig } from '../dist/simulation/run.js';

function sim(text: string, cfg: Partial<SimConfig> = {}) {
  const s = scenarioFromText(text, 'validation', { purpose: 'sim' });
  return simulateScenario(s, { ...simConfigOf(s), ...cfg });
}

const rows: string[][] = [['figure', 'published', 'simulated', 'ratio', 'source']];
const add = (what: string, published: number, simulated: number, unit: string, source: string): void => {
  rows.push([what, `${published} ${unit}`, `${unit === 'IPIs' ? simulated.toFixed(1) : simulated.toFixed(unit === 'µs' ? 2 : 3)} ${unit}`, published === 0 ? (simulated === 0 ? 'equal' : '-') : (simulated / published).toFixed(2), source]);
};

/** A simulated figure no publication gives (the row says why it is what it is). */
const addUnpublished = (what: string, simulated: string, source: string): void => {
  rows.push([what, '-', simulated, '-', source]);
};

/** CPU0 calls fn in a loop; the other CPUs idle in C0 (the benchmark's guests poll). */
function caller(arch: string, cpus: number, fn: string, preset = 'broadcast-ipi'): string {
  const rest = Array.from({ length: cpus - 1 }, () => '  - { cstate: C0 }').join('\n');
  return `name: caller
machine: { arch: ${arch}, cpus: ${cpus} }
config: { preset: ${preset} }
cpus:
  - { run: [ { call: { fn: ${fn} } } ], repeat: forever }
${rest}
sim:
  duration: 20ms
`;
}

// Curve 1: guest smp_call_function(wait) cost vs number of targets and APIC mode.
const p50 = (r: ReturnType<typeof sim>): number => (r.metrics.operations.call?.p50 ?? 0) / 1000;
add('KVM guest, smp_call_function to 1 vCPU (x2APIC physical)', 2.55, p50(sim(caller('x86-kvm', 2, 'tlb_remove_table_sync_one'))), 'µs', 'commit 4180bf1b655a (costs.md curve 1)');
add('KVM guest, smp_call_function to 79 vCPUs (x2APIC physical)', 198.5, p50(sim(caller('x86-kvm', 80, 'tlb_remove_table_sync_one'))), 'µs', 'commit 4180bf1b655a');
add('KVM guest, smp_call_function to 79 vCPUs (x2APIC cluster: send 1.2 µs/target)', 92.8, p50(sim(caller('x86-kvm', 80, 'tlb_remove_table_sync_one'), { params: { 'ipi.send_per_target': 1200 } })), 'µs', 'commit 4180bf1b655a');

// Grace periods.
add('synchronize_rcu(), HZ=1000 (ms)', 4.0, p50(sim(caller('x86', 8, 'synchronize_rcu', 'sync-rcu'))) / 1000, 'ms', 'Joel Fernandes (costs.md §3)');
// Tree RCU (issue #12): the grace-period length emerges from HZ, the FQS scans and which CPUs take
// the tick. One munmap loop whose fallback calls synchronize_rcu() for each of two tables, on an
// otherwise idle machine (dyntick-idle CPUs are reported by the first FQS scan) and on a busy one
// (every CPU reports from its next tick).
for (const kind of ['idle', 'busy'] as const) {
  const file = readFileSync(new URL(`../scenarios/sim/rcu-gp-${kind}.yaml`, import.meta.url), 'utf8');
  const s = scenarioFromText(file, `rcu-gp-${kind}`, { purpose: 'sim' });
  const r = simulateScenario(s, simConfigOf(s));
  const gp = r.metrics.gracePeriods.duration;
  if (kind === 'idle') add('synchronize_rcu() wait, idle 16-CPU x86, HZ=1000 (ms, p50)', 4.0, (r.metrics.rcu.syncWait?.p50 ?? 0) / 1e6, 'ms', 'Joel Fernandes: mean ≈ 4.0 ms, min 1.16–3.90 (costs.md §3)');
  addUnpublished(`grace-period length, ${kind} 16-CPU x86, HZ=1000 (ms, p50 / max)`, `${((gp?.p50 ?? 0) / 1e6).toFixed(2)} / ${((gp?.max ?? 0) / 1e6).toFixed(2)} ms`, kind === 'idle' ? 'jiffies_till_first_fqs = 3: the first FQS scan reports the idle CPUs' : 'each CPU reports at its next tick (rcu_sched_clock_irq)');
}
{
  const file = readFileSync(new URL('../scenarios/sim/munmap-under-pressure.yaml', import.meta.url), 'utf8');
  for (const preset of ['broadcast-ipi', 'sync-rcu']) {
    const s = scenarioFromText(file, 'munmap-under-pressure', { purpose: 'sim', preset });
    const r = simulateScenario(s, simConfigOf(s));
    addUnpublished(`call_rcu callbacks per grace period, munmap-under-pressure, ${preset}`, (r.metrics.rcu.callbacksPerGp?.avg ?? 0).toFixed(1), 'grace periods run one at a time: callbacks queued meanwhile share the next');
  }
}
add('synchronize_rcu_expedited(), RT kthread (ms)', 0.151, p50(sim(caller('x86', 8, 'synchronize_rcu_expedited', 'sync-rcu'))) / 1000, 'ms', 'Kalesh Singh (costs.md §3)');

// The cpuidle governor (issue #12; src/simulation/cpuidle.ts follows menu.c) against intel_idle's
// skx_cstates[]: the state a CPU woken by a timer at 1 kHz and at 10 kHz chooses, and the wakeup
// latency it then pays (exit latency + IRQ entry/exit 0.8 µs + context switch 2 µs).
for (const [interval, expected, exit] of [['1ms', 'C6', 133], ['100us', 'C1E', 10]] as const) {
  const r = sim(`name: idle-${interval}
machine: { arch: x86, cpus: 2 }
cpus:
  - { run: [ { cyclictest: { interval: ${interval} } } ], repeat: forever }
  - {}
sim:
  duration: 200ms
`);
  const states = r.metrics.cpuidle?.[0]?.states ?? {};
  const entries = Object.values(states).reduce((a, st) => a + st.usage, 0);
  const chosen = states[expected]?.usage ?? 0;
  add(`timer at ${interval === '1ms' ? '1 kHz' : '10 kHz'}: entries into ${expected} (skx_cstates: ${expected === 'C6' ? '1000 µs >= 600 µs target residency' : '100 µs < 600, >= 20 µs'})`, 100, (100 * chosen) / Math.max(1, entries), '%', `menu_select(); ${entries} idle entries in 200 ms`);
  add(`timer at ${interval === '1ms' ? '1 kHz' : '10 kHz'}: wakeup latency (${expected} exit ${exit} µs + 2.8 µs)`, exit + 2.8, (r.metrics.wakeups['0']?.p50 ?? 0) / 1000, 'µs', 'intel_idle skx_cstates exit_latency; cyclictest p50');
}

// Failed-batch table frees: sync-rcu waits one grace period per table; broadcast-ipi IPIs every CPU per table.
function munmapOnce(preset: string, cpus: number): string {
  const idle = Array.from({ length: cpus - 1 }, () => '  - { cstate: C1 }').join('\n');
  return `name: munmap-once
machine: { arch: x86, cpus: ${cpus} }
config: { preset: ${preset}, batch_alloc: may-fail }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 4 }
      - { name: stack, start: 4, end: 5 }
cpus:
  - { mm: A, run: [ { munmap: heap } ] }
${idle}
sim:
  duration: 100ms
  alloc_fail_rate: 1
`;
}
const rcu = sim(munmapOnce('sync-rcu', 112));
add('sync-rcu, munmap of 4 PTE tables, every batch allocation failing (ms)', 16, (rcu.metrics.operations.munmap?.max ?? 0) / 1e6, 'ms', '1 grace period per table (costs.md §5: 513 tables ≈ 2 s)');
add('sync-rcu, IPIs on the 111 bystander CPUs', 0, rcu.metrics.interrupts.slice(1).reduce((a, i) => a + i.CAL + i.TLB, 0), 'IPIs', 'commit 1fb3d8c20bfa: no CPU is disturbed');
const bc = sim(munmapOnce('broadcast-ipi', 112));
add('broadcast-ipi, CAL IPIs per bystander CPU for 4 tables', 4, bc.metrics.interrupts.slice(1).reduce((a, i) => a + i.CAL, 0) / 111, 'IPIs', 'one tlb_remove_table_sync_one() broadcast per table');

// khugepaged collapse on a 64-CPU x86 server (scenarios/sim/khugepaged-collapse.yaml): CAL IPIs per
// collapse, scaled to the cover letter's 20 GiB (10,240 collapses of 2 MiB).
{
  const file = readFileSync(new URL('../scenarios/sim/khugepaged-collapse.yaml', import.meta.url), 'utf8');
  const perCollapse = (preset: string): number => {
    const s = scenarioFromText(file, 'khugepaged-collapse', { purpose: 'sim', preset });
    const r = simulateScenario(s, simConfigOf(s));
    const collapses = r.metrics.operations.collapse?.count ?? 0;
    return collapses ? r.metrics.interrupts.reduce((a, i) => a + i.CAL, 0) / collapses : Number.NaN;
  };
  add('khugepaged, CAL IPIs collapsing 20 GiB on 64 CPUs, before v8', 646_316, perCollapse('merged') * 10_240, 'IPIs', 'v8 cover letter (Andrew Morton\'s quote); 63 per collapse');
  add('khugepaged, CAL IPIs collapsing 20 GiB on 64 CPUs, with v8', 785, perCollapse('v8-skip') * 10_240, 'IPIs', 'v8 cover letter: the sync broadcast is skipped');
}

// hugetlb fork + exit (the Amazon report behind 8ce720d5bd91; scenarios/sim/hugetlb-fork-exit.yaml
// is the long-running form): a 1.2 TB shared mapping is 1,229 PMD tables of 1 GiB on 196 CPUs. The
// model shares 128 tables (a child exit with 1,229 would deliver 240,000 IPIs per strategy run) and
// the per-table figures are scaled by 1,229 / 128: with 1013af4f585f both the broadcasts and their
// time are linear in the number of tables unshared. One child forks (shares every table) and exits
// twice.
{
  const TABLES = 128;
  const REPORT_TABLES = 1229;
  const text = (preset: string): string => `name: hugetlb-fork-exit-once
machine: { arch: x86, cpus: 196 }
config: { preset: ${preset}, batch_alloc: succeeds }
hugetlbfs:
  DB: { tables: ${TABLES}, pages: 1 }
mm:
  P: { vmas: [ { name: text, start: 0, end: 1 } ], hugetlb: { name: sga, file: DB } }
  C: { vmas: [ { name: heap, start: 0, end: 1, mapped: false } ], hugetlb: { name: sga, file: DB, mapped: false } }
cpus:
  - { mm: P, run: [ idle ], cstate: C1 }
  - { mm: C, run: [ { mmap: sga }, exit_mmap ], repeat: 2 }
${Array.from({ length: 194 }, () => '  - { cstate: C1 }').join('\n')}
sim:
  duration: 1s
`;
  const run = (preset: string) => {
    const s = scenarioFromText(text(preset), 'hugetlb-fork-exit-once', { purpose: 'sim' });
    const r = simulateScenario(s, simConfigOf(s));
    const exits = r.metrics.operations.exit_mmap?.count ?? 0;
    const forkExit = (r.metrics.operations.mmap?.avg ?? 0) + (r.metrics.operations.exit_mmap?.avg ?? 0);
    return { perExit: exits ? (r.metrics.smpCalls.tlb_remove_table_smp_sync ?? 0) / exits : Number.NaN, exitMs: (r.metrics.operations.exit_mmap?.avg ?? 0) / 1e6, forkExit };
  };
  const perTable = run('hugetlb-per-table-ipi');
  const batched = run('hugetlb-batched');
  const scale = REPORT_TABLES / TABLES;
  add('hugetlb fork+exit, 1.2 TB shared, 196 CPUs: sync IPI broadcasts per child exit, 1013af4f585f', REPORT_TABLES, perTable.perExit * scale, 'IPIs', `Jann Horn: one broadcast per unshared 1 GiB (${TABLES} tables simulated, ×${scale.toFixed(2)})`);
  // One broadcast per batch, and only when a table became exclusive: here every exit of the only
  // child leaves P alone on the tables (with other children alive it would be none). Not scaled.
  add('hugetlb fork+exit, same, 8ce720d5bd91 (the child is the last other sharer)', 1, batched.perExit, 'IPIs', '8ce720d5bd91: one per batch if a table became exclusive, else none');
  add(`hugetlb fork+exit slowdown, per-table / batched (model: share + exit only, ${TABLES} tables)`, 4, perTable.forkExit / batched.forkExit, '×', `Uschakow (Amazon): ~4x; simulated exit with 1,229 tables: ${(perTable.exitMs * scale).toFixed(1)} ms vs ${(batched.exitMs * scale).toFixed(2)} ms`);
}

const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => (c === 0 || c === 4 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  '));
