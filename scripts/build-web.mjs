#!/usr/bin/env node
/**
 * Build the explorer's browser bundle (ptlab serve) into dist/web-app, or the directory given:
 * the page (src/web/app/main.ts) and its Web Worker (src/web/worker.ts: the model and the checker),
 * with esbuild; index.html and style.css copied. Part of `npm run build`, so the package ships it.
 *
 * The browser code path never touches a file: the only node: module it reaches is node:fs, which
 * the scenario loader imports for loadScenario(FILE). It is replaced by a module whose functions
 * throw, so a mistake that calls one in the browser says so instead of failing obscurely.
 */
import { build } from 'esbuild';
import process from 'node:process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'dist/web-app'));

const STUBS = {
  'node:fs': ['closeSync', 'openSync', 'readSync'],
};

const nodeStubs = {
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      if (!(args.path in STUBS)) return { errors: [{ text: `${args.path} (imported by ${args.importer}) has no browser stub: the explorer must not reach it` }] };
      return { path: args.path, namespace: 'node-stub' };
    });
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: STUBS[args.path].map((f) => `export function ${f}() { throw new Error('${args.path} ${f}() is not available in the browser'); }`).join('\n'),
      loader: 'js',
    }));
  },
};

mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(root, 'src/web/app/main.ts'), worker: join(root, 'src/web/worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [nodeStubs],
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'src/web/app', f), join(out, f));
