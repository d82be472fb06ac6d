/** WORKLOAD.yaml: what is accepted, and errors with file, line and column (exit 2, nothing on stdout). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioError } from '../../src/index.js';
import { parseWorkload, phaseLines } from '../../src/kernel-run/workload-file.js';
import { main } from '../../src/cli/main.js';

const GOOD = `name: w
kernel: { package: linux-image-6.1.0-50-amd64-unsigned }
vcpus: 4
phases:
  - { name: m, op: munmap, count: 10, threads: [ { cpu: 0, role: op }, { cpu: 1, role: spin }, { cpu: 2, role: sleep } ] }
  - { name: f, op: fork_exit, count: 5, threads: [ { cpu: 0, role: op } ], child_cpu: 1 }
`;

function issues(text: string): string[] {
  try {
    parseWorkload(text, 'w.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('workload file', () => {
  it('parses a workload and writes the guest phase lines', () => {
    const w = parseWorkload(GOOD, 'w.yaml');
    expect(w.memory_mb).toBe(512);
    expect(w.timeout).toBe(300);
    expect(phaseLines(w)).toBe('m munmap 10 0:op,1:spin,2:sleep\nf fork_exit 5 0:op,1:child\n');
  });

  it('names the line and column of each problem', () => {
    const bad = GOOD.replace('{ cpu: 2, role: sleep }', '{ cpu: 7, role: sleep }').replace('child_cpu: 1', 'child_cpu: 1, extra: 2');
    const msgs = issues(bad);
    expect(msgs).toContain("w.yaml:6:90: error: phases[1].extra: unknown key 'extra'");
    expect(issues(bad.replace(', extra: 2', '')).join('\n')).toMatch(/^w\.yaml:5:\d+: error: phases\[0\]\.threads\[2\]\.cpu: CPU 7 is not in the guest \(vcpus: 4: CPUs 0-3\)$/m);
  });

  it('asks for child_cpu on fork phases, an op thread, unique names and one thread per CPU', () => {
    const t = (s: string): string => issues(s).join('\n');
    expect(t(GOOD.replace(', child_cpu: 1', ''))).toMatch(/phases\[1\]: op fork_exit needs child_cpu/);
    expect(t(GOOD.replace('{ cpu: 0, role: op }, { cpu: 1, role: spin }', '{ cpu: 0, role: spin }, { cpu: 1, role: spin }'))).toMatch(/expected at least one thread with role 'op'/);
    expect(t(GOOD.replace('name: f,', 'name: m,'))).toMatch(/phase name 'm' is used twice/);
    expect(t(GOOD.replace('{ cpu: 1, role: spin }', '{ cpu: 0, role: spin }'))).toMatch(/CPU 0 has two threads/);
    expect(t(GOOD.replace('op: munmap', 'op: munmapp'))).toMatch(/^w\.yaml:5:\d+: error: phases\[0\]\.op: /m);
    expect(t(GOOD.replace('vcpus: 4', 'vcpus: 40'))).toMatch(/^w\.yaml:3:8: error: vcpus: /m);
  });

  it('ptlab kernel-run exits 2 on a bad workload, with the message on stderr and nothing on stdout', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ptlab-kr-'));
    const f = join(d, 'bad.yaml');
    writeFileSync(f, GOOD.replace('vcpus: 4', 'vcpus: 0'));
    const out: string[] = [];
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['kernel-run', f], (s) => out.push(s))).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(out).toEqual([]);
    expect(err.join('')).toContain(`${f}:3:8: error: vcpus:`);
  });
});
