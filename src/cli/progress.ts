/**
 * Progress of long runs on stderr. On a terminal, a live status line (cli-progress), with a bar
 * when the share done is known; off a terminal (CI logs, pipes), a plain line every
 * `everyMs` (10 s by default, PTLAB_PROGRESS_EVERY seconds to change it). Nothing for runs
 * shorter than half a second (terminal) or than one period (plain lines); a terminal's line is
 * cleared at the end.
 *
 * What a line says: the count and its unit, the rate, the elapsed time, and when the caller can
 * tell the share done (the checker's explored-share estimate, a compare's runs), the projected
 * total and the time left. The checker's share is an estimate that errs both ways early in a
 * run (docs/performance.md), so both are marked "~".
 */
import { SingleBar } from 'cli-progress';
import { formatSeconds } from '../report/format.js';

export interface ProgressInfo {
  /** Share done, in [0, 1] (a function: called only when a line is drawn). */
  readonly share?: () => number;
  /** Extra words at the end of the line. */
  readonly detail?: string;
}

export interface Progress {
  update(count: number, info?: ProgressInfo): void;
  done(): void;
}

export interface ProgressOptions {
  /** What `count` counts (plural): "executions", "µs simulated", "runs". */
  readonly unit?: string;
  readonly stream?: NodeJS.WriteStream;
  /** Plain lines off a terminal: one every this many ms. */
  readonly everyMs?: number;
  /** The clock (tests give their own). */
  readonly now?: () => number;
}

function plainEvery(): number {
  const env = Number(process.env.PTLAB_PROGRESS_EVERY);
  return Number.isFinite(env) && env > 0 ? env * 1000 : 10_000;
}

/** The words of a status line. */
export function progressText(label: string, unit: string, count: number, elapsedS: number, share: number | undefined, detail: string | undefined): string {
  const parts = [`${label}: ${count.toLocaleString('en-US')} ${unit}`];
  if (elapsedS > 0) {
    // Slow units (a sweep's points, a compare's runs) below 10/s keep a decimal: "0.4/s", not "0/s".
    const rate = count / elapsedS;
    parts.push(`${rate > 0 && rate < 10 ? rate.toFixed(1) : Math.round(rate).toLocaleString('en-US')}/s`);
  }
  parts.push(`${formatSeconds(elapsedS)} elapsed`);
  if (share !== undefined && share > 0 && share < 1) {
    parts.push(`~${(100 * share).toFixed(1)}% done`);
    if (unit === 'executions') parts.push(`~${Math.round(count / share).toLocaleString('en-US')} in all`);
    parts.push(`~${formatSeconds((elapsedS * (1 - share)) / share)} left`);
  }
  if (detail) parts.push(detail);
  return parts.join(', ');
}

export function progress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'executions';
  const now = opts.now ?? Date.now;
  const start = now();
  if (!stream.isTTY) {
    const every = opts.everyMs ?? plainEvery();
    let next = start + every;
    return {
      update(count, info) {
        const t = now();
        if (t < next) return;
        next = t + every;
        stream.write(`${progressText(label, unit, count, (t - start) / 1000, info?.share?.(), info?.detail)}\n`);
      },
      done() {},
    };
  }
  let bar: SingleBar | null = null;
  let last = 0;
  return {
    update(count, info) {
      const t = now();
      if (t - start < 500 || t - last < 200) return;
      last = t;
      const share = info?.share?.();
      const text = progressText(label, unit, count, (t - start) / 1000, share, info?.detail);
      const value = share !== undefined && share > 0 ? Math.min(1000, Math.round(1000 * share)) : 0;
      if (!bar) {
        bar = new SingleBar({ stream, format: share !== undefined ? '[{bar}] {text}' : '{text}', barsize: 20, hideCursor: false, clearOnComplete: true, linewrap: false, fps: 5 });
        bar.start(1000, value, { text });
      } else bar.update(value, { text });
    },
    done() {
      bar?.stop();
    },
  };
}
