import { randomUUID } from 'node:crypto';
import type { BanHammer } from '../banhammer/ban-hammer.js';
import type { Ban, StatusEntry } from '../store/stats.js';
import { RequestError } from './replies.js';

/*
 * GET /api/bans, one page at a time, streamed from BanHammer#scan: a page reads the scan
 * until it has `limit` bans in force, and the scan is kept open under a cursor for the next
 * page (for a minute), so paging through the table walks it once and never holds it whole.
 */

export interface BanRow {
  token: string;
  metric: string;
  /** The threshold whose ban ends last. */
  threshold: number;
  /** Epoch ms when the token's bans on this metric end. */
  until: number;
  remaining_ms: number;
  /** Every ban in force on this metric (threshold order). */
  bans: Ban[];
}

export interface BansPage {
  bans: BanRow[];
  next: string | null;
}

interface OpenScan {
  readonly entries: AsyncIterator<StatusEntry>;
  /** A row read past the end of the last page. */
  pending: BanRow | undefined;
  expires: number;
}

const CURSOR_TTL_MS = 60_000;
const MAX_OPEN = 64;

export class BansPager {
  readonly #banHammer: BanHammer<boolean>;
  readonly #clock: () => number;
  readonly #open = new Map<string, OpenScan>();

  constructor(banHammer: BanHammer<boolean>, clock: () => number) {
    this.#banHammer = banHammer;
    this.#clock = clock;
  }

  async page(cursor: string | undefined, limit: number): Promise<BansPage> {
    const now = this.#clock();
    this.#expire(now);
    let scan: OpenScan | undefined;
    if (cursor !== undefined && cursor !== '') {
      scan = this.#open.get(cursor);
      this.#open.delete(cursor);
      if (scan === undefined) {
        throw new RequestError(
          'bad_request',
          'cursor is unknown or expired: start again without one',
        );
      }
    } else {
      scan = {
        entries: this.#banHammer.scan()[Symbol.asyncIterator](),
        pending: undefined,
        expires: 0,
      };
    }
    const rows: BanRow[] = [];
    if (scan.pending !== undefined) rows.push(scan.pending);
    scan.pending = undefined;
    while (rows.length <= limit) {
      const next = await scan.entries.next();
      if (next.done === true) break;
      const row = rowOf(next.value, now);
      if (row !== undefined) rows.push(row);
    }
    if (rows.length <= limit) return { bans: rows, next: null };
    scan.pending = rows.pop();
    scan.expires = now + CURSOR_TTL_MS;
    if (this.#open.size >= MAX_OPEN) this.#close(this.#open.keys().next().value!);
    const id = randomUUID();
    this.#open.set(id, scan);
    return { bans: rows, next: id };
  }

  /** Bans in force per metric: one whole scan (for /metrics). */
  async countByMetric(): Promise<Map<string, number>> {
    const now = this.#clock();
    const counts = new Map<string, number>();
    for await (const entry of this.#banHammer.scan()) {
      if (rowOf(entry, now) !== undefined) {
        counts.set(entry.metric, (counts.get(entry.metric) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Closes every open scan. */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.#close(id);
  }

  #expire(now: number): void {
    for (const [id, scan] of this.#open) if (scan.expires <= now) this.#close(id);
  }

  #close(id: string): void {
    const scan = this.#open.get(id);
    this.#open.delete(id);
    scan?.entries.return?.(undefined).catch(() => {});
  }
}

function rowOf({ token, metric, status }: StatusEntry, now: number): BanRow | undefined {
  const bans = status.bans.filter((ban) => ban.until > now);
  if (bans.length === 0) return undefined;
  let last = bans[0]!;
  for (const ban of bans) if (ban.until > last.until) last = ban;
  return {
    token,
    metric,
    threshold: last.threshold,
    until: last.until,
    remaining_ms: last.until - now,
    bans,
  };
}
