/** The command-line options the benchmark scripts share. */

/** The value after `--name` on the command line, or undefined. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** "1..5", "1,2,4" or "3". */
export function intList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`not a list of integers: '${text}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let k = lo; k <= hi; k++) out.push(k);
  }
  return out;
}
