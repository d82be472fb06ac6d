/** The small text formats the reports and the CLI share. */
import { describe, expect, it } from 'vitest';
import { cpuList, formatSeconds } from '../../src/report/format.js';

describe('formatSeconds', () => {
  it('formats durations as a kernel developer reads them', () => {
    expect(formatSeconds(3.25)).toBe('3.3 s');
    expect(formatSeconds(42)).toBe('42 s');
    expect(formatSeconds(200)).toBe('3 min 20 s');
    expect(formatSeconds(3_900)).toBe('1 h 05 min');
    expect(formatSeconds(Number.NaN)).toBe('?');
  });
});

describe('cpuList', () => {
  it('prints CPUs as the kernel prints a cpulist', () => {
    expect(cpuList([1, 2, 3, 4])).toBe('1-4');
    expect(cpuList([11, 13, 15, 16, 22, 23])).toBe('11,13,15-16,22-23');
    expect(cpuList([0])).toBe('0');
    expect(cpuList([])).toBe('');
  });
});
