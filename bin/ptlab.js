#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Output piped into a reader that stops early (| head): end quietly, as coreutils do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
