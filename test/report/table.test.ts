/** The one table renderer of the text reports. */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pad, renderTable } from '../../src/report/table.js';
import { procInterrupts } from '../../src/report/sim.js';
import type { SimMetricsData } from '../../src/simulation/metrics.js';

describe('renderTable', () => {
  it('sizes each column to its widest cell, aligns left or right, trims the line ends', () => {
    expect(renderTable([['op', 'count'], ['munmap', '12'], ['gup_fast', '3']], { columns: [{}, { align: 'right' }] })).toEqual([
      'op        count',
      'munmap       12',
      'gup_fast      3',
    ]);
  });

  it('keeps a least width, per-gap separators, an indent, and rows shorter than the header', () => {
    expect(renderTable([['a', 'b', 'c'], ['x']], { columns: [{ width: 4 }, { align: 'right', width: 3 }, {}], gap: ['|', ' '], indent: '> ' })).toEqual(['> a   |  b c', '> x']);
  });

  it('counts characters, not bytes (µs)', () => {
    expect(renderTable([['min µs'], ['1.5']], { columns: [{ align: 'right' }] })).toEqual(['min µs', '   1.5']);
    expect(pad('µ', 3, 'right')).toBe('  µ');
  });

  it('prints /proc/interrupts with each CPU label right above its counts', () => {
    const m = { cpus: 2, interrupts: [{ CAL: 3, TLB: 120 }, { CAL: 0, TLB: 7 }] } as unknown as SimMetricsData;
    const lines = procInterrupts(m).split('\n');
    expect(lines[0]).toBe('           CPU0      CPU1');
    expect(lines[1]).toBe(' CAL:         3         0   Function call interrupts');
    expect(lines[2]).toBe(' TLB:       120         7   TLB shootdowns');
    expect(lines[0]?.indexOf('CPU0') as number + 4).toBe(lines[2]?.indexOf('120') as number + 3);
  });

  it('is the only place in src/ that pads columns by hand (fixed-width formats aside: cyclictest lines, cpio hex, durations)', () => {
    const formats = [/T:\$\{/, /toString\(16\)\.padStart\(8, '0'\)/, /padStart\(2, '0'\)/];
    const files = (readdirSync('src', { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== join('report', 'table.ts'));
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) {
      const lines = readFileSync(join('src', f), 'utf8').split('\n').filter((l) => /padEnd|padStart/.test(l));
      expect(lines.filter((l) => !formats.some((re) => re.test(l))), f).toEqual([]);
    }
  });
});
