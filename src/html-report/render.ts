/**
 * The HTML report: one self-contained file (d3, Observable Plot, the drawing script and the data
 * inline; it loads nothing from the network) from PointRecords. Same records, same bytes: no
 * date, no wall time, no random identifier. Counterexamples' Perfetto traces are returned as
 * files to write beside the report.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compareText, type CompareGroup } from '../report/compare.js';
import { simText } from '../report/sim.js';
import { CLIENT_JS } from './client.js';
import { distinct, runGroups, simFigures, simRuns, type Figure, type RunGroup } from './data.js';
import type { PointRecord } from './record.js';
import { verdictMatrix, type VerdictMatrix } from './verdicts.js';

export interface ReportOptions {
  /** Heading; default: the study name(s) of the records. */
  readonly title?: string;
  /**
   * Where the counterexamples' Perfetto files go, relative to the report (links and file names):
   * a prefix such as `report.cx/`. Default `cx/`.
   */
  readonly perfettoPrefix?: string;
}

export interface ReportOutput {
  readonly html: string;
  /** Files to write beside the report (paths relative to it). */
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

/** Colours of the strategies, in the order they first appear (Tableau 10). */
const PALETTE = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

let vendorCache: string | null = null;

/** d3 and Observable Plot as their UMD bundles, from node_modules (d3 as Plot resolves it). */
export function vendorScripts(): string {
  if (vendorCache === null) {
    const req = createRequire(import.meta.url);
    const plotEntry = req.resolve('@observablehq/plot');
    const plotDir = dirname(dirname(plotEntry));
    const d3Entry = createRequire(plotEntry).resolve('d3');
    const d3 = readFileSync(join(dirname(d3Entry), 'd3.min.js'), 'utf8');
    const plot = readFileSync(join(plotDir, 'dist', 'plot.umd.min.js'), 'utf8');
    vendorCache = `${d3}\n;\n${plot}`;
  }
  return vendorCache;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Text inside <script>: no `</script` can end it early. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1');
/** JSON inside <script type="application/json">: `<` escaped, so that no tag can close it. */
const jsonSafe = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const CSS = `
:root { --ink: #1d1d1f; --muted: #5b5b60; --rule: #d7d7db; --bad: #b3261e; --bad-bg: #fbe9e7; --good: #1b6e3a; --good-bg: #e8f5ec; --warn-bg: #fff6d6; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px 32px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 36px 0 6px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 22px 0 4px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.caption { color: var(--muted); max-width: 900px; margin: 2px 0 8px; }
figure { margin: 8px 0 24px; }
pre { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background: #f7f7f8; border: 1px solid var(--rule); padding: 10px 12px; overflow-x: auto; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
nav ul { margin: 4px 0; padding-left: 20px; columns: 2; }
table.matrix { border-collapse: collapse; font-size: 12px; }
table.matrix th, table.matrix td { border: 1px solid var(--rule); padding: 4px 8px; text-align: left; vertical-align: top; }
table.matrix thead th { background: #f0f0f2; }
td.violated { background: var(--bad-bg); }
td.holds { background: var(--good-bg); color: var(--good); }
td.unproven { background: var(--warn-bg); }
td.violated a { color: var(--bad); font-weight: 600; }
.mismatch { color: var(--bad); font-weight: 700; }
details > summary { cursor: pointer; color: var(--muted); }
`;

function figureHtml(f: Figure): string {
  return `<figure id="${esc(f.id)}"><h3>${esc(f.title)}</h3><p class="caption">${esc(f.caption)}</p><div class="plot" id="fig-${esc(f.id)}" data-figure="${esc(f.type)}"></div></figure>`;
}

function groupTitle(g: RunGroup): string {
  return `${g.cpus} CPUs${g.config ? `, ${g.config}` : ''}`;
}

/** The `ptlab compare` table of a group of runs (one column per strategy; mean ±95% CI over seeds). */
function groupTable(g: RunGroup): string {
  const strategies = distinct(g.runs.map((r) => r.strategy));
  const grps: CompareGroup[] = strategies.map((strategy) => ({
    strategy,
    runs: g.runs.filter((r) => r.strategy === strategy).map((r) => ({ strategy, metrics: r.metrics, violations: r.violations, time: r.timeNs })),
  }));
  const first = g.runs[0] as (typeof g.runs)[number];
  return compareText(first.scenario, grps, {
    profile: first.profile,
    seeds: distinct(g.runs.map((r) => r.seed)),
    work: first.work,
    duration: first.duration,
    incomplete: g.runs.filter((r) => !r.complete).map((r) => `${r.strategy}/seed ${r.seed}`),
  });
}

function matrixHtml(m: VerdictMatrix, prefix: string): string {
  const arches = distinct(m.columns.map((c) => c.arch));
  const head1 = arches.map((a) => `<th colspan="${m.columns.filter((c) => c.arch === a).length}">${esc(a)}</th>`).join('');
  const head2 = m.columns.map((c) => `<th>${esc(c.strategy)}</th>`).join('');
  const body = m.rows.map((r) => {
    const cells = r.cells.map((c) => {
      if (!c) return '<td class="none">–</td>';
      const cls = c.status === 'violated' ? 'violated' : c.status === 'holds' ? 'holds' : 'unproven';
      const inner = c.status === 'violated' ? c.violated.map((v) => (v.anchor ? `<a href="#${esc(v.anchor)}">${esc(v.property)}</a>` : esc(v.property))).join('<br>') : esc(c.status);
      const mismatch = c.ok ? '' : ' <span class="mismatch" title="differs from the scenario\'s expected verdicts">≠ expected</span>';
      return `<td class="${cls}" title="${c.executions} executions${c.exhaustive ? ', exhaustive' : ''}">${inner}${mismatch}</td>`;
    }).join('');
    return `<tr><th>${esc(r.config)}</th>${cells}</tr>`;
  }).join('\n');
  const cxs = m.counterexamples.map((cx) => [
    `<section class="counterexample" id="${esc(cx.id)}">`,
    `<h3>${esc(cx.title)}</h3>`,
    `<p>${esc(cx.message)}</p>`,
    `<p>Schedule (${cx.steps} steps): <code>${esc(cx.schedule)}</code><br>Replay: <code>${esc(cx.replay)}</code><br>Perfetto: <a href="${esc(prefix + cx.id)}.perfetto.json">${esc(prefix + cx.id)}.perfetto.json</a> (open in ui.perfetto.dev)</p>`,
    `<pre>${esc(cx.perCpu)}</pre>`,
    '</section>',
  ].join('\n')).join('\n');
  return [
    '<h2 id="verdicts">Verdicts</h2>',
    '<p class="caption">One row per configuration, one column per architecture and strategy. A violated cell names the invariants a counterexample breaks, each linked to it; "holds": no execution of the model violates any checked invariant (exhaustive runs); "no violation found": not exhaustive. ≠ expected: the verdicts differ from the scenario\'s <code>expect:</code>.</p>',
    `<table class="matrix"><thead><tr><th rowspan="2">configuration</th>${head1}</tr><tr>${head2}</tr></thead><tbody>\n${body}\n</tbody></table>`,
    m.counterexamples.length ? '<h2 id="counterexamples">Counterexamples</h2>' : '',
    cxs,
  ].join('\n');
}

/** The report and the files to write beside it. */
export function buildReport(records: readonly PointRecord[], options: ReportOptions = {}): ReportOutput {
  const sorted = [...records].sort((a, b) => (a.study < b.study ? -1 : a.study > b.study ? 1 : a.index - b.index));
  const prefix = options.perfettoPrefix ?? 'cx/';
  const studies = distinct(sorted.map((r) => r.study));
  const versions = distinct(sorted.map((r) => r.ptlabVersion));
  const title = options.title ?? studies.join(', ');
  const runs = simRuns(sorted);
  const figures = simFigures(runs);
  const strategies = distinct(runs.map((r) => r.strategy));
  const groups = runGroups(runs);
  const matrix = verdictMatrix(sorted);
  const kinds = (['sim', 'compare', 'check'] as const).map((k) => [k, sorted.filter((r) => r.kind === k).length] as const).filter(([, n]) => n > 0);
  const cpus = distinct(runs.map((r) => r.cpus)).sort((a, b) => a - b);
  const seeds = distinct(runs.map((r) => r.seed));
  const scenarios = distinct([...runs.map((r) => r.scenario.name), ...sorted.filter((r) => r.kind === 'check').map((r) => (r.result as { scenario: { name: string } }).scenario.name)]);
  const metaBits = [
    `ptlab ${versions.join(', ')}`,
    `${sorted.length} point${sorted.length === 1 ? '' : 's'} (${kinds.map(([k, n]) => `${n} ${k}`).join(', ')})`,
    scenarios.length <= 3 ? `scenario ${scenarios.join(', ')}` : `${scenarios.length} scenarios`,
    ...(runs.length ? [`${runs.length} simulation run${runs.length === 1 ? '' : 's'}`, `${cpus.join('/')} CPUs`, `profile ${distinct(runs.map((r) => r.profile)).join(', ')}`, `seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}`] : []),
  ];
  const nav = [
    ...figures.map((f) => `<li><a href="#${esc(f.id)}">${esc(f.title)}</a></li>`),
    ...(groups.length ? ['<li><a href="#tables">Tables (as ptlab compare prints them)</a></li>'] : []),
    ...(matrix ? ['<li><a href="#verdicts">Verdict matrix</a></li>'] : []),
  ];
  const single = runs.length === 1 ? (runs[0] as (typeof runs)[number]) : null;
  const tables = groups.length === 0 ? '' : [
    '<h2 id="tables">Tables</h2>',
    '<p class="caption">Per CPU count and configuration, the table <code>ptlab compare</code> prints: one column per strategy; with several seeds, each cell is the mean ±95% confidence interval (Student\'s t), and ≈ marks a difference from the first strategy inside the noise (Welch\'s t-test, 5%).</p>',
    ...groups.map((g) => `<h3>${esc(groupTitle(g))}</h3>\n<pre>${esc(groupTable(g))}</pre>`),
    ...(single ? [`<h3>The run, as ptlab sim prints it</h3>\n<pre>${esc(simText(`${single.scenario.name} (${single.strategy}, profile ${single.profile}, seed ${single.seed})`, single.metrics, { time: single.timeNs, steps: single.steps }))}</pre>`] : []),
  ].join('\n');
  const data = { strategies, palette: strategies.map((_, i) => PALETTE[i % PALETTE.length]), figures };
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="ptlab ${esc(versions.join(', '))}">`,
    `<title>ptlab report: ${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>ptlab report: ${esc(title)}</h1>`,
    `<p class="meta">${esc(metaBits.join(' · '))}</p>`,
    nav.length ? `<nav><ul>${nav.join('')}</ul></nav>` : '',
    figures.length ? '<h2 id="plots">Cost</h2>' : '',
    ...figures.map(figureHtml),
    tables,
    matrix ? matrixHtml(matrix, prefix) : '',
    `<script type="application/json" id="ptlab-data">${jsonSafe(data)}</script>`,
    `<script>${scriptSafe(vendorScripts())}</script>`,
    `<script>${scriptSafe(CLIENT_JS)}</script>`,
    '</body>',
    '</html>',
    '',
  ].filter((l) => l !== '').join('\n');
  return { html, files: (matrix?.counterexamples ?? []).map((cx) => ({ path: `${prefix}${cx.id}.perfetto.json`, content: cx.perfetto })) };
}

/** The report as one HTML string (the counterexamples' Perfetto files: buildReport). */
export function renderReport(records: readonly PointRecord[], options: ReportOptions = {}): string {
  return buildReport(records, options).html;
}
