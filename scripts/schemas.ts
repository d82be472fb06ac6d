/**
 * Write the JSON Schemas of ptlab's files to schemas/ (`npm run schemas`): scenario.json, and one
 * per result document. test/schemas.test.ts fails when the committed files are out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaFiles } from '../src/schemas.js';
import { studyJsonSchema } from '../src/sweep/study.js';

const dir = join(import.meta.dirname, '..', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(schemaFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`schemas/${name}`);
}
// The study file of `ptlab sweep` (src/sweep/study.ts).
writeFileSync(join(dir, 'study.json'), `${JSON.stringify(studyJsonSchema(), null, 2)}\n`);
console.log('schemas/study.json');
