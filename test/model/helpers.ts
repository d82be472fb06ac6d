/**
 * Shared helpers for the model tests: build scenarios from YAML text, drive them with explicit
 * schedules, and look up steps and events in the trace.
 */
import { expect } from 'vitest';
import { Driver, type DomainEvent, type Execution, type StepRecord } from '../../src/core/index.js';
import type { ArchId } from '../../src/model/config.js';
import { scenarioFromText, type LoadedScenario } from '../../src/scenarios/resolve.js';

export type Knobs = Readonly<Record<string, string | number | boolean>>;

/** mm A's usual layout in these tests: heap in slot 0 (its PTE table is the one freed), stack in slot 1. */
export const HEAP_AND_STACK_VMAS: readonly string[] = ['      - { name: heap, start: 0, end: 1 }', '      - { name: stack, start: 1, end: 2 }'];

/** The standard two-CPU race of the catalog, as YAML text. */
export interface MunmapVsGupOptions {
  readonly arch: ArchId;
  /** Preset and knobs, e.g. `{ preset: 'sync-rcu', batch_alloc: 'fails' }`. */
  readonly config: Knobs;
  /** Extra flow-mapping entries for CPU1 (the GUP-fast CPU), e.g. `vcpu_preemptible: true`. */
  readonly cpu1Extra?: string;
  /** CPU2's line; default: a lazy CPU borrowing mm A that runs nothing. */
  readonly cpu2?: string;
  readonly invariants?: readonly string[];
}

/**
 * CPU0 munmaps `heap` (slot 0) of mm A, CPU1 runs GUP-fast on slot 0, CPU2 idles lazily on A
 * (the shape of scenarios/check/munmap-vs-gup-fast/*). `stack` (slot 1) stays mapped, so only the
 * PTE table A.pte0 is freed.
 */
export function munmapVsGupFastYaml(o: MunmapVsGupOptions): string {
  const inv = o.invariants ?? ['no-walk-of-freed-table', 'no-walk-of-reused-table', 'no-stale-walk-cache', 'no-sleep-in-atomic', 'no-ipi-wait-with-irqs-off'];
  const cpu1Extra = o.cpu1Extra ? `, ${o.cpu1Extra}` : '';
  return [
    'name: munmap-vs-gup-fast-test',
    `machine: { arch: ${o.arch}, cpus: 3 }`,
    `config: ${JSON.stringify(o.config)}`,
    'mm:',
    '  A:',
    '    vmas:',
    ...HEAP_AND_STACK_VMAS,
    'cpus:',
    '  - { mm: A, run: [ { munmap: heap } ] }',
    `  - { mm: A, run: [ { gup_fast: { slot: 0 } } ]${cpu1Extra} }`,
    `  - ${o.cpu2 ?? '{ mm: A, lazy: true }'}`,
    'check:',
    `  invariants: ${JSON.stringify(inv)}`,
    '',
  ].join('\n');
}

export function load(yaml: string): LoadedScenario {
  return scenarioFromText(yaml, 'test.yaml');
}

/** A fresh driver over the scenario's program. */
export function drive(yaml: string): { s: LoadedScenario; d: Driver } {
  const s = load(yaml);
  return { s, d: new Driver(s.program) };
}

export interface Found {
  readonly step: StepRecord;
  readonly ev: DomainEvent;
}

/** Every event of `type` in the trace, with the step that emitted it. */
export function events(exec: Execution, type: string): Found[] {
  const out: Found[] = [];
  for (const step of exec.trace) for (const ev of step.events) if (ev.type === type) out.push({ step, ev });
  return out;
}

/** The one event of `type` (fails the test if there is not exactly one). */
export function theEvent(exec: Execution, type: string): Found {
  const all = events(exec, type);
  expect(all, `exactly one '${type}' event`).toHaveLength(1);
  return all[0] as Found;
}

/** Index of the first step matching `pred`, or -1. */
export function stepIndex(exec: Execution, pred: (r: StepRecord) => boolean): number {
  const r = exec.trace.find(pred);
  return r ? r.index : -1;
}

/** Index of the first step matching `pred`; fails the test when there is none. */
export function mustFind(exec: Execution, pred: (r: StepRecord) => boolean, what: string): number {
  const i = stepIndex(exec, pred);
  expect(i, `a step where ${what}`).toBeGreaterThanOrEqual(0);
  return i;
}

export function threadNames(exec: Execution): string[] {
  return exec.threads.map((t) => t.spec.name);
}

export function hasThread(exec: Execution, name: string): boolean {
  return exec.threads.some((t) => t.spec.name === name);
}

/** Run `tid` until it has finished; fails if it blocks first. */
export function finish(d: Driver, tid: number): StepRecord[] {
  const out = d.run(tid);
  expect(d.done(tid), `${d.exec.thread(tid).spec.name} finished (blocked at ${d.done(tid) ? '-' : d.pending(tid).fn})`).toBe(true);
  return out;
}

/** Run `tid` until its next step has description starting with `desc` (not performing it). */
export function runUntilDesc(d: Driver, tid: number, desc: string): StepRecord[] {
  const out = d.run(tid, (p) => p.desc.startsWith(desc));
  expect(d.done(tid), `${d.exec.thread(tid).spec.name} reached '${desc}'`).toBe(false);
  expect(d.pending(tid).desc.startsWith(desc), `${d.exec.thread(tid).spec.name} is at '${desc}', not '${d.pending(tid).desc}'`).toBe(true);
  return out;
}

/** Round-robin every thread to the end (choices resolved to option 0) and expect no deadlock. */
export function drain(d: Driver): void {
  d.runAll();
  expect(d.exec.deadlocked, 'deadlocked').toBe(false);
  expect(d.exec.finished, 'every thread finished').toBe(true);
}

export const ipiName = (func: string, src: number, dst: number): string => `IPI ${func} CPU${src}->CPU${dst}`;

export function violationsOf(exec: Execution, property: string) {
  return exec.violations.filter((v) => v.property === property);
}

/** Step one thread that is not a task (an IPI handler, an RCU callback, a walker) and can run now; false if none. */
function stepHelper(d: Driver): boolean {
  const helper = d.exec.enabled().find((t) => d.exec.thread(t).spec.kind !== 'task');
  if (helper === undefined) return false;
  d.step(helper, d.pending(helper).kind === 'choose' ? 0 : undefined);
  return true;
}

/**
 * Run task `tid` to its end, letting IPI handlers and RCU callbacks (irq and agent threads) run
 * whenever it waits for them; other tasks do not step.
 */
export function complete(d: Driver, tid: number): void {
  for (let n = 0; !d.done(tid); n++) {
    if (n > 10_000) throw new Error('complete(): no progress');
    if (d.enabled(tid)) {
      d.step(tid, d.pending(tid).kind === 'choose' ? 0 : undefined);
      continue;
    }
    if (!stepHelper(d)) throw new Error(`${d.exec.thread(tid).spec.name} blocked at ${d.pending(tid).fn} with nothing to run`);
  }
}

/** Let IPI handlers and RCU callbacks that can run now run to their end. */
export function settle(d: Driver): void {
  for (let n = 0; n < 10_000; n++) if (!stepHelper(d)) return;
  throw new Error('settle(): no end');
}
