/**
 * `ptlab calibrate`: fit what the kernel's counts can fit, from a kernel-run result, a pair of
 * /proc/interrupts snapshots, or tracefs / `trace-cmd report` text:
 *  - IPIs per operation, per CPU (and per CPU class when the input knows the classes);
 *  - the lazy-hit share: of the TLB-shootdown IPIs a CPU received, the share that found it lazy
 *    or no longer in the mm (x86 flush_tlb_func() returns before its tlb_flush
 *    "remote shootdown" event then: it switches to init_mm instead of flushing);
 *  - fallbacks per munmap: broadcast function-call IPIs reaching the idle CPUs during munmap
 *    phases (only tlb_remove_table_sync_one() broadcasts there), net of the baseline's rate:
 *    the rate at which the GFP_NOWAIT table-batch allocation failed, which the simulator takes as
 *    `sim.alloc_fail_rate` / `--alloc-fail-rate`.
 * Every fitted number carries the source it came from. The output is a profile override file:
 * `sim:` keys a scenario (and the matching command-line options) accept, and the fitted counts.
 * Emulated timing is not hardware timing: no cost parameter (ns) is fitted from a TCG guest.
 */
import { readFileSync } from 'node:fs';
import { ScenarioError } from '../scenarios/loader.js';
import { renderTable } from '../report/table.js';
import type { KernelRunResult } from './run.js';
import { byClass, countTraceEvents, cpuClasses, interruptDelta, operations, type InterruptTable } from './output.js';
import { backgroundRates } from './compare.js';

export interface Fitted {
  readonly name: string;
  readonly value: number;
  readonly source: string;
}

export interface Calibration {
  readonly schema: 'ptlab.calibration/1';
  /** Scenario `sim:` keys (and `--alloc-fail-rate`), fitted; absent when the input cannot tell. */
  readonly sim: { readonly alloc_fail_rate?: number };
  readonly fitted: readonly Fitted[];
  readonly notes: readonly string[];
}

const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** From a kernel-run result (`ptlab kernel-run --json` or its --out kernel-run.json). */
export function calibrateKernelRun(run: KernelRunResult, file: string): Calibration {
  const w = run.workload;
  const fitted: Fitted[] = [];
  const notes: string[] = [];
  const bg = backgroundRates(w, run.guest);
  let fallbackOps = 0;
  let fallbackBroadcasts = 0;
  const fallbackSource: string[] = [];
  for (const out of run.guest.phases) {
    const ph = w.phases.find((p) => p.name === out.name);
    if (!ph || ph.op === 'baseline') continue;
    const classes = cpuClasses(ph, w.vcpus);
    const ops = operations(ph);
    const src = `${file}: phase ${ph.name} (${ph.op} x${ops}, ${w.vcpus} vCPUs, ${run.kernel.release})`;
    const tlb = out.irq.TLB ?? [];
    const cal = out.irq.CAL ?? [];
    const calOnly = cal.map((x, i) => x - (tlb[i] ?? 0));
    for (const [metric, counts] of [['TLB', tlb], ['CAL-TLB', calOnly]] as const) {
      for (const [cl, v] of byClass(counts, classes)) {
        fitted.push({ name: `ipis_per_op.${ph.op}.${metric}.${cl}`, value: r4(v.total / ops), source: `${src}: /proc/interrupts ${metric} ${v.total} on ${v.cpus} ${cl} CPU(s) / ${ops}` });
      }
    }
    if (out.trace) {
      const shoot = out.trace['tlb_flush/remote_shootdown'] ?? [];
      const received = tlb.reduce((a, b) => a + b, 0);
      const flushed = shoot.reduce((a, b) => a + b, 0);
      if (received > 0) {
        fitted.push({ name: `lazy_hit_share.${ph.op}`, value: r4(Math.max(0, received - flushed) / received), source: `${src}: ${received} TLB IPIs received, ${flushed} tlb_flush "remote shootdown" events (the rest found the CPU lazy or out of the mm)` });
      }
      if (ph.op === 'munmap') {
        const multi = out.trace.call_function_entry ?? [];
        const idle = classes.map((c, i) => (c === 'idle' ? i : -1)).filter((i) => i >= 0);
        if (idle.length > 0) {
          const perCpu = idle.map((i) => (multi[i] ?? 0) - (bg && out.elapsedUs ? (bg['CAL-TLB'][i] ?? 0) * out.elapsedUs : 0));
          const broadcasts = Math.max(0, Math.min(...perCpu));
          fallbackOps += ops;
          fallbackBroadcasts += broadcasts;
          fallbackSource.push(`${ph.name}: min over idle CPUs ${idle.join(',')} of call_function_entry net of baseline = ${broadcasts.toFixed(1)} for ${ops} munmaps`);
        }
      }
    }
  }
  if (fallbackOps > 0) {
    fitted.push({ name: 'fallbacks_per_munmap', value: r4(fallbackBroadcasts / fallbackOps), source: `${file}: ${fallbackSource.join('; ')}` });
  } else {
    notes.push('no munmap phase with an idle CPU and tracefs: fallbacks per munmap not fitted');
  }
  notes.push('no memory-pressure knob in the guest yet: fallbacks are fitted at the pressure the guest had (none)');
  notes.push('no cost parameter is fitted: a TCG guest\'s timing is not hardware timing');
  return {
    schema: 'ptlab.calibration/1',
    sim: fallbackOps > 0 ? { alloc_fail_rate: r4(Math.min(1, fallbackBroadcasts / fallbackOps)) } : {},
    fitted,
    notes,
  };
}

/** From two /proc/interrupts snapshots around `ops` operations of `op`. */
export function calibrateInterrupts(before: InterruptTable, after: InterruptTable, ops: number, op: string, files: string): Calibration {
  const d = interruptDelta(before, after);
  const fitted: Fitted[] = [];
  const tlb = d.get('TLB');
  const cal = d.get('CAL');
  for (const [line, counts] of d) {
    if (!['CAL', 'TLB', 'RES'].includes(line)) continue;
    counts.forEach((n, cpu) => fitted.push({ name: `ipis_per_op.${op}.${line}.cpu${cpu}`, value: r4(n / ops), source: `${files}: /proc/interrupts ${line} CPU${cpu} +${n} / ${ops}` }));
  }
  if (tlb && cal) {
    const total = cal.reduce((a, b) => a + b, 0) - tlb.reduce((a, b) => a + b, 0);
    fitted.push({ name: `ipis_per_op.${op}.CAL-TLB.all`, value: r4(total / ops), source: `${files}: CAL - TLB summed over ${cal.length} CPUs = ${total} / ${ops}` });
  }
  return { schema: 'ptlab.calibration/1', sim: {}, fitted, notes: ['CPU classes are not known from /proc/interrupts alone: counts are per CPU'] };
}

/** From tracefs / trace-cmd report text covering `ops` operations of `op`. */
export function calibrateTrace(text: string, cpus: number, ops: number, op: string, file: string): Calibration {
  const ev = countTraceEvents(text, cpus);
  const fitted: Fitted[] = [];
  const notes: string[] = [];
  if (ev.size === 0) notes.push(`${file}: no tlb_flush, call_function* or reschedule events found`);
  for (const [k, v] of [...ev].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const total = v.reduce((a, b) => a + b, 0);
    fitted.push({ name: `events_per_op.${op}.${k}`, value: r4(total / ops), source: `${file}: ${total} ${k} events (per CPU ${v.join(' ')}) / ${ops}` });
  }
  const ipis = (ev.get('call_function_entry') ?? []).reduce((a, b) => a + b, 0) + (ev.get('call_function_single_entry') ?? []).reduce((a, b) => a + b, 0);
  const shoot = (ev.get('tlb_flush/remote_shootdown') ?? []).reduce((a, b) => a + b, 0);
  if (ipis > 0) fitted.push({ name: `ipis_per_op.${op}.function_call`, value: r4(ipis / ops), source: `${file}: call_function_entry + call_function_single_entry = ${ipis} / ${ops}` });
  if (shoot > 0) fitted.push({ name: `shootdowns_per_op.${op}`, value: r4(shoot / ops), source: `${file}: tlb_flush "remote shootdown" = ${shoot} / ${ops}` });
  notes.push('a lazy CPU hit by a shootdown leaves no tlb_flush event: the lazy-hit share needs the TLB line of /proc/interrupts beside the trace (kernel-run records both)');
  return { schema: 'ptlab.calibration/1', sim: {}, fitted, notes };
}

export function calibrationText(c: Calibration): string {
  const lines = renderTable(c.fitted.map((f) => [f.name, String(f.value), f.source]), { columns: [{ width: 10 }, { width: 8, align: 'right' }, {}] });
  const sim = Object.entries(c.sim).map(([k, v]) => `sim.${k}: ${v}   (scenario sim: section, or --${k.replace(/_/g, '-')} ${v})`);
  return [...lines, ...(sim.length ? ['', ...sim] : []), ...(c.notes.length ? ['', ...c.notes.map((n) => `note: ${n}`)] : [])].join('\n');
}


/**
 * Read a calibration file (`ptlab calibrate -o`) for `ptlab sim|compare --calibration`: its `sim:`
 * keys, checked. Throws ScenarioError naming the file (exit 2).
 */
export function readCalibration(file: string): Calibration {
  const fail = (message: string): ScenarioError => new ScenarioError([{ file, pos: null, path: '', message }]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fail(`cannot read the calibration file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw fail(`not JSON: ${(e as Error).message}`);
  }
  const c = data as Partial<Calibration> | null;
  if (c === null || typeof c !== 'object' || c.schema !== 'ptlab.calibration/1') throw fail("expected a calibration file (schema 'ptlab.calibration/1', as ptlab calibrate -o writes)");
  const rate = c.sim?.alloc_fail_rate;
  if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) throw fail(`sim.alloc_fail_rate: expected a probability in [0, 1], got ${JSON.stringify(rate)}`);
  return { schema: 'ptlab.calibration/1', sim: rate !== undefined ? { alloc_fail_rate: rate } : {}, fitted: c.fitted ?? [], notes: c.notes ?? [] };
}
