/**
 * The scaling scenario the checker benchmarks share: one x86 CPU munmaps with a broadcast IPI
 * while `n` CPUs each run one GUP-fast walk (18^n executions with the four invariants).
 */
export function walkersYaml(n: number, invariants: readonly string[]): string {
  const cpus = ['  - { mm: A, run: [ { munmap: heap } ] }'];
  for (let i = 0; i < n; i++) cpus.push('  - { mm: A, run: [ { gup_fast: { slot: 0 } } ] }');
  return `name: walkers-${n}
machine: { arch: x86, cpus: ${n + 1} }
config: { preset: broadcast-ipi, batch_alloc: fails }
mm:
  A:
    vmas:
      - { name: heap, start: 0, end: 1 }
      - { name: stack, start: 1, end: 2 }
cpus:
${cpus.join('\n')}
check:
  invariants: [${invariants.join(', ')}]
`;
}
