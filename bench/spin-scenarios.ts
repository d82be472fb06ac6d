/**
 * ptlab's scenarios equivalent to the Promela anchor ../shared/anchors/spin/ptfree.pml (issue
 * #13): one updater CPU frees K = 2 PTE tables in sequence while N walker CPUs each run W
 * GUP-fast walks on the same mm. Used by bench/spin.ts (every N and W), by
 * test/bench/spin-scenarios.test.ts, and to write the small instances in scenarios/check/spin/.
 */

/** A row of run-bounded.sh: STRATEGY x FLUSH and Spin's expected verdict. */
export interface SpinRow {
  readonly id: string;
  readonly strategy: 'S_IPI' | 'S_RCU' | 'S_NONE' | 'S_SKIP';
  readonly flush: 'F_HWBCAST' | 'F_IPI' | 'F_PV';
  readonly expected: 'safe' | 'violation';
  /** ptlab's arch for the flush: a hardware broadcast, x86's native IPI flush, KVM's PV flush. */
  readonly arch: 'arm64' | 'x86' | 'x86-kvm';
  /** ptlab's strategy preset and extra knobs for the synchronisation. */
  readonly preset: string;
  readonly knobs: Readonly<Record<string, string>>;
  /** Why the row is what it is, for the scenario header. */
  readonly why: string;
}

export const SPIN_ROWS: readonly SpinRow[] = [
  {
    id: 'a', strategy: 'S_IPI', flush: 'F_HWBCAST', expected: 'safe', arch: 'arm64', preset: 'broadcast-ipi', knobs: {},
    why: 'tlb_remove_table_sync_one() IPIs every CPU and waits; a walker takes the IPI only after its IRQ-off walk',
  },
  {
    id: 'b', strategy: 'S_RCU', flush: 'F_HWBCAST', expected: 'safe', arch: 'arm64', preset: 'sync-rcu', knobs: {},
    why: "tlb_remove_table_sync_rcu()'s grace period waits for every IRQ-off walk",
  },
  {
    id: 'c', strategy: 'S_NONE', flush: 'F_HWBCAST', expected: 'violation', arch: 'arm64', preset: 'no-sync', knobs: {},
    why: "the table is freed right after arm64's broadcast TLBI, which interrupts nobody, while a walker still reads it",
  },
  {
    id: 'd-ipi', strategy: 'S_SKIP', flush: 'F_IPI', expected: 'safe', arch: 'x86', preset: 'skip-redundant-ipi', knobs: {},
    why: "v8's skip is right here: native_flush_tlb_multi() IPIs every walker CPU and waits for the handlers, which run only after the IRQ-off walks",
  },
  {
    id: 'd-hw', strategy: 'S_SKIP', flush: 'F_HWBCAST', expected: 'violation', arch: 'arm64', preset: 'skip-redundant-ipi',
    knobs: { implies_ipi_broadcast: 'always' },
    why: "v8's skip forced (implies_ipi_broadcast: always) after arm64's broadcast TLBI, which interrupts nobody",
  },
  {
    id: 'd-pv', strategy: 'S_SKIP', flush: 'F_PV', expected: 'violation', arch: 'x86-kvm', preset: 'skip-redundant-ipi',
    knobs: { implies_ipi_broadcast: 'v4-kvm-claims' },
    why: "v8's skip claimed for KVM's PV flush (implies_ipi_broadcast: v4-kvm-claims, v4 3/3, rejected), which sets KVM_VCPU_FLUSH_TLB for a preempted walker vCPU instead of IPIing it",
  },
];

export function spinRow(id: string): SpinRow {
  const row = SPIN_ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`unknown Spin row '${id}' (rows: ${SPIN_ROWS.map((r) => r.id).join(', ')})`);
  return row;
}

/**
 * The instance of each row in scenarios/check/spin/ (bench/spin-catalog.ts writes them): N=2
 * walkers, W=1, except d-pv at N=1, whose N=2 space is millions of executions (about 2,000 at
 * N=1) and would take minutes in the catalog test.
 */
export function spinCatalogSize(row: SpinRow): readonly [n: number, w: number] {
  return row.id === 'd-pv' ? [1, 1] : [2, 1];
}

/** Its file name under scenarios/check/spin/. */
export function spinCatalogFile(row: SpinRow): string {
  const [n, w] = spinCatalogSize(row);
  return `${row.id}+n${n}+w${w}.yaml`;
}

/** Text as '# ' comment lines of at most 100 columns. */
function comment(text: string): string[] {
  const out: string[] = [];
  let line = '#';
  for (const word of text.split(' ')) {
    if (line.length + 1 + word.length > 100 && line !== '#') {
      out.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}

/** The scenario's name: spin+<row>+n<N>+w<W>. */
export function spinScenarioName(row: SpinRow, n: number, w: number): string {
  return `spin+${row.id}+n${n}+w${w}`;
}

export interface SpinScenarioOptions {
  /**
   * 'both' (the default): no-walk-of-freed-table and no-walk-of-reused-table, the two halves of
   * Promela's one assertion. 'freed': no-walk-of-freed-table alone. ptlab stops at the answer
   * only once every checked invariant has a counterexample, Spin at its first assertion failure:
   * with 'freed' a violation row stops as Spin does (bench/spin.ts --invariants freed).
   */
  readonly invariants?: 'both' | 'freed';
}

/**
 * The scenario YAML for row `row` with `n` walker CPUs doing `w` walks each. CPU0 is the
 * updater (not a walker CPU, as the Promela Unmapper); CPUs 1..n walk slot 0.
 */
export function spinScenarioYaml(row: SpinRow, n: number, w: number, opts: SpinScenarioOptions = {}): string {
  const both = (opts.invariants ?? 'both') === 'both';
  if (!Number.isInteger(n) || n < 1) throw new Error(`N must be a positive integer, got ${n}`);
  if (!Number.isInteger(w) || w < 1) throw new Error(`W must be a positive integer, got ${w}`);
  const verdict = row.expected === 'safe' ? 'holds' : 'violated';
  const knobs = Object.entries(row.knobs).map(([k, v]) => `, ${k}: ${v}`).join('');
  const walks = Array.from({ length: w }, () => '{ gup_fast: { slot: 0 } }').join(', ');
  const pv = row.arch === 'x86-kvm' ? ', vcpu_preemptible: true' : '';
  const walker = `  - { mm: A, run: [ ${walks} ]${pv} }`;
  const lines = [
    `# spin/${row.id}+n${n}+w${w}`,
    '#',
    `# Row ${row.id} of the Promela anchor (../shared/anchors/spin/ptfree.pml, run-bounded.sh):`,
    `# STRATEGY=${row.strategy} FLUSH=${row.flush}, N=${n} walker CPU${n > 1 ? 's' : ''}, W=${w} walk${w > 1 ? 's' : ''} per walker, K=2.`,
    '# Generated by bench/spin-scenarios.ts: bench/spin.ts runs every N and W against Spin,',
    '# bench/spin-catalog.ts writes one small instance per row into scenarios/check/spin/.',
    '#',
    '# CPU0 is the Unmapper: it frees two PTE tables in sequence, reusing the frame: munmap heap',
    '# (A.pte0 freed), mmap heap, fault slot 0 (pte_alloc_one() returns A.pte0 again, generation 2,',
    '# linked in PMD[0]), munmap heap (freed again). The GFP_NOWAIT batch allocation fails, so',
    '# every free goes through the single-table fallback, where the strategies differ.',
    ...comment(
      `${n === 1 ? 'CPU1 runs' : `CPUs 1..${n} each run`} ${w} GUP-fast walk${w > 1 ? 's' : ''} of slot 0 with IRQs off` +
        (pv ? ', on a vCPU the host may preempt once (PREEMPTS=1).' : '.') +
        ' Promela asserts that a walker reads inside a table only while it is still the same,' +
        (both
          ? ' still-allocated table: no-walk-of-freed-table and no-walk-of-reused-table together.'
          : ' still-allocated table; this variant checks no-walk-of-freed-table alone.'),
    ),
    '#',
    ...comment(`Expected: ${row.expected} (Spin's verdict): ${row.why}.`),
    `name: ${spinScenarioName(row, n, w)}`,
    'expect:',
    `  no-walk-of-freed-table: ${verdict}`,
    ...(both ? [`  no-walk-of-reused-table: ${verdict}`] : []),
    '  deadlock: no',
    `machine: { arch: ${row.arch}, cpus: ${n + 1} }`,
    `config: { preset: ${row.preset}${knobs}, batch_alloc: fails }`,
    'mm:',
    '  A:',
    '    vmas:',
    '      - { name: heap, start: 0, end: 1 }',
    '      - { name: stack, start: 1, end: 2 }',
    'cpus:',
    '  - { mm: A, run: [ { munmap: heap }, { mmap: heap }, { fault: { slot: 0 } }, { munmap: heap } ] }',
    ...Array.from({ length: n }, () => walker),
    'check:',
    `  invariants: [no-walk-of-freed-table${both ? ', no-walk-of-reused-table' : ''}]`,
    '',
  ];
  return lines.join('\n');
}
