/*
 * The seam between the engines and the persistence layer. An engine exports its whole state
 * as an image: a small JSON-safe `meta` record (options it was made with, counters, times)
 * and its tables as typed arrays written as they are, so a 20M-address tracker is saved
 * without turning a single slot into text. `src/persist/` turns an image into a checksummed
 * file and back; it never looks inside `meta` or the arrays, and an engine never touches a
 * file. Each engine validates the image it is given and refuses a malformed one with a
 * `SnapshotError` naming the part (`meta.topN`, `arrays.v4Slots`, …).
 */

/** A table as it lives in memory. Only element types with a fixed byte order in the file
 *  (little-endian, which is every platform Node ships for). */
export type StateArray =
  | Uint8Array
  | Int32Array
  | Uint32Array
  | Float64Array
  | Uint16Array
  | Int8Array;

/** JSON-safe data: what `JSON.stringify` writes and `JSON.parse` reads back the same. */
export type StateMeta =
  | null
  | boolean
  | number
  | string
  | readonly StateMeta[]
  | {
      readonly [key: string]: StateMeta;
    };

/** An engine's whole state. Times in `meta` are absolute (epoch milliseconds), never "ms
 *  from now", so whatever expired while the process was down is dropped on load. */
export interface StateImage {
  readonly meta: { readonly [key: string]: StateMeta };
  /** Named tables; names are part of the engine's format and never reused for another
   *  meaning. */
  readonly arrays: { readonly [name: string]: StateArray };
}

/**
 * What an engine's `exportState()` hands out: the image, and `release()` to call once it has
 * been written. An engine that copies its state makes `release` a no-op; the IP tracker hands
 * out its live tables frozen instead of copying hundreds of megabytes, counts into a small
 * overlay meanwhile and merges it back on `release` (see `IpTracker#exportState`). The image is
 * valid until `release()`; never write into its arrays.
 */
export interface StateExport {
  readonly image: StateImage;
  /** Ends the export; idempotent. */
  release(): void;
}

/** How an engine's `loadState` may treat the image it is given. */
export interface LoadStateOptions {
  /**
   * The image's arrays become the engine's own tables instead of being copied, wherever they
   * can (an array of the table's element type on a `SharedArrayBuffer`, as `loadState` of a
   * state file reads them): the caller gives the arrays up and must not read or write them
   * again. Saves a copy of every table, and the time it takes to fault in fresh memory for
   * it, hundreds of milliseconds for a 20M-address tracker. @default false
   */
  readonly adopt?: boolean;
}
