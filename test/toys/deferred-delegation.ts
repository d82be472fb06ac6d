/**
 * A Delegation (src/engines/check/subtree.ts) that hands subtrees to no other thread: it
 * explores a subtree only when its result is asked for, in this thread, with the same
 * delegation below it, so subtrees nest. Whether an explorer wants a subtree, and whether a
 * hand-out is taken, follow a seeded generator: the tests reach every path of the hand-off (taken
 * in, dropped because the guess failed, dropped at a stop, nested, cancelled) on random programs
 * without threads. Tasks and results go through structuredClone, as they do between workers.
 */
import type { Program } from '../../src/core/index.js';
import { Prng } from '../../src/core/prng.js';
import { exploreSubtree } from '../../src/engines/check/dpor.js';
import type { Delegation, SubtreeResult, SubtreeTask } from '../../src/engines/check/subtree.js';

export class DeferredDelegation implements Delegation {
  private readonly tasks = new Map<number, SubtreeTask>();
  private next = 0;
  private readonly rng: Prng;
  /** Hand-outs made, results taken back, cancelled. */
  readonly counts = { submitted: 0, waited: 0, cancelled: 0, notYet: 0 };
  /** Hand out from the first execution of a subtree on: the programs are small. */
  readonly minSubtree = 0;

  constructor(
    private readonly program: Program,
    seed: number,
    /** Chance that an explorer wants a subtree after an execution. */
    private readonly want = 0.5,
  ) {
    this.rng = new Prng(seed);
  }

  wanted(_explored: () => number): boolean {
    return this.rng.nextFloat() < this.want;
  }

  submit(task: SubtreeTask): number | null {
    if (this.rng.nextFloat() < 0.1) return null;
    const handle = this.next++;
    this.tasks.set(handle, structuredClone(task));
    this.counts.submitted++;
    return handle;
  }

  wait(handle: number, _ms: number): SubtreeResult | null {
    // Now and then not done yet: the explorer asks again.
    if (this.rng.nextFloat() < 0.2) {
      this.counts.notYet++;
      return null;
    }
    const task = this.tasks.get(handle);
    if (!task) throw new Error(`deferred delegation: no task ${handle}`);
    this.tasks.delete(handle);
    this.counts.waited++;
    return structuredClone(exploreSubtree(this.program, task, this));
  }

  cancel(handle: number): void {
    if (!this.tasks.delete(handle)) throw new Error(`deferred delegation: no task ${handle} to cancel`);
    this.counts.cancelled++;
  }

  /** Hand-outs neither waited for nor cancelled (none once a run is over). */
  get open(): number {
    return this.tasks.size;
  }
}
