/**
 * Writes the twins of scenarios/check/lock-order/: each scenario there exists twice, identical but
 * for the order of the first two entries of its cpus: list (and its name, its first header line
 * and the paragraph that says which CPU comes first). An exhaustive check must give both files
 * the same verdicts; a checker whose exploration depends on the order in which threads first
 * take a lock (a DPOR that never reverses lock acquisitions) can tell them apart.
 *
 * The file for `first` (`<base>+cpu0-<first>.yaml`) is the one edited by hand; this script
 * rewrites its "Listed first" paragraph and writes `<base>+cpu0-<second>.yaml` from it.
 * test/catalog/lock-order.test.ts checks that every twin is up to date.
 *
 *   npx tsx scripts/gen-lock-order-twins.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const LOCK_ORDER_DIR = 'scenarios/check/lock-order';

export interface Twin {
  /** The file name without `+cpu0-<who>.yaml`. */
  readonly base: string;
  /** Tags of the two CPUs whose order is swapped, as listed in the hand-written file. */
  readonly first: string;
  readonly second: string;
  /** What runs on each, for the header. */
  readonly roles: Readonly<Record<string, string>>;
}

export const TWINS: readonly Twin[] = [
  {
    base: 'munmap-vs-fault+no-sync+arm64',
    first: 'munmap',
    second: 'fault',
    roles: { munmap: 'the mmap/munmap task', fault: 'the faulting task' },
  },
  {
    base: 'munmap-vs-fault+sync-rcu+arm64',
    first: 'munmap',
    second: 'fault',
    roles: { munmap: 'the mmap/munmap task', fault: 'the faulting task' },
  },
  {
    base: 'collapse-vs-madvise+flush-skips-lazy+x86',
    first: 'collapse',
    second: 'madvise',
    roles: { collapse: 'khugepaged', madvise: 'the madvise task' },
  },
  {
    base: 'collapse-vs-madvise+arm64',
    first: 'collapse',
    second: 'madvise',
    roles: { collapse: 'khugepaged', madvise: 'the madvise task' },
  },
];

export function twinFile(t: Twin, who: string): string {
  return `${LOCK_ORDER_DIR}/${t.base}+cpu0-${who}.yaml`;
}

/** Words joined into comment lines of at most `width` columns. */
function wrap(text: string, width = 100): string[] {
  const out: string[] = [];
  let line = '#';
  for (const w of text.split(' ')) {
    if (line.length > 1 && line.length + 1 + w.length > width) {
      out.push(line);
      line = '#';
    }
    line += ` ${w}`;
  }
  out.push(line);
  return out;
}

/** The "Listed first" paragraph of the file that lists `who` first. */
function listedFirst(t: Twin, who: string): string[] {
  const other = who === t.first ? t.second : t.first;
  return wrap(
    `Listed first: ${t.roles[who]} (CPU0), then ${t.roles[other]} (CPU1). Its twin, ` +
      `lock-order/${t.base}+cpu0-${other}.yaml, is identical but for that order: an exhaustive ` +
      'check must give both the same verdicts (--reduction none does).',
  );
}

/** The text of the file that lists `who` first, from the hand-written one. */
export function twinText(t: Twin, source: string, who: string): string {
  const lines = source.split('\n');
  const stem = (w: string): string => `${t.base}+cpu0-${w}`;
  // First header line: '# lock-order/<stem>: ...'
  const head = `# lock-order/${stem(t.first)}:`;
  if (!lines[0]?.startsWith(head)) throw new Error(`${twinFile(t, t.first)}: the first line must start with '${head}'`);
  lines[0] = `# lock-order/${stem(who)}:${lines[0].slice(head.length)}`;
  // The "Listed first" paragraph, up to the next empty comment line.
  const from = lines.findIndex((l) => l.startsWith('# Listed first:'));
  if (from < 0) throw new Error(`${twinFile(t, t.first)}: no '# Listed first:' paragraph`);
  let to = from;
  while (to < lines.length && lines[to] !== '#') to++;
  lines.splice(from, to - from, ...listedFirst(t, who));
  // name:
  const n = lines.findIndex((l) => l.startsWith('name: '));
  if (n < 0 || lines[n] !== `name: lock-order+${stem(t.first)}`) throw new Error(`${twinFile(t, t.first)}: name must be lock-order+${stem(t.first)}`);
  lines[n] = `name: lock-order+${stem(who)}`;
  // cpus: the first two entries, one line each, swapped for the twin.
  if (who !== t.first) {
    const c = lines.indexOf('cpus:');
    const a = lines[c + 1];
    const b = lines[c + 2];
    if (c < 0 || !a?.startsWith('  - {') || !b?.startsWith('  - {')) throw new Error(`${twinFile(t, t.first)}: cpus: must list one CPU per line`);
    lines[c + 1] = b;
    lines[c + 2] = a;
  }
  return lines.join('\n');
}

function main(): void {
  for (const t of TWINS) {
    const source = readFileSync(twinFile(t, t.first), 'utf8');
    for (const who of [t.first, t.second]) writeFileSync(twinFile(t, who), twinText(t, source, who));
  }
}

if (process.argv[1]?.endsWith('gen-lock-order-twins.ts')) main();
