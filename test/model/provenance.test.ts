/**
 * src/model/provenance.ts: every default is merged kernel code, every preset names its kernel,
 * and docs/model.md §3.1/§3.2 agree with config.ts and the presets.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, KNOB_VALUES, type KnobId } from '../../src/model/config.js';
import { isMerged, KNOB_PROVENANCE, KNOWN_UNMERGED_DEFAULTS, valueProvenance, type ValueProvenance } from '../../src/model/provenance.js';
import { strategies } from '../../src/strategies/index.js';

const KNOBS = Object.keys(KNOB_VALUES) as KnobId[];
const exceptions = new Set(KNOWN_UNMERGED_DEFAULTS.map((x) => x.knob));

describe('knob provenance', () => {
  it('covers exactly the knobs of KNOB_VALUES, and for each knob exactly its values', () => {
    expect(Object.keys(KNOB_PROVENANCE).sort()).toEqual([...KNOBS].sort());
    for (const k of KNOBS) {
      const v = KNOB_VALUES[k];
      const keys = Array.isArray(v) ? v.map(String) : v === 'boolean' ? ['true', 'false'] : ['any'];
      expect(Object.keys(KNOB_PROVENANCE[k].values).sort(), k).toEqual([...keys].sort());
      expect(KNOB_PROVENANCE[k].description.length, k).toBeGreaterThan(10);
      for (const p of Object.values(KNOB_PROVENANCE[k].values) as ValueProvenance[]) expect(p.source.length, k).toBeGreaterThan(5);
    }
  });

  it('DEFAULT_CONFIG is merged mainline throughout, but for the listed exceptions', () => {
    const unmerged = KNOBS.filter((k) => !isMerged(valueProvenance(k, DEFAULT_CONFIG[k])));
    expect(unmerged.filter((k) => !exceptions.has(k))).toEqual([]);
    // The exceptions list must not go stale: each one is still an unmerged default.
    for (const k of exceptions) expect(unmerged, `${k} is listed as an unmerged default`).toContain(k);
  });

  it('marks the deliberately broken and unmerged values as such', () => {
    expect(valueProvenance('remove_table_one', 'none').kind).toBe('counterfactual');
    expect(valueProvenance('skip_sync_if_flush_implies_ipi', true).kind).toBe('posted');
    expect(valueProvenance('x86_tlb_flush_unshared_tables', true)).toMatchObject({ kind: 'posted' });
    expect(valueProvenance('tlb_free_pages', 'before_flush').kind).toBe('counterfactual');
    expect(isMerged(valueProvenance('max_table_batch', 3))).toBe(true);
  });
});

describe('presets', () => {
  it('every preset names its kernel: merged, posted, or no kernel', () => {
    for (const s of strategies()) expect(s.kernel, s.id).toMatch(/^(merged|posted|no kernel)/);
  });

  it('a preset called merged sets only merged values; one that sets a posted value says posted', () => {
    for (const s of strategies()) {
      const kinds = (Object.entries(s.knobs) as [KnobId, unknown][]).map(([k, v]) => valueProvenance(k, v).kind);
      if (s.kernel.startsWith('merged')) expect(kinds.filter((x) => x === 'posted' || x === 'counterfactual'), s.id).toEqual([]);
      if (kinds.includes('posted')) expect(s.kernel, s.id).toMatch(/^posted/);
    }
  });
});

describe('docs/model.md §3 agrees with the code', () => {
  const doc = readFileSync(new URL('../../docs/model.md', import.meta.url), 'utf8');
  const section = (from: string, to: string): string => doc.slice(doc.indexOf(from), doc.indexOf(to));

  it('§3.1 has a row per knob listing its values, the default in bold', () => {
    const s31 = section('### 3.1 Knobs', '### 3.2 Presets');
    for (const k of KNOBS) {
      const row = s31.split('\n').find((l) => l.startsWith(`| \`${k}\` |`));
      expect(row, `§3.1 row for ${k}`).toBeDefined();
      const values = (row as string).split('|')[2] as string;
      const v = KNOB_VALUES[k];
      if (Array.isArray(v)) {
        for (const x of v) expect(values, `${k}: ${String(x)}`).toContain(`\`${String(x)}\``);
        expect(values, `${k} default`).toContain(`**\`${String(DEFAULT_CONFIG[k])}\`**`);
      } else if (v === 'boolean') {
        expect(values, `${k} default`).toContain(`**\`${String(DEFAULT_CONFIG[k])}\`**`);
      } else {
        expect(values, `${k} default`).toContain(`**${String(DEFAULT_CONFIG[k])}**`);
      }
    }
  });

  it('§3.2 has a row per preset', () => {
    const s32 = section('### 3.2 Presets', '## 4. Invariants');
    for (const s of strategies()) expect(s32, s.id).toContain(`| \`${s.id}\` |`);
  });
});
