/**
 * Old positions moved per operation while a table doubles. Why 32: while a doubling runs,
 * every miss in the new table is looked for in the old one too (two cache misses instead of
 * one), so the shorter the migration, the cheaper growth is. Moving a position costs a few
 * nanoseconds, so 32 of them add well under a microsecond to a call, while unhinted inserts
 * into the tracker got ~30% cheaper than with 4 per call (210 → 145 ns per insert, CPU time,
 * 4M random addresses into an unhinted table).
 */
export const MIGRATION_STEP = 32;

/**
 * Incremental doubling for open-addressing tables held in one flat typed array of
 * fixed-stride positions, power-of-two sized.
 *
 * Doubling a table of millions of positions in one go would stall the call that triggers it
 * for tens or hundreds of milliseconds. Instead a table twice the size is allocated (the
 * system hands out lazily zeroed pages, so that is cheap) and every following operation
 * moves the next `MIGRATION_STEP` old positions into it. A key lives in exactly one place:
 * the new table, or the old one at a position not yet passed by `cursor`. Owners look in the
 * new table first and fall back to the old one, above the cursor, only on a miss; the old
 * table is dropped when the cursor reaches its end.
 *
 * The migration ends long before the new table can need to double again: a doubling makes
 * room for at least as many inserts as the old table had positions times its load limit,
 * and the cursor crosses the old table after 1/`MIGRATION_STEP` of its positions in calls.
 * So at most two generations are ever alive (`startDoubling` still checks, so that a changed
 * constant cannot leave three).
 *
 * Subclasses own the layout of a position, say when to double, and move one position with
 * `place`; a position is occupied when its word `occupiedWord` is above 0 (a count, or an
 * entry that is neither empty nor a tombstone).
 */
export abstract class IncrementalDoubling<T extends Int32Array | Uint32Array> {
  /** Words per position. */
  protected readonly stride: number;
  protected slots: T;
  /** Positions − 1 of `slots`. */
  protected mask: number;
  /** The table being migrated away from, or null. */
  protected old: T | null = null;
  protected oldMask = 0;
  /** Old positions below this one have moved to `slots`. */
  protected cursor = 0;
  readonly #occupiedWord: number;

  constructor(stride: number, occupiedWord: number, positions: number) {
    this.stride = stride;
    this.#occupiedWord = occupiedWord;
    this.slots = this.allocate(positions * stride);
    this.mask = positions - 1;
  }

  /** A zeroed array of `length` words. */
  protected abstract allocate(length: number): T;

  /** Copies the occupied position at `old[base ..]` into `slots`, where its key is absent. */
  protected abstract place(old: T, base: number): void;

  /** Replaces both generations with one empty table of `positions` positions. */
  protected replaceTable(positions: number): void {
    this.slots = this.allocate(positions * this.stride);
    this.mask = positions - 1;
    this.old = null;
    this.cursor = 0;
  }

  /** Starts doubling: `slots` becomes the old table and a table twice its size replaces it. */
  protected startDoubling(): void {
    while (this.old !== null) this.migrateStep(Number.POSITIVE_INFINITY);
    const positions = (this.mask + 1) * 2;
    this.old = this.slots;
    this.oldMask = this.mask;
    this.cursor = 0;
    this.slots = this.allocate(positions * this.stride);
    this.mask = positions - 1;
  }

  /** Moves the next `steps` old positions; call once per operation while `old` is set. */
  protected migrateStep(steps: number = MIGRATION_STEP): void {
    const old = this.old!;
    const positions = this.oldMask + 1;
    const end = Math.min(this.cursor + steps, positions);
    const stride = this.stride;
    const occupied = this.#occupiedWord;
    for (let i = this.cursor; i < end; i++) {
      const base = i * stride;
      if (old[base + occupied]! > 0) this.place(old, base);
    }
    this.cursor = end;
    if (end === positions) this.old = null;
  }
}
