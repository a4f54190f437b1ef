import type {
  BansBody,
  ConfigBody,
  DayBody,
  DaysBody,
  ErrorBody,
  SeriesBody,
  TopBody,
  TripsBody,
} from './contract.js';

/** A request the service answered with an error body (or something that is not JSON). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/*
 * Same-origin paths only: the dashboard talks to the service that served it, nothing else.
 * Errors are returned as ApiError, the one thing a panel has to handle; a network failure
 * (the service is down) is an ApiError with status 0.
 */
async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { cache: 'no-store', ...init });
  } catch (error) {
    throw new ApiError(0, 'unreachable', `the service did not answer (${String(error)})`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = body as Partial<ErrorBody> | undefined;
    throw new ApiError(
      response.status,
      typeof error?.error === 'string' ? error.error : `http_${response.status}`,
      typeof error?.message === 'string'
        ? error.message
        : `${response.status} ${response.statusText}`,
    );
  }
  if (body === undefined) throw new ApiError(response.status, 'bad_body', `${path}: not JSON`);
  return body as T;
}

export const api = {
  config: () => request<ConfigBody>('/api/config'),
  top: (n = 100) => request<TopBody>(`/api/top?n=${n}`),
  days: () => request<DaysBody>('/api/days'),
  day: (day: string) => request<DayBody>(`/api/top?day=${encodeURIComponent(day)}`),
  series: (seconds: number) => request<SeriesBody>(`/api/series?seconds=${seconds}`),
  bans: (limit = 100) => request<BansBody>(`/api/bans?limit=${limit}`),
  trips: (limit = 50) => request<TripsBody>(`/api/trips?limit=${limit}`),

  ban(adminToken: string, body: { token: string; metric: string; threshold: number }) {
    return request<{ token: string; metric: string; threshold: number; until: number }>(
      '/admin/bans',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
    );
  },

  lift(adminToken: string, token: string) {
    return request<{ token: string; lifted: boolean }>(`/admin/bans/${encodeURIComponent(token)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
  },
};
