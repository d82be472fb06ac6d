#!/usr/bin/env node
// The CLI, with stdout guarded against a reader that stops early (src/cli/run.ts).
import '../dist/cli/run.js';
