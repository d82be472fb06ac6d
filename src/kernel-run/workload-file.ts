/**
 * The WORKLOAD.yaml of `ptlab kernel-run`: which kernel to boot, how many vCPUs, and the phases
 * the guest runs, each with its operation, count and thread placement.
 *
 * ```yaml
 * name: munmap-lazy
 * kernel: { package: linux-image-6.1.0-50-amd64-unsigned }   # or { vmlinuz: PATH, config: PATH }
 * vcpus: 4
 * memory_mb: 512
 * hugepages: 8                 # 2 MiB pages reserved on the kernel command line
 * timeout: 180s
 * phases:
 *   - name: munmap
 *     op: munmap               # munmap | fork_exit | gup_fast | collapse | hugetlb_fork | baseline
 *     count: 200               # operations per op thread (baseline: milliseconds of sleep)
 *     threads:                 # one thread per entry, pinned to its CPU
 *       - { cpu: 0, role: op }     # runs the operation
 *       - { cpu: 1, role: spin }   # a thread of the same process spinning in user mode
 *       - { cpu: 2, role: sleep }  # a thread of the same process, blocked: its CPU idles, lazy in the mm
 *     child_cpu: 1             # fork_exit, hugetlb_fork: where each child runs
 * ```
 *
 * Errors name the file, line and column (ScenarioError, as for scenarios); exit 2.
 */
import { readFileSync, statSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { ScenarioError, type ScenarioIssue, type SourcePos } from '../index.js';

export const OPS = ['munmap', 'fork_exit', 'gup_fast', 'collapse', 'hugetlb_fork', 'baseline'] as const;
export type OpKind = (typeof OPS)[number];
export const ROLES = ['op', 'spin', 'sleep'] as const;
export type Role = (typeof ROLES)[number];

/** Limits: a guest of at most 16 vCPUs (TCG runs them on 2 host cores), 64 phases, 100,000 operations a phase. */
export const MAX_VCPUS = 16;
export const MAX_PHASES = 64;
export const MAX_COUNT = 100_000;
const MAX_FILE_BYTES = 1 << 20;

const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,47}$/, 'expected a name of letters, digits, _ and - (at most 48 characters)');

const durationSchema = z.union([z.int().min(1), z.string().regex(/^\d+\s*(s|min)$/, 'expected a duration such as 120s or 5min')]).transform((v) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+)\s*(s|min)$/.exec(v) as RegExpExecArray;
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
});

const thread = z.strictObject({ cpu: z.int().min(0).max(MAX_VCPUS - 1), role: z.enum(ROLES) });

const phase = z.strictObject({
  name: ident,
  op: z.enum(OPS),
  count: z.int().min(1).max(MAX_COUNT),
  threads: z.array(thread).min(1).max(64),
  child_cpu: z.int().min(0).max(MAX_VCPUS - 1).optional(),
});

export const workloadSchema = z.strictObject({
  name: ident,
  description: z.string().default(''),
  kernel: z.union([
    z.strictObject({ package: z.string().regex(/^linux-image-[a-z0-9.+-]+$/, "expected a Debian kernel package name such as 'linux-image-6.1.0-50-amd64-unsigned'") }),
    z.strictObject({ vmlinuz: z.string().min(1), config: z.string().min(1) }),
  ]),
  vcpus: z.int().min(1).max(MAX_VCPUS),
  memory_mb: z.int().min(128).max(4096).default(512),
  hugepages: z.int().min(0).max(512).default(8),
  timeout: durationSchema.default(300).refine((s) => s <= 3600, { message: 'expected a timeout of at most 3600 s' }),
  phases: z.array(phase).min(1).max(MAX_PHASES),
});

export type Workload = z.output<typeof workloadSchema>;
export type Phase = Workload['phases'][number];

function posFinder(doc: ReturnType<typeof parseDocument>, lc: LineCounter) {
  return (path: ReadonlyArray<PropertyKey>, key?: string): SourcePos | null => {
    for (let n = path.length; n >= 0; n--) {
      let node: unknown = doc.contents;
      let ok = true;
      for (const k of path.slice(0, n)) {
        if (isMap(node)) node = node.get(String(k), true);
        else if (isSeq(node) && typeof k === 'number') node = node.items[k];
        else ok = false;
        if (!ok || node === undefined) {
          ok = false;
          break;
        }
      }
      if (ok && key !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
        const kr = pair && isScalar(pair.key) ? pair.key.range : undefined;
        if (kr) {
          const p = lc.linePos(kr[0]);
          return { line: p.line, col: p.col };
        }
      }
      const range = ok ? (node as Node | undefined)?.range : undefined;
      if (range) {
        const p = lc.linePos(range[0]);
        return { line: p.line, col: p.col };
      }
    }
    return null;
  };
}

function fmtPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}

/** Parse and validate a workload's text; every problem in one ScenarioError. */
export function parseWorkload(source: string, file: string): Workload {
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.map((e) => {
      const p = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      return { file, pos: { line: p.line, col: p.col }, path: '', message: `YAML: ${e.message.split('\n')[0]}` };
    }));
  }
  const posOf = posFinder(doc, lc);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ScenarioError([{ file, pos: { line: 1, col: 1 }, path: '', message: 'expected a mapping with name, kernel, vcpus, phases' }]);
  }
  const r = workloadSchema.safeParse(raw);
  const issues: ScenarioIssue[] = [];
  if (!r.success) {
    for (const iss of r.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        for (const k of iss.keys) issues.push({ file, pos: posOf(iss.path, k), path: fmtPath([...iss.path, k]), message: `unknown key '${k}'` });
        continue;
      }
      const last = iss.path[iss.path.length - 1];
      const missing = iss.code === 'invalid_type' && /received undefined$/.test(iss.message);
      issues.push({
        file,
        pos: posOf(missing ? iss.path.slice(0, -1) : iss.path),
        path: fmtPath(iss.path),
        message: missing ? `missing key '${String(last)}'` : iss.message,
      });
    }
    throw new ScenarioError(issues);
  }
  const w = r.data;
  // Cross-field rules: CPUs inside the guest, one op thread at least, names unique, child CPU for forks.
  const names = new Set<string>();
  w.phases.forEach((ph, i) => {
    const at = (p: PropertyKey[], message: string): void => {
      issues.push({ file, pos: posOf(['phases', i, ...p]), path: fmtPath(['phases', i, ...p]), message });
    };
    if (names.has(ph.name)) at(['name'], `phase name '${ph.name}' is used twice`);
    names.add(ph.name);
    ph.threads.forEach((t, j) => {
      if (t.cpu >= w.vcpus) at(['threads', j, 'cpu'], `CPU ${t.cpu} is not in the guest (vcpus: ${w.vcpus}: CPUs 0-${w.vcpus - 1})`);
    });
    const cpus = ph.threads.map((t) => t.cpu);
    const dup = cpus.find((c, j) => cpus.indexOf(c) !== j);
    if (dup !== undefined) at(['threads'], `CPU ${dup} has two threads: one thread per CPU, so that each CPU's class (op, spin, sleep, idle) is known`);
    if (!ph.threads.some((t) => t.role === 'op')) at(['threads'], "expected at least one thread with role 'op'");
    const forks = ph.op === 'fork_exit' || ph.op === 'hugetlb_fork';
    if (forks && ph.child_cpu === undefined) at([], `op ${ph.op} needs child_cpu: the CPU each child runs on`);
    if (!forks && ph.child_cpu !== undefined) at(['child_cpu'], `child_cpu is for fork_exit and hugetlb_fork, not ${ph.op}`);
    if (ph.child_cpu !== undefined && ph.child_cpu >= w.vcpus) at(['child_cpu'], `CPU ${ph.child_cpu} is not in the guest (vcpus: ${w.vcpus})`);
    if (ph.child_cpu !== undefined && cpus.includes(ph.child_cpu) && ph.threads.find((t) => t.cpu === ph.child_cpu)?.role !== 'op') {
      at(['child_cpu'], `CPU ${ph.child_cpu} already runs a ${ph.threads.find((t) => t.cpu === ph.child_cpu)?.role} thread`);
    }
    if (ph.op === 'hugetlb_fork' && w.hugepages < 2) at(['op'], 'hugetlb_fork touches 2 huge pages: set hugepages: 2 or more');
    if (forks && ph.threads.filter((t) => t.role === 'op').length > 1) at(['threads'], `${ph.op} takes one op thread (the parent)`);
  });
  if (issues.length > 0) throw new ScenarioError(issues);
  return w;
}

export function loadWorkload(file: string): Workload {
  let source: string;
  try {
    if (statSync(file).size > MAX_FILE_BYTES) throw new ScenarioError([{ file, pos: null, path: '', message: `workload file larger than ${MAX_FILE_BYTES} bytes` }]);
    source = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError([{ file, pos: null, path: '', message: `cannot read workload (${(e as NodeJS.ErrnoException).code ?? String(e)})` }]);
  }
  return parseWorkload(source, file);
}

/** The phase lines the guest's workload program reads (/phases.txt): NAME OP COUNT CPU:ROLE,... */
export function phaseLines(w: Workload): string {
  return w.phases
    .map((ph) => {
      const roles = ph.threads.map((t) => `${t.cpu}:${t.role}`);
      if (ph.child_cpu !== undefined) roles.push(`${ph.child_cpu}:child`);
      return `${ph.name} ${ph.op} ${ph.count} ${roles.join(',')}`;
    })
    .join('\n') + '\n';
}
