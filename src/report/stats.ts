/**
 * Replication statistics for `compare --seeds`: the mean of a measurement over seeds with a 95%
 * confidence interval (Student's t), and Welch's t-test for whether two strategies differ by
 * more than the noise.
 */

/** Two-sided 95% quantiles of Student's t (t_{0.975}) for 1..30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t_{0.975} for `df` degrees of freedom (fractional df, as Welch's gives, round down: conservative). */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return Number.POSITIVE_INFINITY;
  const d = Math.floor(df);
  if (d <= 30) return T975[d - 1] as number;
  if (d <= 40) return 2.021;
  if (d <= 60) return 2.0;
  if (d <= 120) return 1.98;
  return 1.96;
}

export interface Summary {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (n - 1 in the denominator); 0 for one value. */
  readonly variance: number;
  /** Half-width of the 95% confidence interval of the mean; null for one value. */
  readonly ci95: number | null;
}

export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, variance: NaN, ci95: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, variance: 0, ci95: null };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance, ci95: tQuantile975(n - 1) * Math.sqrt(variance / n) };
}

/**
 * Welch's two-sided t-test at the 5% level: whether the means of `a` and `b` differ by more than
 * their noise. Two constant samples differ exactly when their means do. Needs two values a side.
 */
export function differ(a: Summary, b: Summary): boolean | null {
  if (a.n < 2 || b.n < 2) return null;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  if (va + vb === 0) return a.mean !== b.mean;
  const t = Math.abs(a.mean - b.mean) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  return t > tQuantile975(df);
}

/** Parse a seed list: `7`, `1..10`, `1,4,9` or a mix (`1..3,10`); duplicates are an error. */
export function parseSeeds(text: string): number[] | string {
  const out: number[] = [];
  for (const part of text.split(',').map((x) => x.trim())) {
    const range = /^(\d+)\.\.(\d+)$/.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) return `seed range '${part}' runs backwards`;
      if (to - from >= 1000) return `seed range '${part}' has more than 1000 seeds`;
      for (let s = from; s <= to; s++) out.push(s);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else return `expected seeds such as 1..10 or 1,4,9, got '${part}'`;
  }
  const big = out.find((x) => x > 0xffffffff);
  if (big !== undefined) return `seed ${big} is not below 2^32`;
  if (new Set(out).size !== out.length) return `seed list '${text}' names a seed twice`;
  return out;
}
