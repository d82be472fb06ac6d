/**
 * Kernel against model: for each phase, the guest's interrupts per CPU class beside the
 * simulator's on the same scenario, per operation, with their ratio and why they differ.
 *
 * What is compared, per CPU class (op, spin, lazy, child, idle):
 *  - TLB: the guest's /proc/interrupts TLB line (flush_tlb_func() run from an IPI) against the
 *    model's TLB interrupts;
 *  - CAL-TLB: the guest's CAL line minus its TLB line against the model's CAL. On x86 since v4.x
 *    a TLB shootdown is a function-call IPI (smp_call_function_many_cond()), so the kernel's CAL
 *    counts it too (the guest shows CAL +201 and TLB +200 on a CPU that got 200 shootdowns);
 *    the model counts each IPI once, under TLB or CAL. CAL-TLB is what the model calls CAL;
 *  - sync: tlb_remove_table_smp_sync() run on the CPU (the guest's function tracer) against the
 *    model's CAL: the walker-sync broadcasts alone, whatever else the kernel's CAL line counts
 *    (IPIs the model does not have: remote wakeups, idle load-balance kicks, irq_work).
 * A difference over 10% is explained by the background the baseline phase measured (timer,
 * RCU and workqueue IPIs of an idle guest), by a limit of the phase's scenario, or marked
 * UNEXPLAINED.
 */
import type { CpuClass, GuestOutput, PhaseOutput } from './output.js';
import { renderTable } from '../report/table.js';
import { byClass, CPU_CLASSES, cpuClasses, operations } from './output.js';
import type { ScenarioLimit, SimCounts } from './scenario.js';
import type { Phase, Workload } from './workload-file.js';

export interface CompareRow {
  readonly metric: 'TLB' | 'CAL-TLB' | 'sync';
  readonly cls: CpuClass;
  readonly cpus: number;
  readonly kernel: number;
  readonly sim: number;
  /** kernel / sim; null when sim is 0. */
  readonly ratio: number | null;
  /** Background the baseline phase predicts on these CPUs for this phase's duration; null without a baseline. */
  readonly background: number | null;
  readonly verdict: 'agrees' | 'background' | 'unmodelled' | 'coalesced' | 'limit' | 'UNEXPLAINED';
  readonly why: string;
}

export interface PhaseComparison {
  readonly phase: string;
  readonly op: string;
  readonly operations: number;
  readonly classes: readonly CpuClass[];
  readonly rows: readonly CompareRow[];
  readonly limits: readonly ScenarioLimit[];
}

/** Background rate per CPU (count per µs) of each metric, from the first baseline phase. */
export function backgroundRates(w: Workload, g: GuestOutput): { TLB: number[]; 'CAL-TLB': number[] } | null {
  const ph = w.phases.find((p) => p.op === 'baseline');
  const out = ph ? g.phases.find((p) => p.name === ph.name) : undefined;
  if (!out || !out.elapsedUs || !out.irq.CAL || !out.irq.TLB) return null;
  const us = out.elapsedUs;
  const tlb = out.irq.TLB;
  return { TLB: tlb.map((x) => x / us), 'CAL-TLB': out.irq.CAL.map((x, i) => (x - (tlb[i] ?? 0)) / us) };
}

export function kernelCounts(out: PhaseOutput): { TLB: number[]; 'CAL-TLB': number[]; sync: number[] | null } {
  const tlb = out.irq.TLB ?? [];
  const cal = out.irq.CAL ?? [];
  const sync = out.trace?.['func/tlb_remove_table_smp_sync'] ?? (out.trace && Object.keys(out.trace).some((k) => k.startsWith('func/')) ? tlb.map(() => 0) : null);
  return { TLB: [...tlb], 'CAL-TLB': cal.map((x, i) => x - (tlb[i] ?? 0)), sync: sync ? [...sync] : null };
}

export function comparePhase(w: Workload, ph: Phase, out: PhaseOutput, sim: SimCounts, limits: readonly ScenarioLimit[], bg: ReturnType<typeof backgroundRates>): PhaseComparison {
  const classes = cpuClasses(ph, w.vcpus);
  const kc = kernelCounts(out);
  const rows: CompareRow[] = [];
  for (const metric of ['TLB', 'CAL-TLB', 'sync'] as const) {
    const kernel = kc[metric];
    if (!kernel) continue;
    const k = byClass(kernel, classes);
    const s = byClass(metric === 'TLB' ? sim.TLB : sim.CAL, classes);
    const b = bg && metric !== 'sync' && out.elapsedUs !== null && ph.op !== 'baseline' ? byClass(bg[metric].map((r) => r * (out.elapsedUs as number)), classes) : null;
    for (const cls of CPU_CLASSES) {
      const kk = k.get(cls);
      if (!kk) continue;
      const sv = s.get(cls)?.total ?? 0;
      const bv = b ? (b.get(cls)?.total ?? 0) : null;
      const diff = kk.total - sv;
      let verdict: CompareRow['verdict'];
      let why: string;
      if (Math.abs(diff) <= 0.1 * Math.max(kk.total, sv)) {
        verdict = 'agrees';
        why = diff === 0 ? 'equal' : 'within 10%';
      } else if (bv !== null && diff > 0 && diff <= Math.max(1, 1.5 * bv + 2 * Math.sqrt(bv))) {
        verdict = 'background';
        why = `the idle guest's own IPIs: the baseline phase predicts ${bv.toFixed(1)} here in ${((out.elapsedUs ?? 0) / 1000).toFixed(0)} ms`;
      } else if (ph.op === 'baseline') {
        verdict = 'background';
        why = 'the idle guest\'s own IPIs (timers, RCU, workqueues, console): the model has none';
      } else if (limits.some((l) => l.rows.some(([m, c]) => m === metric && c === cls))) {
        verdict = 'limit';
        why = `limit ${limits.findIndex((l) => l.rows.some(([m, c]) => m === metric && c === cls)) + 1} (below)`;
      } else if (metric === 'CAL-TLB' && diff < 0 && kk.total < 0 && -kk.total <= (k.get(cls) ? byClass(kc.TLB, classes).get(cls)?.total ?? 0 : 0)) {
        verdict = 'coalesced';
        why = `CAL counts interrupts and TLB counts flushes: ${-kk.total} flush(es) ran without an interrupt of their own (queued behind another call, or picked up by an idle CPU's poll loop); the model counts one interrupt per call`;
      } else if (metric === 'CAL-TLB' && diff > 0 && unmodelledIpisOn(out, classes, cls).total + (bv ?? 0) + 2 * Math.sqrt(bv ?? 0) + Math.max(2, 0.1 * diff) >= diff) {
        const sc = unmodelledIpisOn(out, classes, cls);
        verdict = 'unmodelled';
        why = `function-call IPIs the model does not have: ${sc.by}`;
      } else {
        verdict = 'UNEXPLAINED';
        why = 'no known cause';
      }
      rows.push({ metric, cls, cpus: kk.cpus, kernel: kk.total, sim: sv, ratio: sv === 0 ? null : kk.total / sv, background: bv, verdict, why });
    }
  }
  return { phase: ph.name, op: ph.op, operations: operations(ph), classes, rows, limits };
}

/** What the function-call IPIs the model does not have ran on the CPUs of a class (function tracer counts): scheduler, irq_work, text patching, expedited RCU. */
export function unmodelledIpisOn(out: PhaseOutput, classes: readonly CpuClass[], cls: CpuClass): { total: number; by: string } {
  const parts: Array<[string, number]> = [];
  for (const [fn, what] of [['sched_ttwu_pending', 'remote wakeups'], ['nohz_csd_func', 'idle load-balance kicks'], ['irq_work_single', 'irq_work queued from another CPU'], ['rto_push_irq_work_func', 'PREEMPT_RT pushing RT tasks (irq_work)'], ['do_sync_core', 'kernel text patching'], ['rcu_exp_handler', 'expedited RCU']] as const) {
    const v = out.trace?.[`func/${fn}`];
    if (!v) continue;
    const n = v.reduce((a, x, i) => a + (classes[i] === cls ? x : 0), 0);
    if (n > 0) parts.push([`${fn} ${n} (${what})`, n]);
  }
  return { total: parts.reduce((a, x) => a + x[1], 0), by: parts.map((x) => x[0]).join(', ') || 'none' };
}

function fmt(n: number, digits = 3): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export function comparisonText(cmp: readonly PhaseComparison[]): string {
  const out: string[] = [];
  for (const c of cmp) {
    out.push(`phase ${c.phase}: ${c.op} x${c.operations}; CPUs ${c.classes.map((cl, i) => `${i}=${cl}`).join(' ')}`);
    const head = ['metric', 'class', 'cpus', 'kernel', 'per op', 'sim', 'per op', 'ratio', 'bg', 'why'];
    const rows = c.rows.map((r) => [
      r.metric, r.cls, String(r.cpus), String(r.kernel), fmt(r.kernel / c.operations), String(r.sim), fmt(r.sim / c.operations),
      r.ratio === null ? (r.kernel === 0 ? '=' : 'inf') : r.ratio.toFixed(2), r.background === null ? '-' : r.background.toFixed(1), `${r.verdict}: ${r.why}`,
    ]);
    out.push(...renderTable([head, ...rows], { columns: head.map(() => ({})), indent: '  ' }));
    c.limits.forEach((l, i) => out.push(`  limit ${i + 1}: ${l.text}`));
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** Per operation and CPU class, the guest's counts (for the `kernel-run` table without a model run). */
export function kernelText(w: Workload, g: GuestOutput): string {
  const out: string[] = [];
  for (const p of g.phases) {
    const ph = w.phases.find((x) => x.name === p.name);
    if (!ph) continue;
    const classes = cpuClasses(ph, w.vcpus);
    const ops = operations(ph);
    out.push(`phase ${p.name}: ${p.op} x${ops} (${p.elapsedUs === null ? '?' : (p.elapsedUs / 1000).toFixed(0)} ms in the guest${p.status ? `, exit status ${p.status}` : ''})`);
    const lines = Object.keys(p.irq).map((l) => {
      const per = byClass(p.irq[l] as number[], classes);
      return [l, `per CPU ${(p.irq[l] as number[]).join(' ')}; per op by class: ${[...per].map(([cl, v]) => `${cl} ${fmt(v.total / ops)}`).join(', ')}`];
    });
    out.push(...renderTable(lines, { columns: [{ width: 4 }, {}], gap: ' ', indent: '  ' }));
    if (p.trace) {
      for (const [ev, v] of Object.entries(p.trace)) out.push(`  trace ${ev}: ${v.join(' ')}`);
    }
    for (const [k, v] of Object.entries(p.vmstat)) out.push(`  vmstat ${k} +${v}`);
    for (const wn of p.warnings) out.push(`  warning: ${wn}`);
  }
  return out.join('\n');
}
