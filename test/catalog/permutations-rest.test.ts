/**
 * Order independence of the catalog's verdicts (permutations.ts), part 'rest': every scenario
 * under every order of its cpus: list (a seeded sample above four CPUs).
 */
import { describe, expect, it } from 'vitest';
import { findScenarios } from '../../src/api/index.js';
import { catalogPart, testOrderIndependence } from './permutations.js';

const files = catalogPart('rest');

describe('verdicts do not depend on the order of cpus (rest)', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  testOrderIndependence(files);
});

describe('the parts of the order-independence test', () => {
  it('cover the catalog, each scenario once', () => {
    const parts = [...catalogPart('munmap'), ...catalogPart('reclaim'), ...files];
    expect([...parts].sort()).toEqual(findScenarios('scenarios/check').sort());
  });
});
