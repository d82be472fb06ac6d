/**
 * Tree RCU grace periods (kernel/rcu/tree.ts, the simulator's form: Kernel.rcu_tree_gp): one grace
 * period at a time, run by the GP kthread; callers that ask in the same window share it; a
 * callback queued while a grace period runs waits for the next one; a reader present when a grace
 * period starts delays its end. Explicit schedules on a 3-CPU machine.
 */
import { describe, expect, it } from 'vitest';
import { Driver, type Proc, type ThreadSpec } from '../../../../src/core/index.js';
import type { Ctx } from '../../../../src/model/kernel.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock, rcu_seq_snap, synchronize_rcu } from '../../../../src/model/kernel/rcu/tree.js';
import { rcuLoc } from '../../../../src/model/state.js';
import { preempt_disable, preempt_enable } from '../../../../src/model/kernel/sched.js';
import { local } from '../../../../src/core/index.js';
import { scenarioFromText } from '../../../../src/scenarios/resolve.js';
import { events } from '../../helpers.js';

const YAML = ['name: rcu-tree-test', 'machine: { arch: x86, cpus: 3 }', 'cpus:', '  - { run: [ idle ] }', '  - { run: [ idle ] }', '  - { run: [ idle ] }', ''].join('\n');

/** A driver over a program whose threads are `bodies` (one task per CPU), on the simulator's kernel. */
function driver(bodies: Array<(cur: Ctx) => Proc<void>>, purpose: 'sim' | 'check' = 'sim'): Driver {
  const s = scenarioFromText(YAML, 'rcu-tree-test.yaml', { purpose });
  const k = s.kernel;
  const threads: ThreadSpec[] = bodies.map((body, cpu) => ({ name: `task${cpu}`, cpu, kind: 'task', body: () => body({ k, cpu, comm: `task${cpu}`, mm: null, context: 'task' }) }));
  return new Driver({ ...s.program, threads });
}

const kthread = (d: Driver): number => d.exec.threads.findIndex((t) => t.spec.name === 'rcu_preempt');

describe('rcu_seq_snap() (kernel/rcu/rcu.h)', () => {
  it('names the end of the next grace period when none runs, of the one after when one runs', () => {
    expect(rcu_seq_snap(0)).toBe(4); // idle: grace period 1 ends at gp_seq 4
    expect(rcu_seq_snap(1)).toBe(8); // grace period 1 in progress: wait for grace period 2
    expect(rcu_seq_snap(4)).toBe(8);
  });
});

describe('Tree RCU grace periods (simulator form)', () => {
  it('two synchronize_rcu() callers that ask before the grace period starts share one', () => {
    const d = driver([(cur) => synchronize_rcu(cur), (cur) => synchronize_rcu(cur), function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); }]);
    // Both ask before the kthread runs: same snapshot, one request.
    d.run(0, (p) => p.desc.startsWith('wait for grace period'));
    d.run(1, (p) => p.desc.startsWith('wait for grace period'));
    const req = events(d.exec, 'gp_request').map((e) => e.ev.snap);
    expect(req).toEqual([4, 4]);
    expect(d.exec.read(rcuLoc.gp_seq_needed)).toBe(4);
    d.runAll();
    expect(d.done(0) && d.done(1)).toBe(true);
    expect(events(d.exec, 'gp_start')).toHaveLength(1);
    expect(events(d.exec, 'gp_end')).toHaveLength(1);
    expect(events(d.exec, 'gp_waited').map((e) => e.ev.snap)).toEqual([4, 4]);
    expect(d.exec.read(rcuLoc.gp_seq)).toBe(4);
  });

  it('a call_rcu() queued while a grace period runs waits for the next one', () => {
    const ran: string[] = [];
    const d = driver([
      (cur) => call_rcu(cur, 'a', function* () { ran.push('a'); yield* local({ fn: 'cb', desc: 'a' }); }, 'cb_a'),
      (cur) => call_rcu(cur, 'b', function* () { ran.push('b'); yield* local({ fn: 'cb', desc: 'b' }); }, 'cb_b'),
      function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); },
    ]);
    d.run(0); // queues a (snap 4), starts the kthread, spawns the callback
    const k = kthread(d);
    d.run(k, (p) => p.fn === 'rcu_gp_fqs_loop'); // wakes, rcu_gp_init(): grace period 1 runs (gp_seq 1)
    expect(d.exec.read(rcuLoc.gp_seq)).toBe(1);
    d.run(1); // queues b mid-grace-period: it needs gp_seq 8, the end of grace period 2
    expect(events(d.exec, 'gp_request').map((e) => e.ev.snap)).toEqual([4, 8]);
    d.step(k); // the first FQS scan: nobody was a reader, grace period 1 ends
    expect(d.exec.read(rcuLoc.gp_seq)).toBe(4);
    const cbB = d.exec.threads.findIndex((t) => t.spec.name === 'rcu callback cb_b');
    const cbA = d.exec.threads.findIndex((t) => t.spec.name === 'rcu callback cb_a');
    expect(d.enabled(cbB)).toBe(false);
    d.run(cbA);
    expect(ran).toEqual(['a']);
    d.runAll();
    expect(ran).toEqual(['a', 'b']);
    expect(events(d.exec, 'gp_start').map((e) => e.ev.gp)).toEqual(['gp1', 'gp2']);
  });

  it('a reader inside its critical section when the grace period starts delays its end', () => {
    const d = driver([
      (cur) => synchronize_rcu(cur),
      function* (cur) { yield* rcu_read_lock(cur, 'reader'); yield* local({ fn: 'reader', desc: 'read' }); yield* rcu_read_unlock(cur, 'reader'); },
      function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); },
    ]);
    d.step(1); // rcu_read_lock() on CPU1
    d.run(0, (p) => p.desc.startsWith('wait for grace period'));
    const k = kthread(d);
    d.run(k); // wake, init (CPU1 is a reader), first scan: CPU1 still pending; the next scan waits for it
    expect(events(d.exec, 'gp_start')[0]?.ev.readers).toEqual([1]);
    expect(events(d.exec, 'gp_end')).toEqual([]);
    d.run(0);
    expect(d.done(0)).toBe(false);
    d.step(1); // still inside
    expect(d.enabled(k)).toBe(false);
    d.step(1); // rcu_read_unlock(): the quiescent state
    expect(d.enabled(k)).toBe(true);
    d.run(0); // the background kthread scans and ends the grace period, then the caller wakes
    expect(d.done(0)).toBe(true);
    const end = events(d.exec, 'gp_end')[0];
    const unlock = d.exec.trace.findIndex((r) => r.desc === 'rcu_read_unlock()');
    expect(end && end.step.index).toBeGreaterThan(unlock);
  });

  it('synchronize_rcu() with preemption disabled (a spinlock held) still ends: the sleeping caller\'s CPU passes a quiescent state in the grace period', () => {
    const d = driver([
      function* (cur) {
        yield* preempt_disable(cur, 'test');
        yield* synchronize_rcu(cur);
        yield* preempt_enable(cur, 'test');
      },
      function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); },
      function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); },
    ]);
    d.runAll();
    expect(d.exec.deadlocked).toBe(false);
    expect(d.done(0)).toBe(true);
    expect(events(d.exec, 'gp_start')[0]?.ev.readers).toEqual([0]);
  });

  it('the checker keeps a grace period per call (no kthread)', () => {
    const d = driver([(cur) => synchronize_rcu(cur), (cur) => synchronize_rcu(cur), function* (cur) { yield* local({ fn: 'idle', desc: `CPU${cur.cpu} idles` }); }], 'check');
    d.runAll();
    expect(kthread(d)).toBe(-1);
    expect(events(d.exec, 'gp_start')).toHaveLength(2);
  });
});
