/**
 * The explorer in a real browser (playwright-core driving Debian's /usr/bin/chromium): open it,
 * check a catalog violation scenario in the worker, step to the violation, read the freed table
 * in the state panel, open a permalink, replay it timed, diff two runs; screenshots go to
 * test-artifacts/ (git-ignored), and no page logs a console error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { main } from '../../src/cli/main.js';

const CHROMIUM = '/usr/bin/chromium';
const SCENARIO = 'check/munmap-vs-gup-fast/no-sync+arm64+batch-fails.yaml';
const ARTIFACTS = 'test-artifacts';
const T = 90_000;

let srv: RunningServer;
let ctx: BrowserContext;
const consoleErrors: string[] = [];

async function cliJson(...argv: string[]): Promise<unknown> {
  let out = '';
  await main(argv, (s) => (out += s));
  return JSON.parse(out) as unknown;
}

async function open(hash = ''): Promise<Page> {
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${srv.url}${hash}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: T });
  return page;
}

beforeAll(async () => {
  const bundle = mkdtempSync(join(tmpdir(), 'ptlab-bundle-'));
  // Asynchronous: the test worker keeps answering vitest while esbuild runs.
  await promisify(execFile)(process.execPath, ['scripts/build-web.mjs', bundle]);
  srv = await startServer({ dir: 'scenarios', bundle, host: '127.0.0.1', port: 0 });
  mkdirSync(ARTIFACTS, { recursive: true });
  ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'ptlab-chromium-')), {
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
    viewport: { width: 1500, height: 1000 },
  });
}, T);

afterAll(async () => {
  await ctx?.close();
  await srv?.close();
});

describe('the explorer in chromium', () => {
  let permalink = '';

  it('checks a catalog scenario in the worker, steps to the violation and names the freed table', async () => {
    const page = await open();
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-open.png') });
    await page.click(`li[title="${SCENARIO}"]`);
    await page.waitForFunction(() => (document.getElementById('yaml') as HTMLTextAreaElement).value.includes('no-sync+arm64+batch-fails'));
    await page.click('#run');
    await page.waitForSelector('#verdicts button', { timeout: T });
    expect(await page.textContent('#progress')).toMatch(/^7 executions \(exhaustive\)/);
    expect(await page.textContent('#verdicts')).toContain('no-walk-of-freed-table');
    await page.click('#verdicts button');
    await page.waitForSelector('#lanes tr.cur');
    // The counterexample opens at the marked step: the stale read.
    expect(await page.textContent('#stepinfo')).toBe('step 28 of 31: CPU1 gup_fast_pte_range ← no-walk-of-freed-table');
    const freedRow = page.locator('#state tr.freed');
    expect(await freedRow.count()).toBe(1);
    expect(await freedRow.locator('td').first().textContent()).toBe('A.pte0');
    expect(await freedRow.textContent()).toContain('FREED');
    // The arrow from the free to the stale read.
    expect(await page.locator('#arrows path[data-kind="window"]').count()).toBe(1);
    // One step back, the table is still freed; before step 23 (its free) it is not.
    await page.click('#back');
    expect(await page.textContent('#stepinfo')).toMatch(/^step 27 of 31/);
    // The free (step 23) is the step that changed the table's row.
    await page.click('[data-step="23"] td.on');
    expect(await page.locator('#state tr.freed.changed').count()).toBe(1);
    await page.click('#fwd');
    expect(await page.locator('#state tr.freed.changed').count()).toBe(0);
    await page.click('#first');
    expect(await page.locator('#state tr.freed').count()).toBe(0);
    await page.click('text=next CPU1');
    expect(await page.textContent('#stepinfo')).toBe('step 16 of 31: CPU1 gup_fast');
    await page.click('#tomark');
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-violation.png'), fullPage: true });
    permalink = new URL(page.url()).hash;
    expect(permalink).toContain('s=0*16+1*4+0*7+1*5');
    await page.close();
  }, T);

  it('gives, in the browser\'s worker, the document ptlab check --json prints', async () => {
    const page = await open();
    const yaml = readFileSync(join('scenarios', SCENARIO), 'utf8');
    const file = `scenarios/${SCENARIO}`;
    const got = await page.evaluate(async ({ yaml, file }) => {
      const w = new Worker('/app/worker.js', { type: 'module' });
      return new Promise<unknown>((ok) => {
        w.onmessage = (e: MessageEvent<{ type: string; value?: unknown }>) => {
          if (e.data.type !== 'progress') ok(e.data.value);
        };
        w.postMessage({ id: 1, type: 'check', yaml, file });
      });
    }, { yaml, file });
    expect(JSON.stringify(got)).toBe(JSON.stringify(await cliJson('check', file, '--json')));
    await page.close();
  }, T);

  it('opens a permalink at the marked step, and replays it timed', async () => {
    const page = await open(permalink);
    await page.waitForSelector('#lanes tr.cur', { timeout: T });
    expect(await page.textContent('#stepinfo')).toBe('step 28 of 31: CPU1 gup_fast_pte_range ← no-walk-of-freed-table');
    await page.selectOption('#profile', 'arm64');
    await page.click('#cost');
    await page.waitForSelector('#timed[data-done="1"]', { timeout: T });
    const timed = (await cliJson('replay', `scenarios/${SCENARIO}`, '--schedule', '0*16 1*4 0*7 1*5', '--timed', '--json', '--profile', 'arm64')) as { window: { unhookToFree: number } };
    expect(await page.textContent('#timed .window')).toContain(`race window on A.pte0 (unhook → free): ${timed.window.unhookToFree.toLocaleString('en-US')} ns`);
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-timed.png'), fullPage: true });
    await page.close();
  }, T);

  it('diffs the run against the same schedule under another strategy, highlighting the first difference', async () => {
    const page = await open(permalink);
    await page.waitForSelector('#lanes tr.cur', { timeout: T });
    await page.selectOption('#diffpreset', 'broadcast-ipi');
    await page.click('#diff');
    await page.waitForSelector('#diffview h3');
    const head = await page.textContent('#diffview h3');
    expect(head).toMatch(/^first difference at step \d+$/);
    const first = Number(/\d+$/.exec(head ?? '')?.[0]);
    expect(await page.getAttribute('#lanes tr.diff', 'data-step')).toBe(String(first));
    expect(await page.textContent('#diffview')).toContain('the other (broadcast-ipi');
    await page.close();
  }, T);

  it('shows YAML errors as the CLI does, file:line:col', async () => {
    const page = await open();
    await page.click(`li[title="${SCENARIO}"]`);
    await page.waitForFunction(() => (document.getElementById('yaml') as HTMLTextAreaElement).value.length > 0);
    const yaml = await page.inputValue('#yaml');
    await page.fill('#yaml', yaml.replace('arch: arm64', 'arch: arm46'));
    await page.waitForFunction(() => (document.getElementById('errors')?.textContent ?? '').length > 0);
    expect(await page.textContent('#errors')).toMatch(new RegExp(`^${SCENARIO.replace(/[+.]/g, '\\$&')}:\\d+:\\d+: error: machine\\.arch: `));
    await page.close();
  }, T);

  it('logged no console error on any page', () => {
    expect(consoleErrors).toEqual([]);
  });
});
