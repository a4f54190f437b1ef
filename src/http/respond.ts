import type { ServerResponse } from 'node:http';
import type { HeaderList } from './guard.js';

/*
 * Writing the guard's answers on a node:http response: shared by the node and Express
 * adapters (Fastify writes through its reply).
 */

/** Sets each header, unless the response has already sent its head. */
export function applyHeaders(
  res: ServerResponse,
  headers: HeaderList | Readonly<Record<string, string>>,
): void {
  if (res.headersSent) return;
  if (Array.isArray(headers)) {
    for (const [name, value] of headers as HeaderList) res.setHeader(name, value);
    return;
  }
  for (const name in headers) res.setHeader(name, (headers as Record<string, string>)[name]!);
}

/** Ends the response with `body` as JSON. */
export function sendJson(res: ServerResponse, body: unknown): void {
  if (res.writableEnded) return;
  const text = JSON.stringify(body);
  if (!res.headersSent) {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(text));
  }
  res.end(text);
}
