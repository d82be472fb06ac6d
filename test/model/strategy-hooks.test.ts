/**
 * Strategy hooks in the model (src/model/strategy-hooks.ts): each hook point is reached where the
 * kernel has it, a hook that does what the model does gives the model's exploration exactly, and a
 * hook that misbehaves is a model error naming it.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, type CheckRun } from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ptlab-hooks-'));
let n = 0;
/** A JavaScript strategy file (no type check, so the tests stay fast). */
function strategy(knobs: string, hooks: string): string {
  const f = join(dir, `h${n++}.js`);
  writeFileSync(f, `export default { id: 'h${n}', kernel: 'test', knobs: ${knobs}, hooks: { ${hooks} } };\n`);
  return f;
}

const BROADCAST = "{ pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: false }";
const SYNC_RCU = "{ pt_reclaim: false, remove_table_one: 'sync_rcu', skip_sync_if_flush_implies_ipi: false }";
const fallback = (preset: string, arch: string): string => `scenarios/check/munmap-vs-gup-fast/${preset}+${arch}+batch-fails.yaml`;

function summary(r: CheckRun): unknown {
  return { verdicts: r.result.verdicts.map((v) => [v.id, v.status]), executions: r.result.stats.executions, deadlock: r.result.deadlock !== null };
}

function modelError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof Error && e.name === 'ModelError') return e.message;
    throw e;
  }
  throw new Error('expected a ModelError');
}

describe('a hook that does what the model does explores exactly as the model', () => {
  for (const arch of ['x86', 'arm64', 'x86-kvm']) {
    it(`tlb_remove_table_sync_one as api.smp_call_function(), or as ctx.default(), on ${arch}`, () => {
      const builtin = summary(check(fallback('broadcast-ipi', arch), { stopWhenAllViolated: false }));
      const own = strategy(BROADCAST, '*tlb_remove_table_sync_one(api) { yield* api.smp_call_function(); }');
      expect(summary(check(fallback('broadcast-ipi', arch), { preset: own, stopWhenAllViolated: false }))).toEqual(builtin);
      const dflt = strategy(BROADCAST, '*tlb_remove_table_sync_one(api, ctx) { yield* ctx.default(); }');
      expect(summary(check(fallback('broadcast-ipi', arch), { preset: dflt, stopWhenAllViolated: false }))).toEqual(builtin);
    });
  }

  it('tlb_remove_table_sync_rcu as api.synchronize_rcu(), and __tlb_remove_table_one as sync then api.free_table()', () => {
    const builtin = summary(check(fallback('sync-rcu', 'arm64'), { stopWhenAllViolated: false }));
    const rcu = strategy(SYNC_RCU, '*tlb_remove_table_sync_rcu(api) { yield* api.synchronize_rcu(); }');
    expect(summary(check(fallback('sync-rcu', 'arm64'), { preset: rcu, stopWhenAllViolated: false }))).toEqual(builtin);
    const one = strategy(SYNC_RCU, '*__tlb_remove_table_one(api, ctx) { yield* api.tlb_remove_table_sync_rcu(); yield* api.free_table(ctx.table); }');
    expect(summary(check(fallback('sync-rcu', 'arm64'), { preset: one, stopWhenAllViolated: false }))).toEqual(builtin);
  });

  it('a fallback that frees at once is the no-sync strategy: violated on arm64', () => {
    const now = strategy(BROADCAST, '*__tlb_remove_table_one(api, ctx) { yield* api.free_table(ctx.table); }');
    const r = check(fallback('broadcast-ipi', 'arm64'), { preset: now });
    expect(r.result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('violated');
  });
});

describe('each hook point is where the kernel has it', () => {
  const reached: Array<[string, string, string]> = [
    ['tlb_remove_table_sync_one', fallback('broadcast-ipi', 'x86'), BROADCAST],
    ['tlb_remove_table_sync_rcu', fallback('sync-rcu', 'x86'), SYNC_RCU],
    ['__tlb_remove_table_one', fallback('broadcast-ipi', 'x86'), BROADCAST],
    ['collapse_sync', 'scenarios/check/khugepaged/no-sync+x86+split.yaml', '{}'],
    ['unshare_sync', 'scenarios/check/hugetlb/batched+arm64.yaml', '{}'],
    ['pagetable_free_kernel', 'scenarios/check/kernel-pt/immediate+no-sva+x86.yaml', '{}'],
  ];
  for (const [hook, scenario, knobs] of reached) {
    it(`${hook}: ${scenario.split('/').slice(-2).join('/')}`, () => {
      const f = strategy(knobs, `*${hook}(api) { throw new Error('reached'); }`);
      expect(modelError(() => check(scenario, { preset: f }))).toContain(`(${f}): hook ${hook}: threw: reached`);
    });
  }

  it('tlb_table_flush_implies_ipi_broadcast: true makes v8 skip the sync, on arm64 too (violated), and must be a boolean', () => {
    const knobs = "{ pt_reclaim: false, remove_table_one: 'sync_one', skip_sync_if_flush_implies_ipi: true }";
    const yes = strategy(knobs, 'tlb_table_flush_implies_ipi_broadcast(info) { return true; }');
    const r = check(fallback('broadcast-ipi', 'arm64'), { preset: yes });
    expect(r.result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('violated');
    const dflt = strategy(knobs, 'tlb_table_flush_implies_ipi_broadcast(info) { return info.default; }');
    expect(check(fallback('broadcast-ipi', 'arm64'), { preset: dflt }).result.verdicts.find((v) => v.id === 'no-walk-of-freed-table')?.status).toBe('holds');
    const bad = strategy(knobs, "tlb_table_flush_implies_ipi_broadcast() { return 'yes'; }");
    expect(modelError(() => check(fallback('broadcast-ipi', 'arm64'), { preset: bad }))).toContain('hook tlb_table_flush_implies_ipi_broadcast: returned string, expected a boolean');
  });
});

describe('a hook that misbehaves is a model error that names it', () => {
  const S = fallback('broadcast-ipi', 'x86');

  it('returns without waiting: an API call not run with yield*', () => {
    const f = strategy(BROADCAST, '*tlb_remove_table_sync_one(api) { api.synchronize_rcu(); }');
    expect(modelError(() => check(S, { preset: f }))).toContain('hook tlb_remove_table_sync_one: returned without waiting: it called api.synchronize_rcu() without running it (write `yield* api.synchronize_rcu(...)`)');
  });

  it('loops forever: a step bound per call', () => {
    const f = strategy(BROADCAST, "*tlb_remove_table_sync_one(api) { for (;;) yield* api.comment('waiting'); }");
    expect(modelError(() => check(S, { preset: f }))).toContain('hook tlb_remove_table_sync_one: took more than 10,192 steps in one call: a loop that never ends?');
  });

  it('loops forever without a step: an API-call bound', () => {
    const f = strategy(BROADCAST, '*tlb_remove_table_sync_one(api) { for (;;) api.cpu_online_mask(); }');
    expect(modelError(() => check(S, { preset: f }))).toContain('hook tlb_remove_table_sync_one: more than 1,000,000 API calls in one call without finishing');
  });

  it('leaks the table: __tlb_remove_table_one that neither frees nor hands it on', () => {
    const f = strategy(BROADCAST, '*__tlb_remove_table_one(api) { yield* api.smp_call_function(); }');
    expect(modelError(() => check(S, { preset: f }))).toMatch(/hook __tlb_remove_table_one: returned without freeing A\.pte0 or handing it on .*: the table would leak/);
  });

  it('an RCU callback that does not free the table it was handed', () => {
    const f = strategy(BROADCAST, "*__tlb_remove_table_one(api, ctx) { yield* api.call_rcu('t', function* (cb) { yield* cb.comment('forgot'); }); }");
    expect(modelError(() => check(S, { preset: f }))).toContain('hook __tlb_remove_table_one (call_rcu t): returned without freeing A.pte0');
  });

  it('bad arguments: a CPU or an mm the scenario does not have', () => {
    const cpu = strategy(BROADCAST, '*tlb_remove_table_sync_one(api) { yield* api.smp_call_function_many([7]); }');
    expect(modelError(() => check(S, { preset: cpu }))).toContain('hook tlb_remove_table_sync_one: api.smp_call_function_many(7): no such CPU (nr_cpu_ids = 3)');
    const mm = strategy(BROADCAST, "*tlb_remove_table_sync_one(api) { yield* api.mm_cpumask('B'); }");
    expect(modelError(() => check(S, { preset: mm }))).toContain("api.mm_cpumask(B): no such mm (the scenario has: A)");
  });
});
