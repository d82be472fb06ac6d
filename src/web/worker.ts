/**
 * The explorer's Web Worker: runs the model and the checker in the browser (src/api/explore.ts),
 * so that a long check never blocks the page and can be stopped by terminating the worker. The
 * server only serves files. Messages in: WorkerRequest; out: WorkerReply, each with the request id.
 */
import { handleRequest, type WorkerReply, type WorkerRequest } from './protocol.js';

interface WorkerScope {
  onmessage: ((e: { data: WorkerRequest }) => void) | null;
  postMessage(m: WorkerReply): void;
}

// checkPaced() yields to the event loop with setImmediate(), which browsers lack: a MessageChannel
// turn is the same (a task, without setTimeout's minimum delay).
const g = globalThis as unknown as { setImmediate?: (f: () => void) => void };
if (typeof g.setImmediate !== 'function') {
  const ch = new MessageChannel();
  const queue: Array<() => void> = [];
  (ch.port1 as unknown as { onmessage: () => void }).onmessage = () => queue.shift()?.();
  g.setImmediate = (f) => {
    queue.push(f);
    ch.port2.postMessage(0);
  };
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (e) => {
  void handleRequest(e.data, (m) => scope.postMessage(m));
};
