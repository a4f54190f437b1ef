/*
 * Typed arrays for the memory store's and the IP tracker's tables, backed by
 * `SharedArrayBuffer`s that are never shared with anyone.
 *
 * Why not ordinary typed arrays: V8 counts an ordinary `ArrayBuffer` as external memory, and
 * the store's tables grow by doubling, tens of megabytes at a time at a million tokens. Each
 * such jump makes V8 start garbage collections for "external memory pressure" (scavenges and
 * a major collection) inside the caller's synchronous loop; measured on the 1M-distinct-token
 * benchmark, the unhinted core ran ~35% faster once its records and index moved to shared
 * buffers (median 1.02 → 1.39M/s, same run, A/B interleaved). Shared buffers are left out of
 * that accounting. The price: a retired table (the old half after a doubling) goes back to
 * the system at the heap's next major collection instead of prompting one, and
 * `process.memoryUsage()` does not show these tables — `MemoryCore#arrayBytes` does.
 *
 * The IP tracker's tables live here for the same reason, measured more starkly (decision
 * 0002): a 64–256 MB doubling of an ordinary buffer made V8 start a major collection that,
 * inside a synchronous request loop, finished as one atomic pause proportional to the
 * caller's whole heap — 1–2 s with a 1.5 GB heap. Both kinds of buffer are zero-filled lazily
 * by the system, page by page, so allocating either is cheap.
 */

export type SharedFloat64Array = Float64Array<SharedArrayBuffer>;
export type SharedInt32Array = Int32Array<SharedArrayBuffer>;
export type SharedUint32Array = Uint32Array<SharedArrayBuffer>;

/** A zeroed `Float64Array` of `length` elements on a buffer of its own. */
export function sharedFloat64(length: number): SharedFloat64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** A zeroed `Int32Array` of `length` elements on a buffer of its own. */
export function sharedInt32(length: number): SharedInt32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

/** A zeroed `Uint32Array` of `length` elements on a buffer of its own. */
export function sharedUint32(length: number): SharedUint32Array {
  return new Uint32Array(new SharedArrayBuffer(length * 4));
}
