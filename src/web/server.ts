/**
 * `ptlab serve`'s HTTP server: static files only (node:http, no framework). It serves the
 * explorer's bundle (dist/web), the list of scenarios and result files under DIR, and those files.
 * The model and the checker run in the browser; the server computes nothing.
 *
 * What it refuses:
 *  - a path outside DIR: `..` segments (also percent-encoded, or with backslashes), NUL bytes,
 *    malformed percent-encoding, and symlinks whose target is outside DIR (403); a missing file (404);
 *  - request bodies: the server takes none; a body over MAX_BODY_BYTES (declared or sent) is 413,
 *    any other method than GET/HEAD 405;
 *  - a Host header that does not name the loopback address when bound to it (DNS rebinding: a
 *    page of another site resolving its name to 127.0.0.1) (403).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';

/** The largest request body accepted before answering 413 (the server reads none: any body is refused). */
export const MAX_BODY_BYTES = 64 * 1024;
/** The largest file served from DIR (a scenario is at most 1 MB; result files can be larger). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Files listed under DIR at most (a directory tree that large is not a scenario catalog). */
export const MAX_LISTED = 10_000;

export interface ServeOptions {
  /** Directory of scenarios (.yaml, .yml) and result files (.json). */
  readonly dir: string;
  /** The explorer's bundle (index.html, app.js, worker.js, style.css). */
  readonly bundle: string;
  readonly host: string;
  readonly port: number;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: { readonly [ext: string]: string } = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.yaml': 'text/yaml; charset=utf-8',
  '.yml': 'text/yaml; charset=utf-8',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host part of a Host header (`name`, `name:port`, `[v6]:port`). */
function hostOf(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const i = header.lastIndexOf(':');
  return i >= 0 ? header.slice(0, i) : header;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The file under `root` that URL path `rest` names, or HttpError: 400 for malformed encoding,
 * 403 for anything that leaves `root` (`..`, NUL, a symlink out), 404 for no such file.
 */
export function resolveInside(root: string, rest: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0')) throw new HttpError(403, 'NUL in path');
  const parts = decoded.split(/[/\\]+/).filter((p) => p.length > 0);
  if (parts.some((p) => p === '..' || p === '.')) throw new HttpError(403, 'path outside the served directory');
  const realRoot = realpathSync(root);
  const candidate = resolve(realRoot, ...parts);
  if (candidate !== realRoot && !candidate.startsWith(realRoot + sep)) throw new HttpError(403, 'path outside the served directory');
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new HttpError(404, 'not found');
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new HttpError(403, 'symlink to outside the served directory');
  return real;
}

/** Scenario and result files under `dir`, relative, sorted; symlinks that leave `dir` are skipped. */
export function listFiles(dir: string): { scenarios: string[]; results: string[] } {
  const realRoot = realpathSync(dir);
  const scenarios: string[] = [];
  const results: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 16) return;
    for (const name of readdirSync(d).sort()) {
      if (scenarios.length + results.length >= MAX_LISTED) return;
      if (name.startsWith('.') || name === 'node_modules') continue;
      let real: string;
      try {
        real = realpathSync(join(d, name));
      } catch {
        continue;
      }
      if (!real.startsWith(realRoot + sep)) continue;
      const st = statSync(real);
      const rel = relative(realRoot, join(d, name)).split(sep).join('/');
      if (st.isDirectory()) walk(join(d, name), depth + 1);
      else if (/\.ya?ml$/.test(name)) scenarios.push(rel);
      else if (name.endsWith('.json')) results.push(rel);
    }
  };
  walk(realRoot, 0);
  return { scenarios, results };
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // The bundle is self-contained: scripts, workers, styles and data from this origin only.
  'content-security-policy': "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
} as const;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(head ? undefined : body);
}

function sendFile(res: ServerResponse, path: string, head: boolean): void {
  const st = statSync(path);
  if (!st.isFile()) throw new HttpError(404, 'not found');
  if (st.size > MAX_FILE_BYTES) throw new HttpError(413, `file larger than ${MAX_FILE_BYTES} bytes`);
  send(res, 200, TYPES[extname(path)] ?? 'application/octet-stream', readFileSync(path), head);
}

function handle(opts: ServeOptions, req: IncomingMessage, res: ServerResponse): void {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) throw new HttpError(405, 'only GET and HEAD');
  if (isLoopback(opts.host) && !isLoopback(hostOf(req.headers.host ?? ''))) throw new HttpError(403, 'Host header does not name the loopback address');
  const url = req.url ?? '/';
  const path = url.split('?')[0]?.split('#')[0] ?? '/';
  if (path === '/' || path === '/index.html') return sendFile(res, join(opts.bundle, 'index.html'), head);
  if (path === '/api/files') return send(res, 200, TYPES['.json'] as string, JSON.stringify(listFiles(opts.dir)), head);
  if (path.startsWith('/files/')) {
    const file = resolveInside(opts.dir, path.slice('/files/'.length));
    if (!/\.(ya?ml|json)$/.test(file)) throw new HttpError(403, 'only scenario (.yaml) and result (.json) files are served');
    return sendFile(res, file, head);
  }
  if (path.startsWith('/app/')) return sendFile(res, resolveInside(opts.bundle, path.slice('/app/'.length)), head);
  throw new HttpError(404, 'not found');
}

/** Start the server; resolves once it listens (port 0: a free port, in `.port`). */
export function startServer(opts: ServeOptions): Promise<RunningServer> {
  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(opts, req, res);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      const msg = e instanceof HttpError ? e.message : 'internal error';
      if (!res.headersSent) send(res, status, 'text/plain; charset=utf-8', `${status} ${msg}\n`, req.method === 'HEAD');
    }
  };
  const server = createServer((req, res) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] === undefined && !(declared > 0)) return respond(req, res);
    if (declared > MAX_BODY_BYTES) {
      // Refused before reading it; the connection is closed after the answer.
      res.setHeader('connection', 'close');
      send(res, 413, 'text/plain; charset=utf-8', `413 request body larger than ${MAX_BODY_BYTES} bytes\n`, false);
      req.resume();
      return;
    }
    // A body of undeclared length (chunked): read up to the limit, then answer.
    let got = 0;
    req.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got > MAX_BODY_BYTES && !res.headersSent) {
        res.setHeader('connection', 'close');
        send(res, 413, 'text/plain; charset=utf-8', `413 request body larger than ${MAX_BODY_BYTES} bytes\n`, false);
        req.resume();
      }
    });
    req.on('end', () => {
      if (!res.headersSent) respond(req, res);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      const h = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      ok({ server, port, url: `http://${h}:${port}/`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
