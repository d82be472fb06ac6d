/** Reading the kernel's formats: /proc/interrupts, tracefs / trace-cmd report text, the guest's console. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { countTraceEvents, interruptDelta, parseGuestOutput, parseInterrupts, KernelTextError } from '../../src/kernel-run/output.js';
import { cpioNewc } from '../../src/kernel-run/initramfs.js';

const fx = (f: string): string => readFileSync(new URL(`./fixtures/${f}`, import.meta.url), 'utf8');

describe('/proc/interrupts', () => {
  it('reads the per-CPU lines and their difference', () => {
    const b = parseInterrupts(fx('interrupts-before.txt'));
    const a = parseInterrupts(fx('interrupts-after.txt'));
    expect(b.cpus).toBe(4);
    expect(b.lines.get('CAL')).toEqual([265, 247, 294, 133]);
    expect(b.lines.has('ERR')).toBe(false); // one column, not per CPU
    const d = interruptDelta(b, a);
    expect(d.get('TLB')).toEqual([1, 200, 1, 0]);
    expect(d.get('CAL')).toEqual([3, 201, 3, 3]);
    expect(d.get('LOC')).toEqual([450, 399, 370, 396]);
  });

  it('refuses text without the CPU header', () => {
    expect(() => parseInterrupts('CAL: 1 2\n', 'x.txt')).toThrow(KernelTextError);
    expect(() => parseInterrupts('CAL: 1 2\n', 'x.txt')).toThrow(/x\.txt: no header line/);
  });
});

describe('trace text', () => {
  it('counts tracefs events and function-tracer entries per CPU', () => {
    const ev = countTraceEvents(fx('tracefs-sample.txt'), 4);
    expect(ev.get('tlb_flush/remote_ipi_send')).toEqual([2, 0, 0, 0]);
    expect(ev.get('tlb_flush/remote_shootdown')).toEqual([0, 2, 0, 0]);
    expect(ev.get('call_function_single_entry')).toEqual([0, 2, 0, 0]);
    expect(ev.get('call_function_entry')).toEqual([0, 1, 1, 1]);
    expect(ev.get('func/tlb_remove_table_smp_sync')).toEqual([0, 1, 1, 1]);
    expect(ev.get('func/flush_tlb_func')).toEqual([0, 2, 0, 0]);
  });

  it('counts trace-cmd report lines the same way', () => {
    const ev = countTraceEvents(fx('trace-cmd-report-sample.txt'), 2);
    expect(ev.get('tlb_flush/remote_shootdown')).toEqual([0, 1]);
    expect(ev.get('tlb_flush/remote_ipi_send')).toEqual([1, 0]);
    expect(ev.get('reschedule_entry')).toEqual([0, 1]);
    expect(ev.get('call_function_entry')).toEqual([0, 1]);
  });
});

describe('guest console', () => {
  const g = parseGuestOutput(fx('smoke4-6.1-serial.log'));

  it('reads every phase of a recorded 6.1 guest', () => {
    expect(g.kernel).toBe('6.1.0-50-amd64');
    expect(g.cpus).toBe(4);
    expect(g.done).toBe(true);
    expect(g.phases.map((p) => p.name)).toEqual(['base', 'munmap', 'gup', 'fork', 'collapse', 'hugetlb', 'collapse1']);
    expect(g.phases.every((p) => p.status === 0)).toBe(true);
  });

  it('has one shootdown per munmap on the CPU spinning in the mm, one on the lazy CPU in all, none on the idle one', () => {
    const m = g.phases.find((p) => p.name === 'munmap');
    expect(m?.irq.TLB).toEqual([0, 200, 1, 0]);
    // CAL counts the shootdowns too (x86: a shootdown is a function-call IPI)
    expect((m?.irq.CAL?.[1] ?? 0) >= 200).toBe(true);
    expect(m?.trace?.['func/flush_tlb_func']?.[1]).toBe(200);
  });

  it('has the table-free sync broadcast once per MADV_COLLAPSE on every other CPU', () => {
    const c = g.phases.find((p) => p.name === 'collapse1');
    expect(c?.trace?.['func/tlb_remove_table_smp_sync']).toEqual([0, 20, 20, 20]);
  });

  it('refuses a guest that reported an error', () => {
    expect(() => parseGuestOutput('@@ptlab start cpus=2\n@@ptlab error mmap: Cannot allocate memory\n')).toThrow(/the guest workload failed: mmap: Cannot allocate memory/);
  });
});

describe('initramfs', () => {
  it('writes a newc cpio archive the kernel can unpack', () => {
    const img = gunzipSync(cpioNewc([{ name: 'bin', mode: 0o040755 }, { name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') }]));
    const text = img.toString('latin1');
    expect(text.startsWith('070701')).toBe(true);
    // header (110 bytes) + "bin\0" padded to 4, then the next header
    expect(text.slice(110, 113)).toBe('bin');
    expect(text.indexOf('070701', 6)).toBe(116);
    expect(text).toContain('init\0');
    expect(text).toContain('#!/bin/sh\n');
    expect(text).toContain('TRAILER!!!\0');
    expect(img.length % 4).toBe(0);
  });
});
