import type { Redis } from 'ioredis';
import { BanHammer } from '../banhammer/ban-hammer.js';
import type { BansConfig } from '../banhammer/config.js';
import { ConfigError } from '../errors.js';
import { type StatusBody, statusBody, type TopBody } from '../service/api.js';
import { type BanRow, BansPager } from '../service/bans-pages.js';
import { RedisStore } from '../store/redis/redis-store.js';

/*
 * Where the admin commands (admin.ts) get their answers: a running service over its HTTP API
 * (`--url`), or the Redis a fleet shares (`--redis`), through a BanHammer of the same bans
 * config. Either way the same five operations and the same shapes, so the commands print
 * alike. A failure is a `CliFailure`: one line for the user and an exit code, never a stack.
 */

export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliFailure';
    this.exitCode = exitCode;
  }
}

export interface BanAdded {
  token: string;
  metric: string;
  threshold: number;
  until: number;
}

export interface AdminBackend {
  /** Bans in force, at most `limit` rows (paging through the API or the scan). */
  listBans(limit: number): Promise<BanRow[]>;
  addBan(token: string, metric: string, threshold: number): Promise<BanAdded>;
  removeBan(token: string): Promise<{ token: string; lifted: boolean }>;
  top(n: number): Promise<TopBody>;
  status(token: string): Promise<StatusBody>;
  close(): Promise<void>;
}

/** The service's HTTP API. The admin token comes from HITWARDEN_ADMIN_TOKEN. */
export class HttpBackend implements AdminBackend {
  readonly #base: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(url: string, token: string | undefined, timeoutMs = 5000) {
    this.#base = url.replace(/\/+$/, '');
    this.#token = token === '' ? undefined : token;
    this.#timeoutMs = timeoutMs;
  }

  async listBans(limit: number): Promise<BanRow[]> {
    const rows: BanRow[] = [];
    let cursor: string | null = null;
    do {
      const page = Math.min(1000, limit - rows.length);
      const query: string = `limit=${page}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const body = (await this.#call('GET', `/api/bans?${query}`)) as {
        bans: BanRow[];
        next: string | null;
      };
      rows.push(...body.bans);
      cursor = body.next;
    } while (cursor !== null && rows.length < limit);
    return rows;
  }

  addBan(token: string, metric: string, threshold: number): Promise<BanAdded> {
    return this.#call(
      'POST',
      '/admin/bans',
      { token, metric, threshold },
      true,
    ) as Promise<BanAdded>;
  }

  removeBan(token: string): Promise<{ token: string; lifted: boolean }> {
    return this.#call(
      'DELETE',
      `/admin/bans/${encodeURIComponent(token)}`,
      undefined,
      true,
    ) as Promise<{
      token: string;
      lifted: boolean;
    }>;
  }

  top(n: number): Promise<TopBody> {
    return this.#call('GET', `/api/top?n=${n}`) as Promise<TopBody>;
  }

  status(token: string): Promise<StatusBody> {
    return this.#call('GET', `/api/status/${encodeURIComponent(token)}`) as Promise<StatusBody>;
  }

  async close(): Promise<void> {}

  async #call(method: string, path: string, body?: unknown, admin = false): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (admin) {
      if (this.#token === undefined) {
        throw new CliFailure("set HITWARDEN_ADMIN_TOKEN to the service's admin token", 2);
      }
      headers.authorization = `Bearer ${this.#token}`;
    }
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why =
        (error as Error).name === 'TimeoutError'
          ? `no answer in ${this.#timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? (error as Error).message);
      throw new CliFailure(`cannot reach the service at ${this.#base} (${why})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliFailure(
        `${this.#base}${path} answered ${response.status} with something that is not JSON: is this a hitwarden service?`,
      );
    }
    if (!response.ok) {
      const message = (parsed as { message?: unknown }).message;
      throw new CliFailure(
        `the service answered ${response.status}: ${typeof message === 'string' ? message : text}`,
        response.status === 400 ? 2 : 1,
      );
    }
    return parsed;
  }
}

/** Straight to Redis, with the bans config to know the metrics and thresholds. */
export class RedisBackend implements AdminBackend {
  readonly #client: Redis;
  readonly #banHammer: BanHammer<boolean>;
  readonly #pager: BansPager;

  private constructor(client: Redis, banHammer: BanHammer<boolean>) {
    this.#client = client;
    this.#banHammer = banHammer;
    this.#pager = new BansPager(banHammer, Date.now);
  }

  /** Connects (once, within `timeoutMs`) or throws a `CliFailure`. */
  static async open(url: string, bans: BansConfig, timeoutMs = 3000): Promise<RedisBackend> {
    const { Redis: Client } = await import('ioredis');
    // No retries: a command-line tool says at once that Redis is not there.
    const client = new Client(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    // ioredis's connect() rejects with "Connection is closed"; the error event says why.
    let reason: string | undefined;
    client.on('error', (error: Error & { code?: string }) => {
      reason ??= error.code ?? error.message;
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw new CliFailure(`cannot reach Redis at ${url} (${reason ?? (error as Error).message})`);
    }
    const store = new RedisStore({ client, onFailure: 'failClosed' });
    return new RedisBackend(client, new BanHammer(bans, { store }));
  }

  async listBans(limit: number): Promise<BanRow[]> {
    const rows: BanRow[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#pager.page(cursor, Math.min(1000, limit - rows.length));
      rows.push(...page.bans);
      cursor = page.next ?? undefined;
    } while (cursor !== undefined && rows.length < limit);
    this.#pager.closeAll();
    return rows;
  }

  async addBan(token: string, metric: string, threshold: number): Promise<BanAdded> {
    if (!this.#banHammer.metrics.includes(metric)) {
      const known = this.#banHammer.metrics.map((m) => JSON.stringify(m)).join(', ');
      throw new CliFailure(`--metric must be one of ${known} (from the bans file)`, 2);
    }
    let status: Awaited<ReturnType<BanHammer<boolean>['now']>>;
    try {
      status = await this.#banHammer.now(token, metric, threshold);
    } catch (error) {
      if (error instanceof ConfigError) throw new CliFailure(error.message, 2);
      throw error;
    }
    const ban = status.bans.find((b) => b.threshold === threshold);
    return { token, metric, threshold, until: ban?.until ?? status.blocked_until ?? Date.now() };
  }

  async removeBan(token: string): Promise<{ token: string; lifted: boolean }> {
    await this.#banHammer.lift(token);
    return { token, lifted: true };
  }

  top(): Promise<TopBody> {
    throw new CliFailure(
      'top needs --url: the IP tracker counts inside the service, Redis holds no top list',
      2,
    );
  }

  status(token: string): Promise<StatusBody> {
    return statusBody(this.#banHammer, token);
  }

  async close(): Promise<void> {
    await this.#banHammer.close();
    this.#client.disconnect();
  }
}
