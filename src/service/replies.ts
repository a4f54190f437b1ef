import type { FastifyReply } from 'fastify';

/*
 * The service's error body, one shape for every route: { error: <code>, message }. The codes
 * are the contract's (docs/service-api.md), one per status.
 */

export type ErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
};

/** A client's mistake, thrown by a route and answered by the app's error handler. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
  }
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(STATUS[code]).send({ error: code, message });
}

/** An integer query parameter from `min` to `max`, `fallback` when absent. */
export function integerParam(
  name: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined || value === '') return fallback;
  const parsed = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new RequestError(
      'bad_request',
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

/** A token given in a path or a body: a non-empty string of at most 256 characters. */
export function tokenParam(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new RequestError(
      'bad_request',
      `${name} must be a non-empty string of at most 256 characters`,
    );
  }
  return value;
}
