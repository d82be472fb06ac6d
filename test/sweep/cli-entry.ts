/** `ptlab` from the TypeScript sources, for tests that need it as a process of its own: `node --import tsx test/sweep/cli-entry.ts ARGS`. */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
