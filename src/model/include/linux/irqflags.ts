/**
 * include/linux/irqflags.h: local_irq_save(), local_irq_restore(), local_irq_disable(),
 * local_irq_enable(). An IRQ-disabled region is an RCU reader (reader.ts) and
 * holds off IPI handlers on this CPU (the machine delivers an interrupt only while
 * `cpuN.irqs_off` is false).
 */
import type { Proc } from '../../../core/index.js';
import type { Ctx } from '../../kernel.js';
import { readerChange } from '../../kernel/rcu/reader.js';

export type irqflags_t = boolean;

const IRQ_TOGGLE = { cls: 'irq_toggle' } as const;

/** local_irq_save(flags): returns the previous state (true = were disabled). */
export function* local_irq_save(cur: Ctx, caller: string): Proc<irqflags_t> {
  const old = yield* readerChange(cur.cpu, caller, 'local_irq_save()', 'irqs_off', () => true, IRQ_TOGGLE);
  return old.irqs_off;
}

/** local_irq_restore(flags) */
export function* local_irq_restore(cur: Ctx, caller: string, flags: irqflags_t): Proc<void> {
  yield* readerChange(cur.cpu, caller, flags ? 'local_irq_restore() (stay disabled)' : 'local_irq_restore()', 'irqs_off', () => flags, IRQ_TOGGLE);
}

export function* local_irq_disable(cur: Ctx, caller: string): Proc<void> {
  yield* readerChange(cur.cpu, caller, 'local_irq_disable()', 'irqs_off', () => true, IRQ_TOGGLE);
}

export function* local_irq_enable(cur: Ctx, caller: string): Proc<void> {
  yield* readerChange(cur.cpu, caller, 'local_irq_enable()', 'irqs_off', () => false, IRQ_TOGGLE);
}
