/** ptlab serve's server, tried with real requests on a real socket: what it serves and what it refuses. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_BODY_BYTES, startServer, type RunningServer } from '../../src/web/server.js';

let srv: RunningServer;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ptlab-serve-'));
  const dir = join(root, 'dir');
  const bundle = join(root, 'bundle');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  mkdirSync(bundle);
  writeFileSync(join(dir, 'a.yaml'), 'name: a\n');
  writeFileSync(join(dir, 'sub', 'b c.yaml'), 'name: b\n');
  writeFileSync(join(dir, 'result.json'), '{"schema":"ptlab.check/2"}');
  writeFileSync(join(dir, 'notes.txt'), 'not served');
  writeFileSync(join(root, 'secret.yaml'), 'secret: 1\n');
  symlinkSync(join(root, 'secret.yaml'), join(dir, 'link-out.yaml'));
  symlinkSync(root, join(dir, 'dir-out'));
  symlinkSync(join(dir, 'a.yaml'), join(dir, 'link-in.yaml'));
  writeFileSync(join(bundle, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(bundle, 'app.js'), 'export {};');
  srv = await startServer({ dir, bundle, host: '127.0.0.1', port: 0 });
});
afterAll(() => srv.close());

/** A raw request: the path is sent as written (no client-side normalisation of `..`). */
function raw(path: string, opts: { method?: string; host?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${srv.port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', fail);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

describe('ptlab serve: what it serves', () => {
  it('serves the page, the bundle, the file list and the files under DIR', async () => {
    const page = await raw('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect((await raw('/app/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    const list = JSON.parse((await raw('/api/files')).body) as { scenarios: string[]; results: string[] };
    // Symlinks that stay inside DIR are listed; those that leave it are not.
    expect(list).toEqual({ scenarios: ['a.yaml', 'link-in.yaml', 'sub/b c.yaml'], results: ['result.json'] });
    expect((await raw('/files/a.yaml')).body).toBe('name: a\n');
    expect((await raw('/files/sub/b%20c.yaml')).body).toBe('name: b\n');
    expect((await raw('/files/link-in.yaml')).body).toBe('name: a\n');
    expect((await raw('/files/result.json')).headers['content-type']).toBe('application/json; charset=utf-8');
  });
});

describe('ptlab serve: what it refuses', () => {
  const outside = ['/files/../secret.yaml', '/files/sub/../../secret.yaml', '/files/%2e%2e/secret.yaml', '/files/%2E%2E%2Fsecret.yaml', '/files/..%2fsecret.yaml', '/files/..%5csecret.yaml', '/files/sub%2f..%2f..%2fsecret.yaml', '/files/%252e%252e/secret.yaml', '/app/../dir/a.yaml', '/files/a.yaml%00.json'];
  for (const p of outside) {
    it(`refuses ${p} (403 or 404, never the file)`, async () => {
      const r = await raw(p);
      expect([403, 404]).toContain(r.status);
      expect(r.body).not.toContain('secret');
      expect(r.body).not.toContain('name: a');
    });
  }

  it('refuses a symlink whose target is outside DIR (403), and a directory symlink out of it', async () => {
    expect((await raw('/files/link-out.yaml')).status).toBe(403);
    expect((await raw('/files/dir-out/secret.yaml')).status).toBe(403);
  });

  it('serves only scenario and result files from DIR; a missing file is 404; bad percent-encoding is 400', async () => {
    expect((await raw('/files/notes.txt')).status).toBe(403);
    expect((await raw('/files/none.yaml')).status).toBe(404);
    expect((await raw('/files/%E0%A4%A.yaml')).status).toBe(400);
    expect((await raw('/nothing')).status).toBe(404);
  });

  it('refuses a request body over the limit with 413, declared or chunked; other bodies with 405', async () => {
    const big = 'x'.repeat(MAX_BODY_BYTES + 1);
    expect((await raw('/', { method: 'POST', body: big })).status).toBe(413);
    expect((await raw('/', { method: 'POST', body: big, headers: { 'transfer-encoding': 'chunked' } })).status).toBe(413);
    expect((await raw('/files/a.yaml', { method: 'PUT', body: 'small' })).status).toBe(405);
    expect((await raw('/', { method: 'DELETE' })).status).toBe(405);
  });

  it('refuses a declared body over the limit before it is sent', async () => {
    const status = await new Promise<string>((ok, fail) => {
      const sock = connect(srv.port, '127.0.0.1', () => sock.write(`POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${100 * MAX_BODY_BYTES}\r\n\r\n`));
      let got = '';
      sock.on('data', (c) => {
        got += c.toString();
        if (got.includes('\r\n')) {
          ok(got.split('\r\n')[0] as string);
          sock.destroy();
        }
      });
      sock.on('error', fail);
    });
    expect(status).toBe('HTTP/1.1 413 Payload Too Large');
  });

  it('refuses a Host header that does not name the loopback address (DNS rebinding)', async () => {
    expect((await raw('/', { host: 'evil.example:7377' })).status).toBe(403);
    expect((await raw('/', { host: `localhost:${srv.port}` })).status).toBe(200);
  });

  it('binds the loopback address by default', () => {
    const a = srv.server.address();
    expect(typeof a === 'object' && a !== null ? a.address : '').toBe('127.0.0.1');
  });
});
