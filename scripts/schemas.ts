/**
 * Write the JSON Schemas of ptlab's files to schemas/ (`npm run schemas`): scenario.json, and one
 * per result document. test/schemas.test.ts fails when the committed files are out of date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaFiles } from '../src/schemas.js';

const dir = join(import.meta.dirname, '..', 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(schemaFiles())) {
  writeFileSync(join(dir, name), text);
  console.log(`schemas/${name}`);
}
