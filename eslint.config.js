// Lint rules, including the one-way layering of design.md:
// shells -> engines/scenarios/report -> model -> core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Model code never reads a clock or a random source: time and chance belong to the engines.
  {
    files: ['src/model/**/*.ts', 'src/core/**/*.ts', 'src/invariants/**/*.ts', 'src/strategies/**/*.ts', 'src/workloads/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'chance belongs to the engines (core/prng)' },
        { object: 'Date', property: 'now', message: 'time belongs to the engines' },
        { object: 'performance', property: 'now', message: 'time belongs to the engines' },
      ],
    },
  },
  layer(['src/core/**/*.ts'], ['**/model/**', '**/engines/**', '**/scenarios/**', '**/report/**', '**/cli/**', '**/strategies/**', '**/invariants/**', '**/workloads/**'],
    'core/ is domain-free and imports nothing above it'),
  layer(['src/model/**/*.ts', 'src/strategies/**/*.ts', 'src/invariants/**/*.ts', 'src/workloads/**/*.ts'], ['**/engines/**', '**/scenarios/**', '**/report/**', '**/cli/**'],
    'the model never imports an engine or a shell'),
  layer(['src/engines/**/*.ts'], ['**/model/**', '**/cli/**', '**/scenarios/**', '**/strategies/**', '**/workloads/**', '**/simulation/**', '**/profiles/**', '**/invariants/**', '**/api/**', '**/report/**'],
    'engines know ops, footprints and properties, not kernel words'),
);
