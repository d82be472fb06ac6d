/**
 * Writes scenarios/check/munmap-vs-gup-fast/*.yaml: munmap vs GUP-fast for every strategy preset
 * on every architecture, with the table batch allocation succeeding and failing. Each file's
 * header states the expected verdicts and why; `ptlab check --catalog` verifies them.
 *
 *   npx tsx scripts/gen-munmap-matrix.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';

type Arch = 'x86' | 'x86-invlpgb' | 'x86-kvm' | 'arm64';
type Preset = 'broadcast-ipi' | 'sync-rcu-v1' | 'sync-rcu' | 'skip-redundant-ipi' | 'no-sync';
type Batch = 'succeeds' | 'fails';

const ARCHES: Arch[] = ['x86', 'x86-invlpgb', 'x86-kvm', 'arm64'];
const PRESETS: Preset[] = ['broadcast-ipi', 'sync-rcu-v1', 'sync-rcu', 'skip-redundant-ipi', 'no-sync'];
const BATCH: Batch[] = ['succeeds', 'fails'];

const FLUSH: Record<Arch, string> = {
  x86: 'the TLB flush IPIs every CPU in mm_cpumask and waits, so it waits for the walker',
  'x86-invlpgb': 'the TLB flush is an INVLPGB broadcast: no CPU is interrupted',
  'x86-kvm': "KVM's PV flush skips the preempted walker vCPU (the host flushes it later): nobody waits for it",
  arm64: 'the TLB flush is a broadcast TLBI: no CPU is interrupted',
};

function verdict(arch: Arch, preset: Preset, batch: Batch): { freed: 'holds' | 'violated'; why: string } {
  if (batch === 'succeeds') {
    return { freed: 'holds', why: 'the table goes into an RCU batch (call_rcu): the grace period waits for the IRQ-off walk' };
  }
  switch (preset) {
    case 'broadcast-ipi':
      return { freed: 'holds', why: 'tlb_remove_table_sync_one() IPIs every CPU and waits until the walker re-enables IRQs' };
    case 'sync-rcu-v1':
    case 'sync-rcu':
      return { freed: 'holds', why: 'synchronize_rcu() waits for the IRQ-off walk (an RCU reader)' };
    case 'skip-redundant-ipi':
      return arch === 'x86'
        ? { freed: 'holds', why: `the sync is skipped, but ${FLUSH.x86}` }
        : { freed: 'holds', why: 'tlb_table_flush_implies_ipi_broadcast() is false here, so synchronize_rcu() runs' };
    case 'no-sync':
      return arch === 'x86'
        ? { freed: 'holds', why: `nothing syncs, but ${FLUSH.x86}: the flush is the sync` }
        : { freed: 'violated', why: `nothing syncs and ${FLUSH[arch]}` };
  }
}

mkdirSync('scenarios/check/munmap-vs-gup-fast', { recursive: true });
let n = 0;
for (const arch of ARCHES) {
  for (const preset of PRESETS) {
    for (const batch of BATCH) {
      const v = verdict(arch, preset, batch);
      const name = `munmap-vs-gup-fast+${preset}+${arch}+batch-${batch}`;
      const kvm = arch === 'x86-kvm';
      const lines = [
        `# ${name}`,
        '#',
        `# CPU0 munmaps the heap VMA of mm A, freeing its PTE table; CPU1 runs GUP-fast on that range;`,
        `# CPU2 idles lazily on A. Strategy ${preset}, arch ${arch}, GFP_NOWAIT batch allocation ${batch}.`,
        ...(kvm ? ['# The host may preempt the walker vCPU (CPU1) at any point.'] : []),
        ...(arch === 'x86-invlpgb'
          ? [
              '# A already has a global ASID (global_asid: true: it was active on 4+ CPUs before, and',
              "# consider_global_asid() gave it one). A new mm on these 3 CPUs would keep the IPI path",
              '# (history/invlpgb-ipi-path-without-rcu-table-free.yaml).',
            ]
          : []),
        '#',
        `# Expected: no-walk-of-freed-table ${v.freed}: ${v.why}.`,
        '# no-stale-walk-cache holds: every flush with freed_tables reaches every CPU that cached the table.',
        `name: ${name}`,
        'expect:',
        `  no-walk-of-freed-table: ${v.freed}`,
        '  no-stale-walk-cache: holds',
        '  no-sleep-in-atomic: holds',
        '  no-ipi-wait-with-irqs-off: holds',
        '  deadlock: no',
        `machine: { arch: ${arch}, cpus: 3 }`,
        `config: { preset: ${preset}, batch_alloc: ${batch} }`,
        'mm:',
        '  A:',
        ...(arch === 'x86-invlpgb' ? ['    global_asid: true'] : []),
        '    vmas:',
        '      - { name: heap, start: 0, end: 1 }',
        '      - { name: stack, start: 1, end: 2 }',
        'cpus:',
        '  - { mm: A, run: [ { munmap: heap } ] }',
        `  - { mm: A, run: [ { gup_fast: { slot: 0 } } ]${kvm ? ', vcpu_preemptible: true' : ''} }`,
        '  - { mm: A, lazy: true }',
        'check:',
        '  invariants: [no-walk-of-freed-table, no-stale-walk-cache, no-sleep-in-atomic, no-ipi-wait-with-irqs-off]',
        '',
      ];
      writeFileSync(`scenarios/check/munmap-vs-gup-fast/${preset}+${arch}+batch-${batch}.yaml`, lines.join('\n'));
      n++;
    }
  }
}
console.log(`wrote ${n} scenarios`);
