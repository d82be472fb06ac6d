/** The docs index (docs/README.md) lists every document in docs/, and only those. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

describe('docs/README.md', () => {
  it('lists every doc in docs/ with a line about it', () => {
    const index = readFileSync('docs/README.md', 'utf8');
    const docs = readdirSync('docs').filter((f) => f.endsWith('.md') && f !== 'README.md').sort();
    const listed = [...index.matchAll(/^- \[([\w.-]+\.md)\]\(\1\): \S/gm)].map((m) => m[1] as string).sort();
    expect(listed).toEqual(docs);
    for (const f of listed) expect(existsSync(`docs/${f}`)).toBe(true);
  });
});
