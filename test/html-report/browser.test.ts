/**
 * The report in a real browser: Debian's Chromium through playwright-core opens generated reports
 * from file:// URLs. No console errors, nothing fetched, every plot drawn with the marks the study
 * implies (a line per strategy and facet, a point per CPU count), and a screenshot kept as an
 * artifact: test-artifacts/report.png (a study over CPU counts and a verdict matrix) and
 * test-artifacts/report-compare.png (one `compare --html` run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { compareScenario } from '../../src/api/index.js';
import { writeHtmlReport } from '../../src/html-report/cli.js';
import { compareRecord } from '../../src/html-report/runs.js';
import { CHECK_ARCHES, CHECK_BATCH, CHECK_STRATEGIES, CPU_COUNTS, STRATEGIES, checkRecords, simRecords } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser test needs Debian's chromium (apt-get install chromium; .ci/run installs it)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

/** Open a report file; every console error, page error and non-file request is recorded. */
async function open(file: string): Promise<Opened> {
  // A fresh context is a fresh profile (user-data) for each report.
  const context = await browser.newContext({ viewport: { width: 1240, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return { page, errors, requests };
}

/** Per plot: lines, areas, dots, bars and rules Plot drew (its marks carry aria-labels). */
async function marks(page: Page): Promise<Record<string, { drawn: boolean; line: number; area: number; dot: number; bar: number; rule: number }>> {
  // A script string: the test's tsconfig has no DOM types.
  return page.evaluate(`(() => {
    const out = {};
    for (const d of document.querySelectorAll('.plot')) {
      const n = (sel) => d.querySelectorAll(sel).length;
      out[d.id.replace(/^fig-/, '')] = {
        drawn: d.getAttribute('data-drawn') === 'true' && d.querySelector('svg') !== null,
        line: n('g[aria-label="line"] path'),
        area: n('g[aria-label="area"] path'),
        dot: n('g[aria-label="dot"] circle'),
        bar: n('g[aria-label="bar"] rect'),
        rule: n('g[aria-label="rule"] line'),
      };
    }
    return out;
  })()`);
}

/** The figures' data as the page embeds it. */
async function figures(page: Page): Promise<Array<{ id: string; type: string; rows: Array<Record<string, unknown>> }>> {
  const data = JSON.parse((await page.locator('#ptlab-data').textContent()) ?? '{}') as { figures: Array<{ id: string; type: string; rows: Array<Record<string, unknown>> }> };
  return data.figures;
}

describe('the HTML report in Chromium', () => {
  it('draws a study over CPU counts: a line per strategy, a point per CPU count, bands over seeds; the verdict matrix links its counterexample', async () => {
    const file = join(ARTIFACTS, 'report.html');
    writeHtmlReport(file, [...simRecords(), ...checkRecords()]);
    const { page, errors, requests } = await open(file);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const m = await marks(page);
    const ids = Object.keys(m);
    expect(ids).toEqual(expect.arrayContaining(['ipis-munmap', 'latency', 'grace-periods', 'pending-peak', 'pending-over-time', 'wakeup-histogram']));
    for (const id of ids) expect(m[id]?.drawn, `plot ${id} drawn`).toBe(true);
    // munmap-under-pressure has RT, idle and workload CPUs: three facets, each with a line per
    // strategy, a band per strategy (two seeds) and a point per strategy and CPU count.
    const S = STRATEGIES.length;
    expect(m['ipis-munmap']).toMatchObject({ line: 3 * S, area: 3 * S, dot: 3 * S * CPU_COUNTS.length });
    // munmap's p50, p99 and max.
    expect(m.latency).toMatchObject({ line: 3 * S, dot: 3 * S * CPU_COUNTS.length });
    // Over time and the histograms: one facet per CPU count, a line per strategy in each.
    expect(m['pending-over-time']?.line).toBe(S * CPU_COUNTS.length);
    expect(m['wakeup-histogram']?.line).toBe(S * CPU_COUNTS.length);
    // Every metric plot: a line per (facet, strategy) series of its data, a dot per row.
    for (const f of await figures(page)) {
      if (f.type !== 'metric') continue;
      const series = new Set(f.rows.map((r) => JSON.stringify([r.fx, r.fy, r.strategy])));
      expect(m[f.id]?.line, `lines of ${f.id}`).toBe(series.size);
      expect(m[f.id]?.dot, `dots of ${f.id}`).toBe(f.rows.length);
    }
    // The verdict matrix: arch × strategy columns, a row per batch_alloc setting.
    const cells = await page.locator('table.matrix tbody td').count();
    expect(cells).toBe(CHECK_ARCHES.length * CHECK_STRATEGIES.length * CHECK_BATCH.length);
    const links = page.locator('table.matrix td.violated a');
    expect(await links.count()).toBeGreaterThan(0);
    const href = await links.first().getAttribute('href');
    expect(await page.locator(`${href as string} pre`).textContent()).toContain('<<<');
    const perfetto = await page.locator(`${href as string} a[href$=".perfetto.json"]`).getAttribute('href');
    expect(existsSync(join(ARTIFACTS, perfetto as string))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.context().close();
  }, 120_000);

  it('draws one compare run (one CPU count): a bar per strategy and facet, min–max rules over seeds', async () => {
    const runs = compareScenario('scenarios/sim/munmap-under-pressure.yaml', [...STRATEGIES], {}, { work: 2 }, { seeds: [1, 2] });
    const file = join(ARTIFACTS, 'report-compare.html');
    writeHtmlReport(file, [compareRecord(runs)]);
    const { page, errors, requests } = await open(file);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    const m = await marks(page);
    expect(m['ipis-munmap']).toMatchObject({ drawn: true, bar: 3 * STRATEGIES.length, rule: 3 * STRATEGIES.length + 3 });
    expect(m['pending-peak']).toMatchObject({ drawn: true, bar: 2 * STRATEGIES.length });
    expect(await page.locator('#tables pre, h2#tables ~ pre').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'report-compare.png'), fullPage: true });
    await page.context().close();
  }, 120_000);
});
