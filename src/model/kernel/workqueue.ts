/**
 * kernel/workqueue.c, reduced to what deferred kernel page-table freeing needs: a static
 * work_struct queued with schedule_work() (system_wq) or queue_work() on a WQ_MEM_RECLAIM
 * workqueue, run by a kworker, or by the workqueue's rescuer when no kworker can be created.
 *
 *  - queue_work_on() -> __queue_work(): test_and_set_bit(WORK_STRUCT_PENDING_BIT); a work item
 *    already pending is not queued again (schedule_work() returns false);
 *  - insert_work() + kick_pool(): an idle kworker of the pool is woken, or the pool's manager
 *    creates one (create_worker(), which allocates: it fails under memory pressure and is retried
 *    after CREATE_COOLDOWN = HZ). `kworker_create: may-fail` makes that a nondeterministic choice;
 *    a failure stands for a pressure that outlasts the execution (the model has no retry);
 *  - pool_mayday_timeout(): when creation stalls for MAYDAY_INITIAL_TIMEOUT (HZ/100, 10 ms), the
 *    pool sends a mayday to every WQ_MEM_RECLAIM workqueue with work in it; its rescuer_thread()
 *    then runs that work. A workqueue without WQ_MEM_RECLAIM (system_wq) has no rescuer;
 *  - process_one_work(): clears PENDING (set_work_pool_and_clear_pending()) before calling the
 *    function, so work queued while the function runs is run again.
 *
 * The kworker and the rescuer are agent threads bound to the queuing CPU (kworkers of a per-CPU
 * pool); neither takes model locks or changes that CPU's interrupt or preemption state.
 */
import { access, choose, internByKey, spawn, type Proc } from '../../core/index.js';
import type { Ctx } from '../kernel.js';

/** A static struct work_struct: its name and its function. */
export interface work_struct {
  readonly name: string;
  readonly func: (cur: Ctx) => Proc<void>;
}

/** A struct workqueue_struct, reduced to its name and WQ_MEM_RECLAIM (it has a rescuer). */
export interface workqueue_struct {
  readonly name: string;
  readonly mem_reclaim: boolean;
}

export const system_wq: workqueue_struct = { name: 'system_wq', mem_reclaim: false };

/** WORK_STRUCT_PENDING_BIT of a static work item (implied initial value: false, boot.ts). */
export const workPendingLoc = internByKey((work) => `work.${work}.pending`);

/** process_one_work(): clear PENDING, then run the function. */
function* process_one_work(cur: Ctx, work: work_struct, who: string): Proc<void> {
  yield* access({
    fn: 'process_one_work',
    desc: `${who}: set_work_pool_and_clear_pending(${work.name})`,
    reads: [workPendingLoc(work.name)],
    writes: [workPendingLoc(work.name)],
    effect: () => ({ writes: [[workPendingLoc(work.name), false]], events: [{ type: 'work_start', cpu: cur.cpu, work: work.name, who }] }),
  });
  yield* work.func(cur);
}

/**
 * queue_work(wq, work): returns false when the work was already pending. Otherwise wakes or
 * creates a kworker, or, when creation fails, leaves the work to the rescuer (WQ_MEM_RECLAIM) or
 * to nobody.
 */
export function* queue_work(cur: Ctx, caller: string, wq: workqueue_struct, work: work_struct): Proc<boolean> {
  const queued = yield* access<boolean>({
    fn: caller,
    desc: `queue_work(${wq.name}, ${work.name}): test_and_set_bit(WORK_STRUCT_PENDING_BIT)`,
    reads: [workPendingLoc(work.name)],
    writes: [workPendingLoc(work.name)],
    effect: ([p]) =>
      p === true
        ? { result: false, note: 'already pending' }
        : { writes: [[workPendingLoc(work.name), true]], result: true, events: [{ type: 'work_queued', cpu: cur.cpu, work: work.name, wq: wq.name }] },
  });
  if (!queued) return false;
  const k = cur.k;
  const cpu = cur.cpu;
  let created = true;
  if (k.config.kworker_create === 'may-fail') {
    created = (yield* choose({ fn: 'create_worker', desc: `create a kworker for ${wq.name} under memory pressure` }, 'kworker_create', ['created', 'failed'])) === 0;
  }
  if (created) {
    yield* spawn({ fn: 'kick_pool', desc: `wake a kworker for ${work.name}` }, {
      name: `kworker/${cpu} ${work.name}`,
      cpu,
      kind: 'agent',
      body: function* () {
        const wcur: Ctx = { k, cpu, comm: `kworker/${cpu}`, mm: null, context: 'task' };
        // worker_thread() wakes up and picks the work: a scheduling latency in the simulator.
        yield* access({ fn: 'worker_thread', desc: `kworker/${cpu} picks ${work.name}`, minWait: { cls: 'wq_wakeup' } });
        yield* process_one_work(wcur, work, `kworker/${cpu}`);
      },
    });
    return true;
  }
  if (!wq.mem_reclaim) {
    // No kworker, no rescuer: the work stays pending until the pressure ends (not in this run).
    yield* access({ fn: 'create_worker', desc: `no kworker for ${work.name}: ${wq.name} has no rescuer`, effect: () => ({ events: [{ type: 'work_stalled', cpu, work: work.name, wq: wq.name }] }) });
    return true;
  }
  yield* spawn({ fn: 'pool_mayday_timeout', desc: `mayday: ${wq.name}'s rescuer will run ${work.name}` }, {
    name: `${wq.name} rescuer`,
    cpu,
    kind: 'agent',
    body: function* () {
      const rcur: Ctx = { k, cpu, comm: `${wq.name}_rescuer`, mm: null, context: 'task' };
      yield* access({ fn: 'rescuer_thread', desc: `rescuer of ${wq.name} woken by a mayday (MAYDAY_INITIAL_TIMEOUT)`, minWait: { cls: 'wq_mayday' } });
      yield* process_one_work(rcur, work, `${wq.name} rescuer`);
    },
  });
  return true;
}

/** schedule_work(work): queue_work(system_wq, work). */
export function* schedule_work(cur: Ctx, caller: string, work: work_struct): Proc<boolean> {
  return yield* queue_work(cur, caller, system_wq, work);
}
