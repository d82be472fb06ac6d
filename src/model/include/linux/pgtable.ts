/**
 * include/linux/pgtable.h and the arch pgtable accessors, over the model's geometry.
 *
 * Geometry (docs/model.md): each mm has a PGD whose entry 0 points to a PUD table whose entry 0
 * points to a PMD table; PMD entry `slot` points to the PTE table of that 2 MiB slot, whose
 * entries map data pages. P4D is folded into the PGD, as on 4-level x86 and arm64.
 *
 * An entry holds a pointer `{ table, gen }` to the page-table page it links and that page's
 * generation at link time. The generation is ghost state for the properties; the hardware value
 * (pmd_val()) is the page alone, so re-checks compare pages, as the kernel's do.
 */
import { access, type Proc, type Value } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { pageLoc, ptLoc, type Level, type PageState, type PtEntry } from '../../state.js';

export const pgdTable = (mm: string): string => `${mm}.pgd`;
export const pudTable = (mm: string): string => `${mm}.pud`;
export const pmdTable = (mm: string): string => `${mm}.pmd`;
export const pteTable = (mm: string, slot: number): string => `${mm}.pte${slot}`;
export const dataPage = (mm: string, slot: number, i: number): string => `${mm}.p${slot}.${i}`;
/** The THP khugepaged installs for 2 MiB slot `slot` (its head page: the folio), and its subpages. */
export const thpPage = (mm: string, slot: number): string => `${mm}.thp${slot}`;
export const thpSubpage = (mm: string, slot: number, i: number): string => `${mm}.thp${slot}.${i}`;

/** page_folio(): the folio a data page belongs to (a THP subpage's is its head; a small page is its own). */
export function page_folio(page: string): string {
  const m = /^(.+\.thp\d+)\.\d+$/.exec(page);
  return m ? (m[1] as string) : page;
}

/** pmd_val()/pte_val(): what the hardware entry holds (the page), without the ghost generation. */
export function entry_val(e: PtEntry): string | null {
  if (e === null) return null;
  if ('migration' in e) return `swp:${e.migration}${e.invalid ? ':present-invalid' : ''}`;
  return 'table' in e ? e.table : e.pfn;
}

export function describeEntry(e: PtEntry): string {
  if (e === null) return 'none';
  if ('table' in e) return `-> ${e.table} (gen ${e.gen})`;
  if ('migration' in e) return e.invalid ? `migration entry of ${e.migration}, PMD_PRESENT_INVALID set (pmd_present() true)` : `migration entry of ${e.migration}`;
  return e.invalid ? `maps ${e.pfn} (invalidated: being split)` : `maps ${e.pfn}`;
}

/** pmd_same() / pte_same(): the hardware values are equal (the page and the invalid bit; not the ghost generation). */
export function entry_same(a: PtEntry, b: PtEntry): boolean {
  if (a === null || b === null) return a === b;
  if ('table' in a || 'table' in b) return 'table' in a && 'table' in b && a.table === b.table;
  if ('migration' in a || 'migration' in b) return entry_val(a) === entry_val(b);
  return a.pfn === b.pfn && (a.invalid ?? false) === (b.invalid ?? false);
}

// split and migration entries (issue #11)

/**
 * pmd_present(pmd) as the arches compute it from the bits the model's entry stands for: a table
 * or a huge leaf, invalidated or not (x86: _PAGE_PSE stays set; arm64: PMD_PRESENT_INVALID), is
 * present; a migration entry is not, unless arm64's old pmd_mkinvalid() set PMD_PRESENT_INVALID
 * in it (`invalid`, before e783331c7720). x86 pmd_present() tests _PAGE_PRESENT | _PAGE_PROTNONE
 * | _PAGE_PSE, none of which a swap PMD has, and x86's pmd_mkinvalid() only clears bits.
 */
export function pmd_present(e: PtEntry): boolean {
  if (e === null) return false;
  if ('migration' in e) return e.invalid === true;
  return true;
}

/** is_pmd_migration_entry(pmd): a migration swap entry, not present (is_swap_pmd()). */
export function is_pmd_migration_entry(e: PtEntry): e is { readonly migration: string; readonly invalid?: boolean } {
  return e !== null && 'migration' in e && e.invalid !== true;
}

/**
 * The kind of reader, for reports. `fault` is the page-fault path (mm/memory.ts): its reads are
 * lockless too (pmdp_get_lockless(), ptep_get_lockless()), but it holds the mmap_lock, which keeps
 * the tables it walks from being freed; it reports them so that the invariants check that too.
 */
export type WalkerKind = 'gup_fast' | 'hw' | 'rcu_walker' | 'fault';

/**
 * READ_ONCE() of entry `index` of `table` by a lockless walker that reached the table through a
 * pointer of generation `expectGen`. The step also reads the table page's state (ghost) and
 * reports a `walk_read` event, which the use-after-free and reuse properties check.
 */
export function* walker_read_entry(
  cur: Ctx,
  walker: WalkerKind,
  fn: string,
  table: string,
  expectGen: number,
  index: number,
  level: Level,
): Proc<PtEntry> {
  return yield* access<PtEntry>({
    fn,
    desc: `READ_ONCE(${level}[${index}]) in ${table}`,
    cost: { cls: 'pt_read' },
    ordering: 'load',
    reads: [ptLoc(table, index), pageLoc(table)],
    effect: ([e, pg]) => {
      const page = pg as PageState;
      const entry = e as PtEntry;
      return {
        result: entry,
        note: describeEntry(entry),
        events: [{
          type: 'walk_read',
          walker,
          cpu: cur.cpu,
          fn,
          mm: cur.mm,
          table,
          level,
          index,
          expect_gen: expectGen,
          state: page.state,
          gen: page.gen,
          owner: page.owner,
          entry: entry as Value,
        }],
      };
    },
  });
}

/**
 * pXd_clear(): clear entry `index` of `table`, returning what it held (the table token). When the
 * entry linked a lower table, that table is now unhooked: a `pt_unhook` event marks the start of
 * its wait to be freed (the simulator measures that wait).
 */
export function* pxd_clear(cur: Ctx, fn: string, what: string, table: string, index: number): Proc<PtEntry> {
  return yield* access<PtEntry>({
    fn,
    desc: `${what}(${table}[${index}])`,
    cost: { cls: 'pt_write' },
    // pmd_clear()/pud_clear()/p4d_clear() are plain stores (WRITE_ONCE of the entry): under
    // x86-TSO they sit in the store buffer. ptep_get_and_clear() is an xchg: a locked op.
    ordering: what.startsWith('ptep_get_and_clear') ? 'full' : 'store',
    reads: [ptLoc(table, index)],
    writes: [ptLoc(table, index)],
    effect: ([e]) => {
      const entry = e as PtEntry;
      const unhooked = entry !== null && 'table' in entry ? [{ type: 'pt_unhook', cpu: cur.cpu, fn, table: entry.table, gen: entry.gen }] : [];
      return { writes: [[ptLoc(table, index), null]], result: entry, note: `was ${describeEntry(entry)}`, events: unhooked };
    },
  });
}

/** Read an entry under the mmap_lock/PTL (updaters): a plain access with no walker event. */
export function* pxd_read(cur: Ctx, fn: string, table: string, index: number): Proc<PtEntry> {
  void cur;
  return yield* access<PtEntry>({
    fn,
    desc: `read ${table}[${index}]`,
    cost: { cls: 'pt_read' },
    reads: [ptLoc(table, index)],
    effect: ([e]) => ({ result: e as PtEntry, note: describeEntry(e as PtEntry) }),
  });
}

/** set_pXd()/set_pte(): write entry `index` of `table`. Used by `reuse_table`. */
export function* pxd_set(cur: Ctx, fn: string, what: string, table: string, index: number, e: PtEntry): Proc<void> {
  void cur;
  yield* access({
    fn,
    desc: `${what}(${table}[${index}], ${describeEntry(e)})`,
    cost: { cls: 'pt_write' },
    reads: [],
    writes: [ptLoc(table, index)],
    effect: () => ({ writes: [[ptLoc(table, index), e as Value]] }),
  });
}
