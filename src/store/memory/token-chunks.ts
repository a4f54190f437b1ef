/** Slots per chunk of the token array. */
const TOKEN_CHUNK_BITS = 12;
const TOKEN_CHUNK = 1 << TOKEN_CHUNK_BITS;

/**
 * The token string of each slot, in chunks of `TOKEN_CHUNK` slots rather than one array: a
 * JS array grows by copying itself, which at a million slots is an 8 MB copy inside one call
 * (measured: the slowest `incr` over 1M fresh tokens, ~6 ms, was that copy).
 */
export class TokenChunks {
  readonly #chunks: (string | undefined)[][] = [];

  at(slot: number): string | undefined {
    return this.#chunks[slot >> TOKEN_CHUNK_BITS]![slot & (TOKEN_CHUNK - 1)];
  }

  /** Sets the token of `slot`, which is at most one past the highest slot set so far. */
  set(slot: number, token: string | undefined): void {
    const chunks = this.#chunks;
    const chunk = slot >> TOKEN_CHUNK_BITS;
    if (chunk === chunks.length) {
      chunks.push(new Array<string | undefined>(TOKEN_CHUNK).fill(undefined));
    }
    chunks[chunk]![slot & (TOKEN_CHUNK - 1)] = token;
  }
}
