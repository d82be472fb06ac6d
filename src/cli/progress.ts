/**
 * A one-line progress status on stderr for long explorations: executions, rate, elapsed. Shown
 * only when stderr is a terminal and the run has lasted half a second; cleared at the end.
 */
export interface Progress {
  /** `detail` may be a function: it is called only when the line is drawn. */
  update(executions: number, detail?: string | (() => string)): void;
  done(): void;
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(executions, detail) {
      const now = Date.now();
      if (now - start < 500 || now - last < 200) return;
      last = now;
      const s = (now - start) / 1000;
      const rate = Math.round(executions / s);
      const d = typeof detail === 'function' ? detail() : detail;
      stream.write(`\r\x1b[K${label}: ${executions} executions, ${rate}/s, ${s.toFixed(1)} s${d ? `, ${d}` : ''}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
