import { type SharedInt32Array, sharedInt32 } from '../../shared-arrays.js';
import { IncrementalDoubling, MIGRATION_STEP } from '../../tables/incremental-doubling.js';
import { mix32 } from '../../tables/mix.js';
import { placePair, removePair } from '../../tables/pair-index.js';
import {
  F_EXPIRES_AT,
  I_METRIC,
  NONE,
  REC_SHIFT_F64,
  REC_SHIFT_I32,
  type SlotRecords,
} from './records.js';
import type { TokenChunks } from './token-chunks.js';

/**
 * Seeded FNV-1a over the UTF-16 code units, mixed with the metric, finished with the shared
 * murmur mix so that the low bits (which pick the index position) depend on every input bit.
 */
export function hashOf(token: string, metric: number, seed: number): number {
  let h = seed ^ Math.imul(metric + 1, 0x9e3779b1);
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return mix32(h ^ token.length);
}

/** An old-index entry removed during a migration. */
const TOMBSTONE = -1;
/** Where `prefetch` leaves what it read (see there). */
const PREFETCH_SINK = new Int32Array(1);

/**
 * The memory store's index: (token, metric) → slot, as (slot + 1, hash) pairs
 * (src/tables/pair-index.ts), at most half the positions used, doubled incrementally
 * (src/tables/incremental-doubling.ts) so no call pays for a whole rehash (tens of
 * milliseconds at a million pairs). It migrates one step per new pair.
 *
 * The old index is never shifted while it migrates: a pair removed from it leaves a
 * `TOMBSTONE`, so that positions below the cursor keep meaning "moved".
 */
export class TokenIndex extends IncrementalDoubling<SharedInt32Array> {
  readonly #records: SlotRecords;
  readonly #tokens: TokenChunks;

  constructor(pairs: number, records: SlotRecords, tokens: TokenChunks) {
    let positions = 16;
    while (positions < pairs * 2) positions *= 2;
    // Word 0 of a position is the entry: above 0 is a slot, TOMBSTONE is below.
    super(2, 0, positions);
    this.#records = records;
    this.#tokens = tokens;
  }

  protected allocate(length: number): SharedInt32Array {
    return sharedInt32(length);
  }

  protected place(old: SharedInt32Array, base: number): void {
    placePair(this.slots, this.mask, old[base]!, old[base + 1]!);
  }

  /** Bytes of both generations. */
  get bytes(): number {
    return this.slots.byteLength + (this.old === null ? 0 : this.old.byteLength);
  }

  /** The slot of (token, metric), or `NONE`: the new index, then the old one's unmigrated
   *  part. */
  find(token: string, metric: number, hash: number): number {
    const index = this.slots;
    const mask = this.mask;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = index[at << 1]!;
      if (entry === 0) break;
      // The hash sits beside the entry, so a miss never touches the record.
      if (index[(at << 1) + 1] === hash && this.#holds(entry - 1, token, metric)) {
        return entry - 1;
      }
    }
    return this.old === null ? NONE : this.#findUnmigrated(token, metric, hash);
  }

  /** Adds `slot`; `pairs` is how many the index holds with it. */
  insert(slot: number, hash: number, pairs: number): void {
    if (this.old !== null) this.migrateStep(MIGRATION_STEP);
    if (pairs * 4 > this.slots.length) this.startDoubling();
    placePair(this.slots, this.mask, slot + 1, hash);
  }

  /** Removes `slot`, whose hash is `hash`: backward shifting in the new index, a tombstone in
   *  the old one. */
  remove(slot: number, hash: number): void {
    if (removePair(this.slots, this.mask, slot + 1, hash)) return;
    const old = this.old!;
    const mask = this.oldMask;
    let at = hash & mask;
    // Below the cursor the same entry may still sit there, moved: look for the live one.
    while (old[at << 1] !== slot + 1 || at < this.cursor) at = (at + 1) & mask;
    old[at << 1] = TOMBSTONE;
  }

  /**
   * Loads the index positions of a block of hashes, then the records they point at when the
   * stored hash matches, before any of them is needed. Each load's result is discarded: the
   * point is that their cache misses are all in flight at once (a short loop with independent
   * loads lets the CPU issue them together), where a decision at a time waits for one miss,
   * then the next. Reads only.
   */
  prefetch(hashes: Int32Array, count: number): void {
    const index = this.slots;
    const mask = this.mask;
    let sink = 0;
    for (let k = 0; k < count; k++) sink |= index[(hashes[k]! & mask) << 1]!;
    // While the index migrates, a pair not found in the new one is looked for in the old.
    const old = this.old;
    if (old !== null) {
      const oldMask = this.oldMask;
      for (let k = 0; k < count; k++) sink |= old[(hashes[k]! & oldMask) << 1]!;
    }
    const f64 = this.#records.f64;
    for (let k = 0; k < count; k++) {
      const at = (hashes[k]! & mask) << 1;
      const entry = index[at]!;
      if (entry !== 0 && index[at + 1] === hashes[k]) {
        sink |= f64[((entry - 1) << REC_SHIFT_F64) + F_EXPIRES_AT]! > 0 ? 1 : 0;
      }
    }
    // Stored so that the loads are not optimised away as unused.
    PREFETCH_SINK[0] = sink;
  }

  #holds(slot: number, token: string, metric: number): boolean {
    return (
      this.#records.i32[(slot << REC_SHIFT_I32) + I_METRIC] === metric &&
      this.#tokens.at(slot) === token
    );
  }

  #findUnmigrated(token: string, metric: number, hash: number): number {
    const old = this.old!;
    const mask = this.oldMask;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = old[at << 1]!;
      if (entry === 0) return NONE;
      if (
        entry !== TOMBSTONE &&
        old[(at << 1) + 1] === hash &&
        this.#holds(entry - 1, token, metric)
      ) {
        // Below the cursor the entry has moved: the pair is in the new index or was removed.
        return at < this.cursor ? NONE : entry - 1;
      }
    }
  }
}
