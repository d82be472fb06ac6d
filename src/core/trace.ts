/** What an execution records about each step: enough to print it per CPU and to replay it. */
import type { Cost, ThreadKind } from './op.js';
import type { DomainEvent, Loc, Value } from './value.js';

export interface StepRecord {
  /** Position in the execution, from 0. */
  readonly index: number;
  readonly thread: number;
  readonly threadName: string;
  readonly threadKind: ThreadKind;
  readonly cpu: number | null;
  readonly kind: 'access' | 'choose' | 'spawn' | 'irq-entry' | 'irq-exit';
  /** Kernel (or hardware) function that performed the step. */
  readonly fn: string;
  readonly desc: string;
  readonly note?: string;
  /** Locations read and written, including the machine's implicit ones. */
  readonly reads: readonly Loc[];
  readonly writes: ReadonlyArray<readonly [Loc, Value]>;
  /** For `choose`: the index and name of the chosen option. */
  readonly choice?: { readonly index: number; readonly option: string; readonly key: string };
  /** For `spawn`: the new thread's id. */
  readonly spawned?: number;
  /** For an access with a commutativity tag (AccessOp.commutes): the tag and the locations it covers. */
  readonly commutes?: { readonly tag: string; readonly locs: readonly Loc[] };
  readonly events: readonly DomainEvent[];
  readonly cost?: Cost;
}
