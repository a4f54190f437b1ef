import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './replies.js';

/*
 * The dashboard's files: GET / is dist/web/index.html, GET /assets/<file> is
 * dist/web/assets/<file> (the dashboard's build puts them there). A small handler of our own
 * rather than @fastify/static: a handful of files, read once and kept with their ETag, and
 * nothing else is reachable (no directory listing, no path outside the folder). When the
 * dashboard is not built, / says so and points at the API.
 */

/** dist/web beside the compiled service (src/service → dist/service → dist/web). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  readonly body: Buffer;
  readonly etag: string;
  readonly type: string;
  readonly mtimeMs: number;
}

/** Paths remembered at most (asked-for names that do not exist included). */
const MAX_CACHED = 1000;

function readIfChanged(path: string, known: StaticFile | undefined): StaticFile | undefined {
  let mtimeMs: number;
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined || !stat.isFile()) return undefined;
    mtimeMs = stat.mtimeMs;
  } catch {
    return undefined;
  }
  if (known !== undefined && known.mtimeMs === mtimeMs) return known;
  const body = readFileSync(path);
  return {
    body,
    etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    mtimeMs,
  };
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*(\/[A-Za-z0-9_][A-Za-z0-9_.@-]*)*$/;

export function registerStatic(app: FastifyInstance, webRoot = DEFAULT_WEB_ROOT): void {
  const root = resolve(webRoot);
  // Each path's file (or its absence) is looked at again at most once a second: a rebuilt
  // dashboard shows within a second, and a busy / costs no file-system call per request.
  const cache = new Map<string, { file: StaticFile | undefined; checkedAt: number }>();

  const fileAt = (path: string): StaticFile | undefined => {
    if (!path.startsWith(root + sep)) return undefined;
    const now = Date.now();
    const cached = cache.get(path);
    if (cached !== undefined && now - cached.checkedAt < 1000) return cached.file;
    const file = readIfChanged(path, cached?.file);
    if (cached !== undefined || cache.size < MAX_CACHED) cache.set(path, { file, checkedAt: now });
    return file;
  };

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile) => {
    reply.header('etag', file.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  app.get('/', (request, reply) => {
    const index = fileAt(join(root, 'index.html'));
    if (index !== undefined) return send(request, reply, index);
    return reply.type('text/html; charset=utf-8').send(PLACEHOLDER);
  });

  app.get('/assets/*', (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    if (!SAFE_NAME.test(name)) return sendError(reply, 'not_found', `no asset ${name}`);
    const file = fileAt(join(root, 'assets', name)) ?? fileAt(join(root, name));
    if (file === undefined) return sendError(reply, 'not_found', `no asset ${name}`);
    return send(request, reply, file);
  });
}

/** Whether the dashboard is built where the service looks for it. */
export function dashboardBuilt(webRoot = DEFAULT_WEB_ROOT): boolean {
  return existsSync(join(webRoot, 'index.html'));
}

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hitwarden</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style>
</head><body>
<h1>hitwarden is running</h1>
<p>The dashboard is not built (no <code>dist/web/index.html</code>): run <code>npm run build</code>.</p>
<p>The service answers meanwhile: <a href="/api/top">/api/top</a>, <a href="/api/rates">/api/rates</a>,
<a href="/api/bans">/api/bans</a>, <a href="/api/trips">/api/trips</a>, <a href="/api/config">/api/config</a>,
<a href="/metrics">/metrics</a>, and the live stream <a href="/api/stream">/api/stream</a>.</p>
</body></html>
`;
