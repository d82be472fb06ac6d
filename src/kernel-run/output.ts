/**
 * Reading what the guest printed: `@@ptlab` lines of the workload (workload.c) on the serial
 * console, into per-phase counts; and the kernel's own text formats, `/proc/interrupts` and
 * tracefs / `trace-cmd report` lines, which `ptlab calibrate` also reads on their own.
 */
import type { Phase, Workload } from './workload-file.js';

/** A /proc/interrupts table: the CPU columns and, per line label (CAL, TLB, RES, LOC...), a count per CPU. */
export interface InterruptTable {
  readonly cpus: number;
  readonly lines: ReadonlyMap<string, readonly number[]>;
}

export class KernelTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelTextError';
  }
}

/** Parse /proc/interrupts text (the header line with CPU0 CPU1 ..., then one line per source). */
export function parseInterrupts(text: string, where = '/proc/interrupts'): InterruptTable {
  const rows = text.split('\n').filter((l) => l.trim() !== '');
  const headIdx = rows.findIndex((l) => /^\s*CPU\d+(\s+CPU\d+)*\s*$/.test(l));
  if (headIdx < 0) throw new KernelTextError(`${where}: no header line of CPU columns (CPU0 CPU1 ...)`);
  const cpus = (rows[headIdx] as string).trim().split(/\s+/).length;
  const lines = new Map<string, number[]>();
  for (const l of rows.slice(headIdx + 1)) {
    const m = /^\s*([A-Za-z0-9_]+):\s*(.*)$/.exec(l);
    if (!m) continue;
    const fields = (m[2] as string).trim().split(/\s+/);
    const counts: number[] = [];
    for (let i = 0; i < cpus && i < fields.length; i++) {
      if (!/^\d+$/.test(fields[i] as string)) break;
      counts.push(Number(fields[i]));
    }
    if (counts.length === cpus) lines.set(m[1] as string, counts);
  }
  return { cpus, lines };
}

/** after - before, per line and CPU (lines in both). */
export function interruptDelta(before: InterruptTable, after: InterruptTable): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, a] of after.lines) {
    const b = before.lines.get(k);
    if (b && b.length === a.length) out.set(k, a.map((x, i) => x - (b[i] as number)));
  }
  return out;
}

/**
 * Events of tracefs text (`/sys/kernel/tracing/trace`, or `trace-cmd report`), counted per CPU:
 * `call_function_entry`, `call_function_single_entry`, `reschedule_entry`, `tlb_flush/<reason>`
 * (`remote_shootdown`, `remote_ipi_send`, `local_mm_shootdown`, `flush_on_task_switch`...), and
 * the function tracer's entries as `func/<name>` (e.g. `func/tlb_remove_table_smp_sync`).
 */
export function countTraceEvents(text: string, cpus: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    // "  comm-pid  [003] d.h1.  123.456789: event: fields" (tracefs; trace-cmd report has the same
    // shape), or the function tracer's "... 123.456789: func <-caller", counted as func/<func>.
    const f = /\[(\d+)\][^:]*?\s(\d+\.\d+):\s+([A-Za-z_0-9.]+) <-\S+\s*$/.exec(line);
    const m = f ? null : /\[(\d+)\][^:]*?\s(\d+\.\d+):\s+([a-z_0-9]+):\s?(.*)$/.exec(line);
    const hit = f ?? m;
    if (!hit) continue;
    const cpu = Number(hit[1]);
    if (cpu >= cpus) continue;
    let key = f ? `func/${f[3] as string}` : (hit[3] as string);
    if (m && key === 'tlb_flush') {
      const r = /reason:([^()]*?)\s*\(/.exec(m[4] as string) ?? /reason:(\S+)/.exec(m[4] as string);
      if (r) key = `tlb_flush/${(r[1] as string).trim().replace(/\s+/g, '_')}`;
    }
    let row = out.get(key);
    if (!row) out.set(key, (row = new Array<number>(cpus).fill(0)));
    row[cpu] = (row[cpu] as number) + 1;
  }
  return out;
}

export interface PhaseOutput {
  readonly name: string;
  readonly op: string;
  readonly count: number;
  readonly status: number | null;
  /** Wall time of the operations in the guest (emulated: not hardware timing). */
  readonly elapsedUs: number | null;
  /** /proc/interrupts after - before, per line (CAL, TLB, RES) and CPU. */
  readonly irq: { readonly [line: string]: readonly number[] };
  /** /proc/vmstat nr_tlb_* after - before (absent without CONFIG_DEBUG_TLBFLUSH). */
  readonly vmstat: { readonly [key: string]: number };
  /** tracefs events recorded during the phase, per CPU; null when the guest has no tracefs. */
  readonly trace: { readonly [event: string]: readonly number[] } | null;
  readonly traceLost: number;
  readonly warnings: readonly string[];
}

export interface GuestOutput {
  readonly kernel: string | null;
  readonly cpus: number;
  readonly hugepages: number | null;
  readonly traceEvents: readonly string[];
  readonly missingEvents: readonly string[];
  readonly phases: readonly PhaseOutput[];
  readonly done: boolean;
}

interface Building {
  name: string;
  op: string;
  count: number;
  status: number | null;
  elapsedUs: number | null;
  snaps: { before: string[]; after: string[] };
  vm: { before: Map<string, number>; after: Map<string, number> };
  trace: Map<string, number[]> | null;
  traceLost: number;
  warnings: string[];
}

/** Parse the serial console of a kernel-run guest. */
export function parseGuestOutput(serial: string): GuestOutput {
  let kernel: string | null = null;
  let cpus = 0;
  let hugepages: number | null = null;
  let done = false;
  const traceEvents: string[] = [];
  const missing: string[] = [];
  const phases: Building[] = [];
  const byName = new Map<string, Building>();
  const errors: string[] = [];
  for (const raw of serial.split(/\r?\n/)) {
    const at = raw.indexOf('@@ptlab ');
    if (at < 0) continue;
    const line = raw.slice(at + '@@ptlab '.length);
    const [tag, ...rest] = line.split(' ');
    switch (tag) {
      case 'kernel':
        kernel = rest[0] ?? null;
        break;
      case 'hugepages':
        hugepages = Number(rest[0]);
        break;
      case 'start':
        cpus = Number(/cpus=(\d+)/.exec(line)?.[1] ?? 0);
        break;
      case 'trace':
        if (rest[0] === 'event') traceEvents.push(rest[1] as string);
        else if (rest[0] === 'missing') missing.push(rest[1] as string);
        break;
      case 'phase': {
        const [name, what] = rest as [string, string];
        if (rest[rest.length - 1] === 'begin') {
          const b: Building = { name, op: what, count: Number(rest[2]), status: null, elapsedUs: null, snaps: { before: [], after: [] }, vm: { before: new Map(), after: new Map() }, trace: null, traceLost: 0, warnings: [] };
          phases.push(b);
          byName.set(name, b);
        } else {
          const b = byName.get(name);
          const st = /status=(\d+)/.exec(line);
          if (b && st) b.status = Number(st[1]);
        }
        break;
      }
      case 'irq': {
        const [name, when] = rest as [string, 'before' | 'after'];
        byName.get(name)?.snaps[when].push(rest.slice(2).join(' '));
        break;
      }
      case 'vmstat': {
        const [name, when, key, value] = rest as [string, 'before' | 'after', string, string];
        byName.get(name)?.vm[when].set(key, Number(value));
        break;
      }
      case 'tracecount': {
        const [name, key, ...counts] = rest as [string, string, ...string[]];
        const b = byName.get(name);
        if (b) (b.trace ??= new Map()).set(key, counts.map(Number));
        break;
      }
      case 'tracelost': {
        const b = byName.get(rest[0] as string);
        if (b) {
          b.traceLost = Number(rest[1]);
          b.trace ??= new Map();
        }
        break;
      }
      case 'elapsed': {
        const b = byName.get(rest[0] as string);
        if (b) b.elapsedUs = Number(rest[1]);
        break;
      }
      case 'warn':
        phases[phases.length - 1]?.warnings.push(rest.join(' '));
        break;
      case 'error':
        errors.push(rest.join(' '));
        break;
      case 'done':
        done = true;
        break;
      default:
        break;
    }
  }
  if (errors.length > 0) throw new KernelTextError(`the guest workload failed: ${errors.join('; ')}`);
  return {
    kernel,
    cpus,
    hugepages,
    traceEvents,
    missingEvents: missing,
    done,
    phases: phases.map((b) => {
      const irq: Record<string, number[]> = {};
      if (b.snaps.before.length > 0 && b.snaps.after.length > 0) {
        const d = interruptDelta(parseInterrupts(b.snaps.before.join('\n'), `phase ${b.name} before`), parseInterrupts(b.snaps.after.join('\n'), `phase ${b.name} after`));
        for (const [k, v] of d) irq[k] = v;
      }
      const vmstat: Record<string, number> = {};
      for (const [k, v] of b.vm.after) vmstat[k] = v - (b.vm.before.get(k) ?? 0);
      return {
        name: b.name,
        op: b.op,
        count: b.count,
        status: b.status,
        elapsedUs: b.elapsedUs,
        irq,
        vmstat,
        trace: b.trace ? Object.fromEntries([...b.trace].sort((x, y) => (x[0] < y[0] ? -1 : 1))) : null,
        traceLost: b.traceLost,
        warnings: b.warnings,
      };
    }),
  };
}

/** What a CPU does in a phase: runs the operation, spins or sleeps in the mm, runs the children, or nothing. */
export type CpuClass = 'op' | 'spin' | 'lazy' | 'child' | 'idle';
export const CPU_CLASSES: readonly CpuClass[] = ['op', 'spin', 'lazy', 'child', 'idle'];

export function cpuClasses(ph: Phase, vcpus: number): CpuClass[] {
  return Array.from({ length: vcpus }, (_, c) => {
    const t = ph.threads.find((x) => x.cpu === c);
    if (t) return t.role === 'op' ? 'op' : t.role === 'spin' ? 'spin' : 'lazy';
    return ph.child_cpu === c ? 'child' : 'idle';
  });
}

/** Operations a phase performs in all (count per op thread × op threads). */
export function operations(ph: Phase): number {
  return ph.count * ph.threads.filter((t) => t.role === 'op').length;
}

/** Per class: the sum over its CPUs of a per-CPU count, and how many CPUs it has. */
export function byClass(counts: readonly number[], classes: readonly CpuClass[]): Map<CpuClass, { total: number; cpus: number }> {
  const out = new Map<CpuClass, { total: number; cpus: number }>();
  classes.forEach((cl, i) => {
    const e = out.get(cl) ?? { total: 0, cpus: 0 };
    e.total += counts[i] ?? 0;
    e.cpus += 1;
    out.set(cl, e);
  });
  return out;
}

/** The phase of the workload a phase output belongs to (by name). */
export function phaseOf(w: Workload, name: string): Phase | undefined {
  return w.phases.find((p) => p.name === name);
}
