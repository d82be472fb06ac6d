/**
 * arch/arm64/include/asm/tlb.h and tlbflush.h: broadcast TLB invalidation, no IPIs.
 *
 * tlb_flush(): last_level = !(freed_tables || unshared_tables) (unshared_tables since
 * c2ff4764e03e). With fullmm, flush the whole ASID only if tables were freed (ASIDs are not
 * reused without a full invalidate), else nothing. Otherwise __flush_tlb_range(): TLBI VALE1IS
 * (leaf entries only) when last_level, TLBI VAE1IS (leaf and walk-cache entries) otherwise,
 * broadcast to every CPU in the inner-shareable domain, then DSB ISH. No CPU is interrupted, so
 * no IRQ-off walker is waited for: arm64 relies on RCU table freeing.
 *
 * tlb_table_flush_implies_ipi_broadcast() stays false (generic default).
 */
import { access, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import type { mmu_gather } from '../../include/asm-generic/tlb.js';
import { cpuLoc, type TlbEntry } from '../../state.js';
import { tlb_without_mm } from '../x86/mm/tlb.js';

function* tlbi_broadcast(cur: Ctx, mm: string, leafOnly: boolean, fn: string, what: string): Proc<void> {
  const cpus = Array.from({ length: cur.k.nr_cpus }, (_, i) => i);
  yield* access({
    fn,
    desc: `${what} for ${mm} (broadcast), DSB ISH`,
    cost: { cls: 'tlbi_broadcast' },
    reads: cpus.map(cpuLoc.tlb),
    writes: cpus.map(cpuLoc.tlb),
    effect: (vals) => ({
      writes: cpus.map((c, i) => [cpuLoc.tlb(c), tlb_without_mm(vals[i] as readonly TlbEntry[], mm, leafOnly) as unknown as Value] as const),
      events: [{ type: 'tlb_flush', cpu: cur.cpu, mm, how: leafOnly ? 'tlbi-leaf' : 'tlbi-walk' }],
    }),
  });
}

export function* arm64_tlb_flush(cur: Ctx, tlb: mmu_gather): Proc<void> {
  // c2ff4764e03e added `|| unshared_tables`; arm64_tlb_flush_unshared_tables = false is the form before.
  const unshared = cur.k.config.arm64_tlb_flush_unshared_tables && tlb.unshared_tables;
  const last_level = !(tlb.freed_tables || unshared);
  if (tlb.fullmm) {
    if (!last_level) yield* tlbi_broadcast(cur, tlb.mm, false, 'flush_tlb_mm', 'TLBI ASIDE1IS');
    return;
  }
  yield* tlbi_broadcast(cur, tlb.mm, last_level, '__flush_tlb_range', last_level ? 'TLBI VALE1IS (leaf only)' : 'TLBI VAE1IS (leaf + walk cache)');
}
