import { type Clock, systemClock } from '../../time/clock.js';

export interface LocalBlockCacheOptions {
  /** @default Date.now */
  clock?: Clock;
  /** Most tokens held; past it the oldest entries go first (expired ones before live ones).
   *  @default 100000 */
  maxEntries?: number;
}

/**
 * This process's deny cache: tokens blocked until a time. `blockLocal` fills it; the HTTP
 * middleware consults it before anything else, so a banned caller is answered without
 * touching a store. Keys live in a Map (a token named `__proto__` is just a key); expired
 * entries are removed when looked up or when room is needed, never by a sweep of the whole.
 */
export class LocalBlockCache {
  readonly #until = new Map<string, number>();
  readonly #clock: Clock;
  readonly #maxEntries: number;

  constructor(options: LocalBlockCacheOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /** Blocks `token` for `seconds` from now (a longer block already in force is kept). */
  block(token: string, seconds: number): void {
    const until = this.#clock() + seconds * 1000;
    const current = this.#until.get(token);
    if (current !== undefined && current >= until) return;
    // Re-inserted at the end, so the Map's order stays roughly the order of expiry.
    this.#until.delete(token);
    this.#until.set(token, until);
    if (this.#until.size > this.#maxEntries) this.#makeRoom();
  }

  /** Whether `token` is blocked now. */
  isBlocked(token: string): boolean {
    return this.retryAfter(token) > 0;
  }

  /** Whole seconds until `token` may pass again (for `Retry-After`); 0 when it may now. */
  retryAfter(token: string): number {
    const until = this.#until.get(token);
    if (until === undefined) return 0;
    const left = until - this.#clock();
    if (left <= 0) {
      this.#until.delete(token);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  unblock(token: string): void {
    this.#until.delete(token);
  }

  clear(): void {
    this.#until.clear();
  }

  /** Entries held (expired ones may linger until looked up or pushed out). */
  get size(): number {
    return this.#until.size;
  }

  #makeRoom(): void {
    const now = this.#clock();
    // Expired entries among the oldest few go first; then the oldest, live or not.
    let looked = 0;
    for (const [token, until] of this.#until) {
      if (this.#until.size <= this.#maxEntries || ++looked > 16) break;
      if (until <= now) this.#until.delete(token);
    }
    for (const token of this.#until.keys()) {
      if (this.#until.size <= this.#maxEntries) break;
      this.#until.delete(token);
    }
  }
}

/** The cache that the built-in `blockLocal` fills. */
export const localBlocks = new LocalBlockCache();
