/**
 * The usable leaf TLB entries that `data_page_free` and `zap_return` events carry (StaleLeaf,
 * mm/page_alloc.ts usableLeafEntries()), as the two leaf-entry invariants report them.
 */
interface Leaf {
  readonly cpu: number;
  readonly path: string;
  readonly page: string;
}

/** The event's stale entries: null when there are none, else where they are and who holds them. */
export function staleLeaves(stale: unknown): { readonly where: string; readonly holders: string[] } | null {
  const leaves = stale as readonly Leaf[];
  if (leaves.length === 0) return null;
  return {
    where: leaves.map((s) => `CPU${s.cpu} (${s.page} at ${s.path})`).join(', '),
    holders: [...new Set(leaves.map((s) => `CPU${s.cpu}`))],
  };
}
