/**
 * Order independence of the catalog's verdicts (permutations.ts), part 'reclaim': every scenario
 * under every order of its cpus: list (a seeded sample above four CPUs).
 */
import { describe, expect, it } from 'vitest';
import { catalogPart, testOrderIndependence } from './permutations.js';

const files = catalogPart('reclaim');

describe('verdicts do not depend on the order of cpus (reclaim)', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  testOrderIndependence(files);
});
