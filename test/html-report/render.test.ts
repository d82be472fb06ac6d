/** The report as a string: self-contained, byte-identical for the same records, kernel tables, figures from the data. */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, renderReport } from '../../src/html-report/render.js';
import { simFigures, simRuns, type MetricFigure } from '../../src/html-report/data.js';
import { verdictMatrix } from '../../src/html-report/verdicts.js';
import type { PointRecord } from '../../src/html-report/record.js';
import { CHECK_ARCHES, CHECK_STRATEGIES, CPU_COUNTS, SEEDS, STRATEGIES, checkRecords, simRecords } from './fixtures.js';

let sims: PointRecord[];
let checks: PointRecord[];

beforeAll(() => {
  sims = simRecords();
  checks = checkRecords();
}, 120_000);

describe('renderReport', () => {
  it('is byte-identical for the same records, whatever their order, and from a second run of the same points', () => {
    const a = renderReport([...sims, ...checks]);
    expect(renderReport([...checks, ...sims].reverse())).toBe(a);
    // The checker and the simulator are deterministic: building the points again gives the same report.
    expect(renderReport([...simRecords(), ...checkRecords()])).toBe(a);
  }, 120_000);

  it('loads nothing: no external script, stylesheet, image or frame, and no date', () => {
    const html = renderReport([...sims, ...checks]);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<(img|iframe)\b/i);
    expect(html).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
    // d3 and Plot are inline.
    expect(html).toContain('Plot.plot');
    expect(html.match(/<script>/g)?.length).toBe(2);
    // Exactly one </script> per script element: nothing inlined can close one early.
    expect(html.match(/<\/script>/gi)?.length).toBe(3);
  });

  it('names the study and the ptlab version, and prints ptlab compare\'s table per CPU count', () => {
    const html = renderReport(sims);
    expect(html).toContain('<h1>ptlab report: munmap-cost</h1>');
    expect(html).toMatch(/ptlab \d+\.\d+\.\d+/);
    for (const cpus of CPU_COUNTS) expect(html).toContain(`munmap-under-pressure: x86, ${cpus} CPUs, profile x86-2s, fixed work: 2 rounds`);
    expect(html).toContain(`mean ±95% confidence interval over ${SEEDS.length} seeds`);
    expect(html).toContain('IPIs on RT CPUs (3)');
  });

  it('computes each plot point from the runs: the mean, min and max over seeds of the compare row', () => {
    const runs = simRuns(sims);
    expect(runs.length).toBe(STRATEGIES.length * CPU_COUNTS.length * SEEDS.length);
    const ipis = simFigures(runs).find((f) => f.id === 'ipis-munmap') as MetricFigure;
    expect(ipis.rows.length).toBe(3 * STRATEGIES.length * CPU_COUNTS.length);
    // By hand from the metrics: IPIs sent by munmap to the RT CPUs, per munmap, on each seed.
    const rt = [4, 5, 6];
    const perRun = runs.filter((r) => r.strategy === 'broadcast-ipi' && r.cpus === 16).map((r) => {
      const e = r.metrics.ipisByOp.munmap;
      const sent = rt.reduce((a, c) => a + (e?.CAL[c] ?? 0) + (e?.TLB[c] ?? 0), 0);
      return sent / (r.metrics.operations.munmap?.count ?? NaN);
    });
    const row = ipis.rows.find((r) => r.fx === 'RT CPUs (cyclictest)' && r.strategy === 'broadcast-ipi' && r.cpus === 16);
    expect(row?.n).toBe(SEEDS.length);
    expect(row?.min).toBeCloseTo(Math.min(...perRun), 4);
    expect(row?.max).toBeCloseTo(Math.max(...perRun), 4);
    expect(row?.mean).toBeCloseTo(perRun.reduce((a, b) => a + b, 0) / perRun.length, 4);
    // broadcast-ipi interrupts the idle CPUs; skip-redundant-ipi does not.
    const idle = (s: string): number => ipis.rows.filter((r) => r.fx === 'idle CPUs' && r.strategy === s).reduce((a, r) => a + r.max, 0);
    expect(idle('broadcast-ipi')).toBeGreaterThan(0);
    expect(idle('skip-redundant-ipi')).toBe(0);
  });

  it('adds the cyclictest histogram of every RT CPU and seed: its counts are the wakeups', () => {
    const runs = simRuns(sims);
    const hist = simFigures(runs).find((f) => f.id === 'wakeup-histogram');
    for (const strategy of STRATEGIES) {
      const wakeups = runs.filter((r) => r.strategy === strategy && r.cpus === 16).reduce((a, r) => a + Object.values(r.metrics.wakeups).reduce((b, w) => b + w.count, 0), 0);
      const counted = (hist?.rows ?? []).filter((r) => r.strategy === strategy && r.fy === '16 CPUs').reduce((a, r) => a + (r as { y: number }).y, 0);
      expect(wakeups).toBeGreaterThan(0);
      expect(counted).toBe(wakeups);
    }
  });
});

describe('verdict matrix', () => {
  it('has a column per arch and strategy, a row per configuration, and links each violated cell to its counterexample', () => {
    const m = verdictMatrix(checks);
    expect(m?.columns.length).toBe(CHECK_ARCHES.length * CHECK_STRATEGIES.length);
    expect(m?.rows.map((r) => r.config)).toEqual(['batch_alloc=fails', 'batch_alloc=succeeds']);
    const violated = m?.rows.flatMap((r) => r.cells).filter((c) => c?.status === 'violated') ?? [];
    // The catalog's no-sync scenarios on arm64 with failing batch allocation break no-walk-of-freed-table.
    const col = m?.columns.findIndex((c) => c.arch === 'arm64' && c.strategy === 'no-sync') ?? -1;
    expect(m?.rows[0]?.cells[col]?.violated.map((v) => v.property)).toContain('no-walk-of-freed-table');
    for (const c of violated) for (const v of c?.violated ?? []) expect(m?.counterexamples.some((x) => x.id === v.anchor)).toBe(true);
    // Every cell agrees with its scenario's expected verdicts.
    expect(m?.rows.flatMap((r) => r.cells).every((c) => c?.ok)).toBe(true);
  });

  it('gives each counterexample the per-CPU trace, the schedule, the replay command and a Perfetto file', () => {
    const out = buildReport(checks, { perfettoPrefix: 'r.cx/' });
    const m = verdictMatrix(checks);
    expect(out.files.length).toBe(m?.counterexamples.length);
    for (const cx of m?.counterexamples ?? []) {
      expect(out.html).toContain(`id="${cx.id}"`);
      expect(out.html).toContain(`href="r.cx/${cx.id}.perfetto.json"`);
      expect(cx.perCpu).toContain('<<<');
      expect(cx.replay).toMatch(/^ptlab replay scenarios\/check\/\S+\.yaml --preset \S+ --set batch_alloc=\w+ --schedule '/);
      const trace = JSON.parse(out.files.find((f) => f.path === `r.cx/${cx.id}.perfetto.json`)?.content ?? '{}') as { traceEvents: Array<{ ph: string }> };
      expect(trace.traceEvents.length).toBeGreaterThan(cx.steps);
    }
  });
});
