/** `ptlab serve [DIR] [--port 7377] [--host H]`: the explorer on a local web server. */
import { Command, InvalidArgumentError } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinScenarioDir } from '../index.js';
import { isLoopback, startServer, type RunningServer } from './server.js';

export const DEFAULT_PORT = 7377;

/** The explorer's bundle: dist/web-app of the package (built by npm run build). */
export function bundleDir(): string {
  return fileURLToPath(new URL('../../dist/web-app/', import.meta.url));
}

function portArg(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError(`expected a port number from 0 to 65535, got '${v}'`);
  return n;
}

/** Bad input to serve (exit 2): the message says what. */
export class ServeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeError';
  }
}

/** Start serving; `onListening` gets the running server (tests close it). */
export async function serve(dir: string | undefined, flags: { port: number; host: string }, log: (s: string) => void, warn: (s: string) => void): Promise<RunningServer> {
  const root = dir ?? builtinScenarioDir();
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ServeError(`${root}: not a directory`);
  const bundle = bundleDir();
  if (!existsSync(`${bundle}/index.html`)) throw new ServeError(`the explorer is not built (${bundle}): run npm run build`);
  if (!isLoopback(flags.host)) warn(`ptlab serve: WARNING: listening on ${flags.host}, not the loopback address: anyone who can reach this machine can read the files under ${root}`);
  const s = await startServer({ dir: root, bundle, host: flags.host, port: flags.port }).catch((e: NodeJS.ErrnoException) => {
    throw new ServeError(`cannot listen on ${flags.host}:${flags.port}: ${e.code ?? e.message}`);
  });
  log(`ptlab explorer: ${s.url}  (scenarios and results under ${root}; Ctrl-C to stop)`);
  return s;
}

/** Add `serve` to the program. */
export function registerServe(program: Command, out: (s: string) => void, onServer: (s: RunningServer) => void = () => {}): void {
  program
    .command('serve')
    .description('the explorer in a browser: check a scenario in a Web Worker, step through a counterexample per CPU with the state at each step, what the race costs (docs/serve.md)')
    .argument('[dir]', 'directory of scenarios (.yaml) and result files (.json) (default: the built-in catalog)')
    .option('--port <n>', `port (0: any free one)`, portArg, DEFAULT_PORT)
    .option('--host <h>', 'address to bind (anything but loopback prints a warning)', '127.0.0.1')
    .action(async (dir: string | undefined, flags: { port: number; host: string }, cmd: Command) => {
      try {
        onServer(await serve(dir, flags, out, (s) => process.stderr.write(`${s}\n`)));
      } catch (e) {
        // Exit 2 with the message (commander's error path: no stack trace).
        if (e instanceof ServeError) cmd.error(`ptlab: ${e.message}`, { exitCode: 2, code: 'ptlab.serve' });
        throw e;
      }
    });
}
