/// <reference lib="dom" />
/**
 * The explorer's page (plain DOM, no framework): pick a scenario, edit its YAML, check it in the
 * worker, step through a counterexample per CPU with the kernel's state at each step, see what the
 * race costs in time, diff two runs, and link to all of it. The worker (src/web/worker.ts) does
 * every computation; this file only draws.
 */
import type { ExploreReplay, KernelSnapshot, TlbSnapshot } from '../../api/explore.js';
import type { WorkerReply, WorkerRequest } from '../protocol.js';

type Req = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

// ---------------------------------------------------------------------------------------------
// The worker: one at a time; a check is stopped by terminating it (and a new one is started).

let worker: Worker;
let nextId = 1;
const waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: WorkerError) => void; progress?: (n: number) => void }>();

class WorkerError extends Error {
  constructor(message: string, readonly issues: ReadonlyArray<{ line: number | null; col: number | null; message: string }> = []) {
    super(message);
  }
}

function startWorker(): void {
  worker = new Worker('/app/worker.js', { type: 'module' });
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    const m = e.data;
    const w = waiting.get(m.id);
    if (!w) return;
    if (m.type === 'progress') return w.progress?.(m.executions);
    waiting.delete(m.id);
    if (m.type === 'error') w.fail(new WorkerError(m.message, m.issues ?? []));
    else w.ok(m.value);
  };
}

function ask<T>(req: Req, progress?: (n: number) => void): Promise<T> {
  const id = nextId++;
  return new Promise<T>((ok, fail) => {
    waiting.set(id, { ok: ok as (v: unknown) => void, fail, ...(progress ? { progress } : {}) });
    worker.postMessage({ ...req, id } as WorkerRequest);
  });
}

function stopWorker(): void {
  worker.terminate();
  for (const w of waiting.values()) w.fail(new WorkerError('stopped'));
  waiting.clear();
  startWorker();
}

// ---------------------------------------------------------------------------------------------
// Page state

interface CheckDoc {
  schema: string;
  scenario: { name: string; file: string; arch: string; cpus: number; preset?: string | null };
  stats: { executions: number };
  exhaustive: boolean;
  stopped: string | null;
  verdicts: Array<{ id: string; status: string; expected: string | null; match: boolean; counterexample: { schedule: string; violation: { step: number; property: string; message: string } | null } | null }>;
  deadlock: { expected: boolean | null; found: boolean; match: boolean; counterexample: { schedule: string } | null };
  ok: boolean;
}

interface Choices {
  strategies: Array<{ id: string; title: string }>;
  profiles: Array<{ id: string; title: string; arches: string[] }>;
}

const page = {
  file: '',
  /** The YAML as loaded from the server (to know whether the text was edited). */
  original: '',
  arch: '',
  replay: null as ExploreReplay | null,
  /** The current step: -1 before the first step. */
  cur: -1,
  mark: -1,
  choices: { strategies: [], profiles: [] } as Choices,
};

const status = (s: string): void => {
  $('status').textContent = s;
};

const yamlText = (): string => $<HTMLTextAreaElement>('yaml').value;
const preset = (): string => $<HTMLSelectElement>('preset').value;
const scenarioRef = (): { yaml: string; file: string; preset?: string } => ({ yaml: yamlText(), file: page.file || '<edited>', ...(preset() ? { preset: preset() } : {}) });

// ---------------------------------------------------------------------------------------------
// Files

async function loadFileList(): Promise<void> {
  const r = await fetch('/api/files');
  const { scenarios, results } = (await r.json()) as { scenarios: string[]; results: string[] };
  const ul = $('scenarios');
  ul.replaceChildren(...scenarios.map((f) => el('li', { title: f, onclick: () => void openScenario(f) }, f)));
  $('results').replaceChildren(...results.map((f) => el('li', { title: f, onclick: () => void openResult(f) }, f)));
  $<HTMLInputElement>('filter').oninput = () => {
    const q = $<HTMLInputElement>('filter').value.toLowerCase();
    for (const li of Array.from(ul.children) as HTMLElement[]) li.hidden = !li.title.toLowerCase().includes(q);
  };
}

async function fetchText(path: string): Promise<string> {
  const r = await fetch(`/files/${path.split('/').map(encodeURIComponent).join('/')}`);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.text();
}

async function openScenario(file: string, yaml?: string): Promise<void> {
  page.file = file;
  page.original = await fetchText(file).catch(() => '');
  $<HTMLTextAreaElement>('yaml').value = yaml ?? page.original;
  $('file').textContent = file;
  for (const li of Array.from($('scenarios').children) as HTMLElement[]) li.classList.toggle('sel', li.title === file);
  $('verdicts').replaceChildren();
  $('resultview').hidden = true;
  $('explorer').hidden = true;
  $('state').hidden = true;
  page.replay = null;
  await validate();
}

async function validate(): Promise<boolean> {
  try {
    const v = await ask<{ name: string; arch: string; cpus: number; preset: string | null }>({ type: 'validate', ...scenarioRef() });
    page.arch = v.arch;
    $('errors').textContent = '';
    fillProfiles();
    return true;
  } catch (e) {
    $('errors').textContent = (e as Error).message;
    return false;
  }
}

async function openResult(file: string): Promise<void> {
  const text = await fetchText(file);
  const view = $('resultview');
  let doc: { schema?: string; scenario?: { file?: string } };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    view.hidden = false;
    view.textContent = `${file}: not JSON`;
    return;
  }
  if (doc.schema === 'ptlab.check/2') {
    // A check result: open its scenario when this directory has it, and show the verdicts.
    const name = doc.scenario?.file ?? '';
    const match = (Array.from($('scenarios').children) as HTMLElement[]).map((li) => li.title).find((f) => name === f || name.endsWith(`/${f}`) || f.endsWith(name));
    if (match) await openScenario(match);
    showVerdicts(doc as CheckDoc);
    return;
  }
  view.hidden = false;
  try {
    // A sim or compare result as the CLI prints it; anything else as JSON.
    const text = await ask<string | null>({ type: 'render', doc, file });
    view.textContent = text ?? `${file} (${doc.schema ?? 'no schema'})\n\n${JSON.stringify(doc, null, 2).slice(0, 200_000)}`;
  } catch (e) {
    view.textContent = (e as Error).message;
  }
}

// ---------------------------------------------------------------------------------------------
// Check

async function runCheck(): Promise<void> {
  if (!(await validate())) return;
  const mode = $<HTMLSelectElement>('mode').value;
  const req: Req = {
    type: 'check',
    ...scenarioRef(),
    ...(mode === 'first' ? { first: true } : mode === 'shortest' ? { shortest: true } : {}),
    ...(mode === 'random' ? { mode: { kind: 'random', executions: 1000, seed: 1, depth: 3 } } : {}),
  };
  $<HTMLButtonElement>('run').disabled = true;
  $<HTMLButtonElement>('stop').disabled = false;
  const t0 = performance.now();
  $('progress').textContent = 'checking…';
  try {
    const doc = await ask<CheckDoc>(req, (n) => {
      $('progress').textContent = `${n.toLocaleString('en-US')} executions, ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    });
    $('progress').textContent = `${doc.stats.executions.toLocaleString('en-US')} executions${doc.exhaustive ? ' (exhaustive)' : ''}, ${((performance.now() - t0) / 1000).toFixed(2)} s`;
    showVerdicts(doc);
  } catch (e) {
    $('progress').textContent = '';
    $('errors').textContent = (e as Error).message;
  } finally {
    $<HTMLButtonElement>('run').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  }
}

function showVerdicts(doc: CheckDoc): void {
  const rows = doc.verdicts.map((v) =>
    el('tr', { className: v.match ? '' : 'mismatch' },
      el('td', {}, v.id),
      el('td', {}, v.expected ?? '-'),
      el('td', { className: v.status === 'violated' ? 'violated' : '' }, v.status),
      el('td', {}, v.counterexample ? el('button', { onclick: () => void explore(v.counterexample?.schedule ?? '') }, 'step through') : ''),
    ));
  const dl = doc.deadlock;
  rows.push(el('tr', { className: dl.match ? '' : 'mismatch' }, el('td', {}, 'deadlock'), el('td', {}, dl.expected === null ? '-' : dl.expected ? 'yes' : 'no'), el('td', { className: dl.found ? 'violated' : '' }, dl.found ? 'yes' : 'no'), el('td', {}, dl.counterexample ? el('button', { onclick: () => void explore(dl.counterexample?.schedule ?? '') }, 'step through') : '')));
  $('verdicts').replaceChildren(el('tr', {}, el('th', {}, 'invariant'), el('th', {}, 'expected'), el('th', {}, 'got'), el('th', {}, '')), ...rows);
  status(`${doc.scenario.name}: ${doc.ok ? 'as expected' : 'NOT as expected'}`);
}

// ---------------------------------------------------------------------------------------------
// Step through a run

/** Replay `schedule` and show it at `step` (-1: before the first step; default: the marked step). */
async function explore(schedule: string, step?: number): Promise<void> {
  try {
    const r = await ask<ExploreReplay>({ type: 'replay', ...scenarioRef(), schedule });
    page.replay = r;
    const v = r.violations[0];
    page.mark = v ? v.step : r.steps.length - 1;
    page.cur = step === undefined || !Number.isInteger(step) ? page.mark : Math.max(-1, Math.min(step, r.steps.length - 1));
    $('explorer').hidden = false;
    $('state').hidden = false;
    $('timed').hidden = true;
    $('diffview').hidden = true;
    drawLanes();
    render();
  } catch (e) {
    $('errors').textContent = (e as Error).message;
  }
}

function laneOf(cpu: number | null, cpus: number): number {
  return cpu === null ? cpus : cpu;
}

function drawLanes(): void {
  const r = page.replay as ExploreReplay;
  const hasOther = r.steps.some((s) => s.cpu === null);
  const heads = Array.from({ length: r.cpus }, (_, c) => {
    const task = r.threadNames.find((_, i) => r.threadCpus[i] === c && r.threadKinds[i] === 'task');
    return `CPU${c}${task ? ` ${task}` : ''}`;
  });
  if (hasOther) heads.push('other');
  const head = el('tr', {}, el('th', { className: 'idx' }, '#'), ...heads.map((h) => el('th', {}, h)));
  const rows = r.steps.map((s) => {
    const lane = laneOf(s.cpu, r.cpus);
    const cells = heads.map((_, i) => (i === lane ? el('td', { className: `on ${s.threadKind}`, title: `${s.threadName} (thread ${s.thread})`, onclick: () => go(s.index) }, s.text) : el('td')));
    const tr = el('tr', {}, el('td', { className: 'idx' }, String(s.index)), ...cells);
    tr.dataset.step = String(s.index);
    return tr;
  });
  $('lanes').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
  $('cpunext').replaceChildren(...Array.from({ length: r.cpus }, (_, c) => el('button', { title: `the next step on CPU${c}`, onclick: () => nextOnCpu(c) }, `next CPU${c}`)));
}

function go(step: number): void {
  const r = page.replay;
  if (!r) return;
  page.cur = Math.max(-1, Math.min(r.steps.length - 1, step));
  render();
}

function nextOnCpu(cpu: number): void {
  const r = page.replay as ExploreReplay;
  const next = r.steps.find((s) => s.index > page.cur && s.cpu === cpu);
  if (next) go(next.index);
}

function render(): void {
  const r = page.replay as ExploreReplay;
  for (const tr of Array.from($('lanes').querySelectorAll('tbody tr')) as HTMLElement[]) {
    const i = Number(tr.dataset.step);
    tr.classList.toggle('cur', i === page.cur);
    tr.classList.toggle('future', i > page.cur);
    tr.classList.toggle('mark', i === page.mark && r.violations.length > 0);
  }
  const v = r.violations[0];
  const s = page.cur >= 0 ? r.steps[page.cur] : undefined;
  $('stepinfo').textContent = `step ${page.cur < 0 ? '-' : page.cur} of ${r.steps.length - 1}${s ? `: CPU${s.cpu ?? '-'} ${s.fn}` : ' (before the first step)'}${v && page.cur === v.step ? ` ← ${v.property}` : ''}`;
  $('lanes').querySelector('tr.cur')?.scrollIntoView({ block: 'nearest' });
  drawArrows();
  renderState(r.states[page.cur + 1] as KernelSnapshot, page.cur >= 0 ? (r.states[page.cur] as KernelSnapshot) : null);
  updateHash();
}

function drawArrows(): void {
  const r = page.replay as ExploreReplay;
  const svg = $('arrows') as unknown as SVGSVGElement;
  const wrap = $('lanes-wrap');
  const table = $('lanes');
  svg.setAttribute('width', String(table.scrollWidth));
  svg.setAttribute('height', String(table.scrollHeight));
  const base = table.getBoundingClientRect();
  const cell = (i: number): DOMRect | null => {
    const tr = table.querySelector(`tr[data-step="${i}"]`);
    return tr?.querySelector('td.on')?.getBoundingClientRect() ?? null;
  };
  const NS = 'http://www.w3.org/2000/svg';
  const parts: SVGElement[] = [];
  const defs = document.createElementNS(NS, 'defs');
  for (const [kind, color] of [['spawn', '#6a3d9a'], ['done', '#1f78b4'], ['window', '#b00020']] as const) {
    const m = document.createElementNS(NS, 'marker');
    m.setAttribute('id', `head-${kind}`);
    m.setAttribute('viewBox', '0 0 10 10');
    m.setAttribute('refX', '9');
    m.setAttribute('refY', '5');
    m.setAttribute('markerWidth', '6');
    m.setAttribute('markerHeight', '6');
    m.setAttribute('orient', 'auto-start-reverse');
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    p.setAttribute('fill', color);
    m.append(p);
    defs.append(m);
  }
  parts.push(defs);
  for (const l of r.links) {
    if (l.from > page.cur && l.to > page.cur) continue;
    const a = cell(l.from);
    const b = cell(l.to);
    if (!a || !b) continue;
    const x1 = a.left - base.left + Math.min(40, a.width / 2);
    const y1 = a.top - base.top + a.height / 2;
    const x2 = b.left - base.left + Math.min(40, b.width / 2);
    const y2 = b.top - base.top + b.height / 2;
    const bend = l.kind === 'window' ? -60 : 30;
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', `M${x1},${y1} C${x1 + bend},${y1} ${x2 + bend},${y2} ${x2},${y2}`);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', l.kind === 'window' ? '#b00020' : l.kind === 'spawn' ? '#6a3d9a' : '#1f78b4');
    p.setAttribute('stroke-width', l.kind === 'window' ? '2' : '1.4');
    if (l.kind === 'done') p.setAttribute('stroke-dasharray', '4 3');
    p.setAttribute('marker-end', `url(#head-${l.kind})`);
    p.dataset.kind = l.kind;
    parts.push(p);
  }
  svg.replaceChildren(...parts);
  void wrap;
}

function tlbRows(entries: readonly TlbSnapshot[]): HTMLElement {
  if (entries.length === 0) return el('span', {}, 'empty');
  return el('div', {}, ...entries.map((t) => el('div', { className: t.stale ? 'stale' : '' }, `${t.mm} ${t.level}[${t.path}] ${t.text}${t.stale ? '  STALE' : ''}`)));
}

/** The state after the current step; rows that the step changed (against `prev`) are marked. */
function renderState(st: KernelSnapshot, prev: KernelSnapshot | null): void {
  const box = $('state');
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const changed = (was: unknown, now: unknown): string => (prev !== null && !same(was, now) ? ' changed' : '');
  const r = page.replay as ExploreReplay;
  const when = page.cur < 0 ? 'before the first step' : `after step ${page.cur}`;
  const tables = el('table', {}, el('tr', {}, el('th', {}, 'table'), el('th', {}, 'level'), el('th', {}, 'owner'), el('th', {}, 'gen'), el('th', {}, 'state'), el('th', {}, 'entries')),
    ...st.tables.map((t) => el('tr', { className: `${t.freed ? 'freed' : t.reused ? 'reused' : ''}${changed(prev?.tables.find((x) => x.id === t.id), t)}` },
      el('td', {}, t.id), el('td', {}, t.level ?? '-'), el('td', {}, t.owner ?? '-'), el('td', {}, String(t.gen)),
      el('td', {}, t.freed ? 'FREED' : t.reused ? 'REUSED (data)' : 'in use'),
      el('td', {}, t.entries.map((e) => `[${e.index}] ${e.text}`).join('; ')))));
  const cpus = el('table', {}, el('tr', {}, el('th', {}, 'CPU'), el('th', {}, 'IRQs'), el('th', {}, 'preempt'), el('th', {}, 'RCU'), el('th', {}, 'mm'), el('th', {}, 'mode'), el('th', {}, 'locks')),
    ...st.cpus.map((c) => el('tr', { className: changed(prev?.cpus[c.cpu] && { ...prev.cpus[c.cpu], tlb: null }, { ...c, tlb: null }) },
      el('td', {}, `CPU${c.cpu}${c.hardirq ? ' (hardirq)' : ''}`),
      el('td', {}, c.irqsOff ? 'off' : 'on'),
      el('td', {}, String(c.preemptCount)),
      el('td', {}, `${c.rcuReader ? 'reader' : '-'}${c.rcuNesting ? ` nest ${c.rcuNesting}` : ''}, qs ${c.rcuQs}`),
      el('td', {}, `${c.loadedMm ?? '-'}${c.lazy ? ' (lazy)' : ''}`),
      el('td', {}, c.mode ?? '-'),
      el('td', {}, c.locksHeld.join(', ') || '-'))));
  const caches = el('table', {}, el('tr', {}, el('th', {}, 'TLB / walk cache'), el('th', {}, 'entries')),
    ...st.cpus.map((c) => el('tr', { className: changed(prev?.cpus[c.cpu]?.tlb, c.tlb) }, el('td', {}, `CPU${c.cpu}`), el('td', {}, tlbRows(c.tlb)))),
    ...(st.iommu ? [el('tr', {}, el('td', {}, 'IOMMU IOTLB'), el('td', {}, tlbRows(st.iommu)))] : []));
  const v = r.violations[0];
  box.replaceChildren(
    el('h3', {}, `State ${when}`, el('span', { className: 'legend' }, ' (rows the step changed are marked)')),
    ...(v && page.cur >= v.step ? [el('div', { className: 'stale' }, `${v.property}: ${v.message}`)] : []),
    el('h3', {}, 'page tables'), tables,
    el('h3', {}, 'CPUs'), cpus,
    caches,
    el('h3', {}, 'pending'),
    el('div', {}, `IPIs sent, not acked: ${st.pendingIpis.map((p) => `CPU${p.from}→CPU${p.to}`).join(', ') || 'none'}`),
    el('div', {}, `grace periods in progress: ${st.gracePeriods.join(', ') || 'none'}`),
    el('div', {}, `buddy free list: ${st.freeList.join(', ') || 'empty'}`),
    el('details', {}, el('summary', {}, `other locations (${st.other.length})`), el('pre', {}, st.other.map(([k, x]) => `${k} = ${x}`).join('\n'))),
  );
}

// ---------------------------------------------------------------------------------------------
// What it costs; diff

function fillProfiles(): void {
  const sel = $<HTMLSelectElement>('profile');
  const fitting = page.choices.profiles.filter((p) => p.arches.includes(page.arch));
  sel.replaceChildren(...fitting.map((p) => el('option', { value: p.id, title: p.title }, p.id)));
}

interface TimedDoc {
  sim: { profile: string };
  time_ns: number;
  window: { property: string; table: string | null; unhookToFree: number | null; freeToRead: number | null; unhookToRead: number | null; steps: { free: number | null; unhook: number | null; read: number } } | null;
  cpus: Array<{ cpu: number; CAL: number; TLB: number; sent: number; irqTime: number; blocked: number; busy: number }>;
}

async function cost(): Promise<void> {
  const r = page.replay;
  if (!r) return;
  const box = $('timed');
  box.hidden = false;
  box.textContent = 'timing…';
  try {
    const profile = $<HTMLSelectElement>('profile').value;
    const t = await ask<TimedDoc>({ type: 'timed', ...scenarioRef(), schedule: r.schedule, ...(profile ? { profile } : {}) });
    const w = t.window;
    const ns = (x: number | null): string => (x === null ? '-' : `${x.toLocaleString('en-US')} ns`);
    box.replaceChildren(
      el('h3', {}, `What it costs on ${t.sim.profile}: ${ns(t.time_ns)} for the whole schedule`),
      w ? el('div', { className: 'window' }, `race window on ${w.table ?? '?'} (unhook → free): ${ns(w.unhookToFree)}; free → ${w.property}: ${ns(w.freeToRead)}; unhook → ${w.property}: ${ns(w.unhookToRead)}`) : el('div', {}, 'no invariant violated: no race window'),
      el('table', {}, el('tr', {}, ...['CPU', 'CAL', 'TLB', 'IPIs sent', 'in IRQ', 'blocked', 'busy'].map((h) => el('th', {}, h))),
        ...t.cpus.map((c) => el('tr', {}, ...[`CPU${c.cpu}`, c.CAL, c.TLB, c.sent, ns(c.irqTime), ns(c.blocked), ns(c.busy)].map((x) => el('td', {}, String(x)))))),
    );
    box.dataset.done = '1';
  } catch (e) {
    box.textContent = (e as Error).message;
  }
}

async function diff(): Promise<void> {
  const r = page.replay;
  if (!r) return;
  const box = $('diffview');
  box.hidden = false;
  const other = $<HTMLSelectElement>('diffpreset').value;
  const sched = $<HTMLInputElement>('diffsched').value.trim() || r.schedule;
  try {
    const b = await ask<ExploreReplay>({ type: 'replay', yaml: yamlText(), file: page.file, ...(other ? { preset: other } : preset() ? { preset: preset() } : {}), schedule: sched });
    const n = Math.max(r.steps.length, b.steps.length);
    let first = -1;
    for (let i = 0; i < n; i++) {
      const x = r.steps[i];
      const y = b.steps[i];
      if (!x || !y || x.text !== y.text || x.cpu !== y.cpu) {
        first = i;
        break;
      }
    }
    for (const tr of Array.from($('lanes').querySelectorAll('tbody tr')) as HTMLElement[]) tr.classList.toggle('diff', Number(tr.dataset.step) === first);
    const line = (s: ExploreReplay['steps'][number] | undefined): string => (s ? `CPU${s.cpu ?? '-'} ${s.text}` : '(no step)');
    const rows: HTMLElement[] = [];
    for (let i = Math.max(0, first - 3); i < Math.min(n, (first < 0 ? 0 : first) + 6); i++) {
      rows.push(el('tr', { className: i === first ? 'difffirst' : '' }, el('td', {}, String(i)), el('td', {}, line(r.steps[i])), el('td', {}, line(b.steps[i]))));
    }
    box.replaceChildren(
      el('h3', {}, first < 0 ? 'the two runs are the same, step for step' : `first difference at step ${first}`),
      el('div', {}, `this run: ${r.violations.map((v) => `${v.property} at step ${v.step}`).join(', ') || 'no violation'}; the other (${other || 'same strategy'}, ${b.schedule}): ${b.violations.map((v) => `${v.property} at step ${v.step}`).join(', ') || 'no violation'}`),
      el('table', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'this run'), el('th', {}, 'the other')), ...rows),
    );
    if (first >= 0) go(Math.min(first, r.steps.length - 1));
  } catch (e) {
    box.textContent = `the other run: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Permalinks: #f=FILE&p=PRESET&s=SCHEDULE&k=STEP[&y=YAML (base64url) when edited]

function b64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function unb64(s: string): string {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

function updateHash(): void {
  const q = new URLSearchParams();
  q.set('f', page.file);
  if (preset()) q.set('p', preset());
  if (page.replay) {
    q.set('s', page.replay.schedule);
    q.set('k', String(page.cur));
  }
  if (yamlText() !== page.original) q.set('y', b64(yamlText()));
  const h = `#${q.toString()}`;
  $<HTMLAnchorElement>('permalink').href = h;
  if (location.hash !== h) history.replaceState(null, '', h);
}

async function openHash(): Promise<void> {
  const q = new URLSearchParams(location.hash.slice(1));
  const f = q.get('f');
  if (!f) return;
  const y = q.get('y');
  await openScenario(f, y !== null ? unb64(y) : undefined);
  const p = q.get('p');
  if (p !== null) $<HTMLSelectElement>('preset').value = p;
  const s = q.get('s');
  const k = q.get('k');
  if (s !== null) await explore(s, k !== null ? Number(k) : undefined);
}

// ---------------------------------------------------------------------------------------------

async function init(): Promise<void> {
  startWorker();
  page.choices = await ask<Choices>({ type: 'choices' });
  const opts = (): HTMLOptionElement[] => page.choices.strategies.map((s) => el('option', { value: s.id, title: s.title }, s.id));
  $('preset').append(...opts());
  $('diffpreset').append(el('option', { value: '' }, '(the same)'), ...opts());
  $('run').onclick = () => void runCheck();
  $('stop').onclick = () => {
    stopWorker();
    $('progress').textContent = 'stopped';
    $<HTMLButtonElement>('run').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  };
  $('first').onclick = () => go(-1);
  $('back').onclick = () => go(page.cur - 1);
  $('fwd').onclick = () => go(page.cur + 1);
  $('tomark').onclick = () => go(page.mark);
  $('cost').onclick = () => void cost();
  $('diff').onclick = () => void diff();
  $('preset').onchange = () => void validate();
  let t: ReturnType<typeof setTimeout> | undefined;
  $('yaml').oninput = () => {
    clearTimeout(t);
    t = setTimeout(() => void validate(), 300);
  };
  document.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).tagName === 'TEXTAREA' || (e.target as HTMLElement).tagName === 'INPUT') return;
    if (e.key === 'ArrowRight') go(page.cur + 1);
    if (e.key === 'ArrowLeft') go(page.cur - 1);
  });
  await loadFileList();
  await openHash();
  status('ready');
  document.body.dataset.ready = '1';
}

void init();
