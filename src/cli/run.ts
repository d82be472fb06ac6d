/**
 * The `ptlab` executable's entry (bin/ptlab.js imports the built copy): stdout guarded against a
 * reader that leaves early, then the CLI.
 *
 * `ptlab sim S.yaml | head`: once `head` has its lines it closes the pipe, and the next write to
 * stdout fails with EPIPE. Node ignores SIGPIPE, so without a handler that error is thrown from an
 * 'error' event: a stack trace and exit 1. Coreutils, with SIGPIPE at its default, die silently of
 * the signal instead (status 141 in the shell). ptlab does the quiet part of that and keeps its own
 * status: after EPIPE, what is left to print is dropped (the reader asked for no more), nothing is
 * said on stderr, and the command ends with the exit status it computes (0, 1 or 2, as documented),
 * so that `ptlab check S.yaml | head; echo ${PIPESTATUS[0]}` still tells a violation from a pass.
 */
import { main } from './main.js';

/** Drop stdout writes after the reader has gone (EPIPE); any other stdout error still throws. */
export function quietOnClosedStdout(stream: NodeJS.WriteStream = process.stdout): { closed: () => boolean } {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || (closed && e.code === 'ERR_STREAM_DESTROYED')) {
      closed = true;
      return;
    }
    throw e;
  });
  return { closed: () => closed };
}

const stdout = quietOnClosedStdout();
process.exitCode = await main(process.argv.slice(2), (s) => {
  if (!stdout.closed()) process.stdout.write(`${s}\n`);
});
