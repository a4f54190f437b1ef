import { ConfigError, quoteInput, StoreError } from '../../errors.js';
import { type AddressFamily, compareAddresses } from '../../ip/address.js';
import { formatAddress } from '../../ip/format.js';
import { integerOption, optionsObject, timeoutMsOption } from '../../options.js';
import type { FleetBatch, FleetTopStore } from '../../tracker/fleet-sync.js';
import type { TopEntry } from '../../tracker/top-k.js';
import { connect, type RedisConnectionOptions } from './connection.js';
import { Deadlines } from './deadline.js';
import { type RedisClient, RedisScript } from './script.js';

export type RedisFleetTopStoreOptions = RedisConnectionOptions & {
  /** Prefix of every key (no `{` or `}`: the hash tag is the period's and shard's).
   *  @default 'hitwarden:' */
  prefix?: string;
  /**
   * Sorted sets per period. Each address lives in exactly one (by a hash of the address), so
   * on a cluster the totals — and the memory — spread over the masters, and `top(n)` merges
   * the top n of each shard exactly. @default 1
   */
  shards?: number;
  /** Addresses per script call; a flush sends its calls without waiting between them. @default 1000 */
  chunkSize?: number;
  /** How long a batch id is remembered, so a retried batch is not counted twice. @default 3600 */
  retryWindowSeconds?: number;
  /**
   * Longest wait for Redis per call (each chunk of `add`, each shard of `top`), from 1 to
   * 2^31 − 1 ms; past it the call rejects with `StoreTimeoutError`. A chunk that reaches Redis
   * later still applies, once: the batch stays queued in `FleetSync`, and when it is sent again
   * its chunks' markers make Redis skip what was applied. @default 5000
   */
  timeoutMs?: number;
};

const addScript = new RedisScript('fleet-add');

/**
 * The fleet-wide per-period address totals of `FleetSync`, in Redis sorted sets.
 *
 * Key layout (`P` = prefix, `T` = period start in epoch ms, `S` = shard):
 * - `P fleet:{T:S}`             sorted set, member = packed address, score = −requests
 * - `P fleet:{T:S}:batch:<id>`  marker of an applied batch chunk (expires after the retry window)
 *
 * A packed address is one family byte (4 or 6) and the address bytes, most significant
 * first, so byte order is address order and `ZRANGE 0 n−1` lists the top n in the tracker's
 * own order. A sorted set expires two period lengths after the last flush into it.
 */
export class RedisFleetTopStore implements FleetTopStore {
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #shards: number;
  readonly #chunkSize: number;
  readonly #retryWindowSeconds: number;
  readonly #deadlines: Deadlines;

  constructor(options: RedisFleetTopStoreOptions) {
    options = optionsObject('RedisFleetTopStore', options);
    const prefix: unknown = options.prefix === undefined ? 'hitwarden:' : options.prefix;
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new ConfigError(
        'RedisFleetTopStore.prefix',
        `must be a string without { or } (the hash tag is the period's and shard's), got ${quoteInput(prefix)}`,
      );
    }
    this.#prefix = prefix;
    this.#shards = integerOption('RedisFleetTopStore.shards', options.shards, 1, 1, 16_384);
    this.#chunkSize = integerOption(
      'RedisFleetTopStore.chunkSize',
      options.chunkSize,
      1000,
      1,
      100_000,
    );
    // Redis takes a marker's EX in whole seconds, up to about 2^63 ms.
    this.#retryWindowSeconds = integerOption(
      'RedisFleetTopStore.retryWindowSeconds',
      options.retryWindowSeconds,
      3600,
      1,
      2 ** 32,
    );
    this.#deadlines = new Deadlines(
      timeoutMsOption('RedisFleetTopStore.timeoutMs', options.timeoutMs, 5000),
      'RedisFleetTopStore.timeoutMs',
    );
    const { client, owned } = connect('RedisFleetTopStore', options);
    this.#client = client;
    this.#owned = owned;
  }

  /** The sorted set of `shard` of the period starting at `period`. */
  totalsKey(period: number, shard: number): string {
    return `${this.#prefix}fleet:{${period}:${shard}}`;
  }

  async add(batch: FleetBatch): Promise<void> {
    const perShard: (string | Buffer)[][] = Array.from({ length: this.#shards }, () => []);
    for (const delta of batch.deltas) {
      const member = pack(delta.family, delta.words);
      perShard[shardOf(member, this.#shards)]!.push(member, String(delta.count));
    }
    // Two periods after the last flush into it: the period's own, plus one as `previous`.
    const ttlMs = String(2 * (batch.periodEnd - batch.period));
    const calls: Promise<unknown>[] = [];
    perShard.forEach((pairs, shard) => {
      const totals = this.totalsKey(batch.period, shard);
      const step = this.#chunkSize * 2;
      for (let from = 0; from < pairs.length; from += step) {
        const marker = `${totals}:batch:${batch.id}:${from / step}`;
        const args = [ttlMs, String(this.#retryWindowSeconds), ...pairs.slice(from, from + step)];
        calls.push(
          this.#deadlines.bound(
            'Redis fleet add',
            addScript.run(this.#client, [totals, marker], args),
          ),
        );
      }
    });
    // All calls are written at once (pipelined); each chunk applies atomically and once.
    const results = await Promise.allSettled(calls);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw storeError('fleet add', failed.reason);
  }

  async top(period: number, n: number): Promise<TopEntry[]> {
    if (n === 0) return [];
    const replies = await Promise.all(
      Array.from({ length: this.#shards }, (_, shard) =>
        this.#deadlines.bound(
          'Redis fleet top',
          this.#client.zrangeBuffer(
            this.totalsKey(period, shard),
            '0',
            String(n - 1),
            'WITHSCORES',
          ),
        ),
      ),
    ).catch((error: unknown) => {
      throw storeError('fleet top', error);
    });
    const rows: { family: AddressFamily; words: Uint32Array; count: number }[] = [];
    for (const reply of replies) {
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const address = unpack(reply[i]!);
        rows.push({ ...address, count: -Number(reply[i + 1]!.toString()) });
      }
    }
    rows.sort(
      (a, b) => b.count - a.count || compareAddresses(a.family, a.words, 0, b.family, b.words, 0),
    );
    return rows.slice(0, n).map((row) => ({
      ip: formatAddress(row.family, row.words),
      count: row.count,
    }));
  }

  /** Disconnects a client the store opened (its calls still pending fail at once); a client
   *  of your own is left as it is. */
  async close(): Promise<void> {
    if (this.#owned) this.#client.disconnect();
  }
}

/** Family byte, then the address bytes big-endian. */
export function pack(family: AddressFamily, words: Uint32Array): Buffer {
  const count = family === 4 ? 1 : 4;
  const out = Buffer.allocUnsafe(1 + count * 4);
  out[0] = family;
  for (let i = 0; i < count; i++) out.writeUInt32BE(words[i]!, 1 + i * 4);
  return out;
}

export function unpack(member: Buffer): { family: AddressFamily; words: Uint32Array } {
  const family: AddressFamily = member[0] === 6 ? 6 : 4;
  const count = family === 4 ? 1 : 4;
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = member.readUInt32BE(1 + i * 4);
  return { family, words };
}

/** FNV-1a over the packed bytes: stable across processes, which the shard choice must be. */
function shardOf(member: Buffer, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (const byte of member) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0) % shards;
}

/** `cause` as a `StoreError` (a timeout is one already). */
function storeError(operation: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(`Redis ${operation} failed: ${message}`, { cause });
}
