/**
 * A reviewer's idea, tried without touching ptlab: instead of an empty IPI to every other online
 * CPU, tlb_remove_table_sync_one() IPIs only the CPUs in mm_cpumask(mm), plus every CPU in lazy
 * TLB mode, and waits for them. GUP-fast runs with IRQs off on a CPU that runs a task of the mm, so
 * where the arch keeps mm_cpumask that CPU is in it (x86 sets the bit in switch_mm_irqs_off());
 * arm64 keeps no mm_cpumask (TLBI is broadcast in hardware), so there the mask is empty.
 *
 *   ptlab check scenarios/check/fallback/x86-gup-fast-vs-fallback-free.yaml --strategy examples/strategies/mm-cpumask-lazy.ts
 *
 * docs/strategies.md has the API and this strategy's verdicts on each arch.
 */
import type { HookApi, Proc, StrategyFile } from 'ptlab';

/** The CPUs to IPI: mm_cpumask(mm) and the lazy CPUs, this one excepted. */
function* targets(api: HookApi, mm: string): Proc<number[]> {
  const mask = new Set(yield* api.mm_cpumask(mm));
  for (const cpu of api.cpu_online_mask()) {
    if (cpu === api.cpu || mask.has(cpu)) continue;
    if (yield* api.is_lazy(cpu)) mask.add(cpu);
  }
  mask.delete(api.cpu);
  return [...mask].sort((a, b) => a - b);
}

const strategy: StrategyFile = {
  id: 'mm-cpumask-lazy',
  title: 'sync IPIs to mm_cpumask(mm) + lazy CPUs only',
  description:
    'tlb_remove_table_sync_one() sends its empty IPI to the CPUs of mm_cpumask(mm) and the CPUs in lazy TLB mode, ' +
    'instead of every other online CPU; a caller without an mm (none in this model) keeps the broadcast.',
  kernel: 'idea, not posted: on top of the merged fallback (tlb_remove_table_sync_one() in __tlb_remove_table_one(), before 1fb3d8c20bfa)',
  knobs: { pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: false },
  hooks: {
    *tlb_remove_table_sync_one(api, ctx) {
      if (ctx.mm === null) return yield* ctx.default();
      yield* api.smp_call_function_many(yield* targets(api, ctx.mm));
    },
  },
};
export default strategy;
