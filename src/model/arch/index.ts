/**
 * The architecture backends, selected by id: each defines tlb_flush(), whether the flush implies
 * an IPI broadcast, and tlb_needs_table_invalidate().
 */
import type { ArchId } from '../config.js';
import type { ArchOps } from '../kernel.js';
import { arm64_tlb_flush } from './arm64/tlb.js';
import { kvm_flush_tlb_multi } from './x86/kernel/kvm.js';
import { native_flush_tlb_multi, x86_tlb_flush, x86_tlb_table_flush_implies_ipi_broadcast } from './x86/mm/tlb.js';
import { hyperv_flush_tlb_multi } from './x86/hyperv/mmu.js';
import { xen_flush_tlb_multi } from './x86/xen/mmu_pv.js';

const x86Native: ArchOps = {
  id: 'x86',
  tlb_flush: x86_tlb_flush(native_flush_tlb_multi),
  tlb_table_flush_implies_ipi_broadcast: x86_tlb_table_flush_implies_ipi_broadcast,
  tlb_needs_table_invalidate: true,
};

const ARCHES: { readonly [A in ArchId]: ArchOps } = {
  x86: x86Native,
  'x86-invlpgb': { ...x86Native, id: 'x86-invlpgb' },
  'x86-kvm': { ...x86Native, id: 'x86-kvm', tlb_flush: x86_tlb_flush(kvm_flush_tlb_multi) },
  arm64: {
    id: 'arm64',
    tlb_flush: arm64_tlb_flush,
    tlb_table_flush_implies_ipi_broadcast: () => false,
    tlb_needs_table_invalidate: true,
  },
  // x86 defaults and guests (issue #11)
  'x86-kvm-nopv': { ...x86Native, id: 'x86-kvm-nopv' },
  'x86-hyperv': { ...x86Native, id: 'x86-hyperv', tlb_flush: x86_tlb_flush(hyperv_flush_tlb_multi) },
  'x86-xen-pv': { ...x86Native, id: 'x86-xen-pv', tlb_flush: x86_tlb_flush(xen_flush_tlb_multi) },
};

export function archOps(id: ArchId): ArchOps {
  return ARCHES[id];
}
