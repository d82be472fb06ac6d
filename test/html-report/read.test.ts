/** The JSONL results reader: bad input names the file, line and column. */
import { describe, expect, it } from 'vitest';
import { parseRecords, ResultsError } from '../../src/html-report/read.js';

const ok = { study: 's', index: 0, key: 'k0', axes: { strategy: 'sync-rcu', cpus: 8 }, kind: 'sim', scenario: {}, result: { schema: 'ptlab.sim/1' }, ptlabVersion: '0.1.0' };
const line = (o: object): string => JSON.stringify(o);

function err(text: string): string {
  try {
    parseRecords(text, 'r.jsonl');
  } catch (e) {
    expect(e).toBeInstanceOf(ResultsError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('parseRecords', () => {
  it('reads one record per line and skips blank lines', () => {
    const recs = parseRecords(`${line(ok)}\n\n${line({ ...ok, index: 1, key: 'k1' })}\n`, 'r.jsonl');
    expect(recs.map((r) => r.key)).toEqual(['k0', 'k1']);
  });

  it('names the line and column of a JSON syntax error', () => {
    expect(err(`${line(ok)}\n{"study": "s",, }\n`)).toMatch(/^r\.jsonl:2:15: expected one JSON PointRecord per line/);
  });

  it('says which field is wrong', () => {
    expect(err(line({ ...ok, kind: 'bench' }))).toBe("r.jsonl:1:1: expected 'kind' to be sim, compare or check");
    expect(err(line({ ...ok, index: -1 }))).toBe("r.jsonl:1:1: expected 'index' to be a non-negative integer");
    expect(err(line({ ...ok, axes: { cpus: [8] } }))).toBe("r.jsonl:1:1: expected axis 'cpus' to be a string, number or boolean");
    expect(err(line({ ...ok, result: { schema: 'ptlab.check/2' } }))).toBe("r.jsonl:1:1: expected 'result' to be a ptlab.sim/1 document (kind sim)");
    expect(err('[1, 2]')).toBe('r.jsonl:1:1: expected a JSON object (a PointRecord)');
  });

  it('refuses a point twice and an empty file', () => {
    expect(err(`${line(ok)}\n${line(ok)}`)).toBe("r.jsonl:2:1: point 'k0' of study 's' is already on line 1");
    expect(err('\n\n')).toBe('r.jsonl:1:1: expected at least one PointRecord, found none');
  });
});

describe('parseRecords on truncated and non-JSON lines', () => {
  it('points at the end of a truncated line and at the start of a line that is not JSON', () => {
    expect(err('{"study": "s"')).toMatch(/^r\.jsonl:1:14: /);
    expect(err('study: s')).toMatch(/^r\.jsonl:1:1: /);
  });
});
