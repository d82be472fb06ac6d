/**
 * Properties: named, documented safety rules checked against the events of an execution.
 *
 * A property observes the domain events that steps emit. Whatever a monitor needs to decide must
 * travel in the events, and the step that emits an event must have the locations the event
 * describes in its footprint; that is what makes a checker that reorders only dependent steps
 * complete for the property.
 */
import type { DomainEvent, Value } from './value.js';
import type { StepRecord } from './trace.js';

export interface Violation {
  /** Property id, e.g. `no-walk-of-freed-table`. */
  readonly property: string;
  /** One sentence, in the domain's words: which CPU, which function, which object. */
  readonly message: string;
  /** Index of the step at which the property broke. */
  readonly step: number;
  readonly details: { readonly [key: string]: Value | undefined };
}

export interface Monitor {
  /** Called for every event, in execution order. Return a violation when the property breaks. */
  onEvent(event: DomainEvent, step: StepRecord): Omit<Violation, 'property' | 'step'> | null;
  /**
   * Called once when an execution has reached its final state (every thread finished, or a
   * deadlock), with read access to the final store: for properties of the end state, such as
   * "every deferred free has happened" under a fair scheduler.
   */
  onEnd?(read: (loc: string) => Value): Omit<Violation, 'property' | 'step'> | null;
}

export interface Property {
  readonly id: string;
  readonly title: string;
  /** Longer description: the rule, why it matters, which strategies it separates. */
  readonly description: string;
  /** A fresh monitor for one execution. */
  monitor(): Monitor;
  /** The monitor keeps no state between events (engines may then skip re-creating it). */
  readonly stateless?: boolean;
}

/** Convenience for stateless properties: a pure function of one event. */
export function eventProperty(
  id: string,
  title: string,
  description: string,
  check: (event: DomainEvent, step: StepRecord) => Omit<Violation, 'property' | 'step'> | null,
): Property {
  const monitor: Monitor = { onEvent: check };
  return { id, title, description, monitor: () => monitor, stateless: true };
}
