/** Shared helpers for the scenario tests: rejected scenarios and the source positions errors give. */
import { expect } from 'vitest';
import { ScenarioError, type SourcePos } from '../../src/scenarios/loader.js';

/** Run `load`, which must reject its scenario, and return the error. */
export function rejectionOf(load: () => unknown): ScenarioError {
  let caught: unknown;
  try {
    load();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'the scenario should have been rejected').toBeInstanceOf(ScenarioError);
  return caught as ScenarioError;
}

/** The source text from `pos` to the end of its line: what the position points at. */
export function textAt(source: string, pos: SourcePos | null): string {
  expect(pos).not.toBeNull();
  const line = source.split('\n')[pos!.line - 1];
  expect(line, `line ${pos!.line} exists`).toBeDefined();
  return line!.slice(pos!.col - 1);
}
