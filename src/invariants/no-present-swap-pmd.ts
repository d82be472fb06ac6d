/**
 * split and migration entries (issue #11): a lockless page-table walker never finds pmd_present()
 * true on a swap (migration) PMD. e783331c7720 ("arm64/mm: pmd_mkinvalid() must handle swap pmds")
 * states the rule, "We must not convert not-present to present-invalid", and 3a5a8d343e1c ("mm: fix
 * race between __split_huge_pmd_locked() and GUP-fast") the consequence: a walker that sees such
 * an entry present starts "interpreting the fields (e.g. pmd_pfn()) as if it were present". The
 * model's GUP-fast reports each such read (`swap_pmd_present`, mm/gup.ts gup_fast_swap_pmd()).
 */
import { eventProperty } from '../core/index.js';

export const noPresentSwapPmd = eventProperty(
  'no-present-swap-pmd',
  'Lockless walkers never see a migration (swap) PMD as present',
  'A lockless walker read a PMD migration entry for which pmd_present() is true: pmd_mkinvalid() made a swap ' +
    'entry present-invalid (arm64 before e783331c7720, applied by __split_huge_pmd_locked() before 3a5a8d343e1c), ' +
    'and the walker takes its swap fields for a pfn.',
  (ev) => {
    if (ev.type !== 'swap_pmd_present') return null;
    return {
      message: `CPU${ev.cpu} ${ev.fn} read ${ev.mm}'s migration entry of ${ev.migration} as a present leaf PMD`,
      details: { cpu: ev.cpu, mm: ev.mm, migration: ev.migration },
    };
  },
);
