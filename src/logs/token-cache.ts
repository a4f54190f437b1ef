import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { mix32 } from '../tables/mix.js';

/*
 * The BanHammer counts string tokens, and a log's lines hold parsed addresses. Formatting one
 * per line would make a string per line; this direct-mapped cache keeps the text of the
 * addresses seen lately, so a client that comes back (most lines, on real traffic) costs a
 * hash and a comparison. The text is the canonical form the tracker reports, so a replay's
 * tokens and the top list name a client the same way.
 */

const SLOTS = 1 << 16;

export class TokenCache {
  readonly #v4Words = new Uint32Array(SLOTS);
  readonly #v4Text: (string | undefined)[] = new Array(SLOTS).fill(undefined);
  readonly #v6Words = new Uint32Array(SLOTS * 4);
  readonly #v6Text: (string | undefined)[] = new Array(SLOTS).fill(undefined);

  /** The text of the address `family` / `words` (as `parseAddressIn` writes them). */
  textOf(family: 4 | 6, words: Uint32Array): string {
    if (family === 4) {
      const word = words[0]!;
      const slot = mix32(word) & (SLOTS - 1);
      const cached = this.#v4Text[slot];
      if (cached !== undefined && this.#v4Words[slot] === word) return cached;
      const text = formatIPv4(word);
      this.#v4Words[slot] = word;
      this.#v4Text[slot] = text;
      return text;
    }
    const slot =
      mix32(words[0]! ^ mix32(words[1]! ^ mix32(words[2]! ^ mix32(words[3]!)))) & (SLOTS - 1);
    const at = slot * 4;
    const kept = this.#v6Words;
    const cached = this.#v6Text[slot];
    if (
      cached !== undefined &&
      kept[at] === words[0] &&
      kept[at + 1] === words[1] &&
      kept[at + 2] === words[2] &&
      kept[at + 3] === words[3]
    ) {
      return cached;
    }
    const text = formatIPv6(words);
    kept.set(words.subarray(0, 4), at);
    this.#v6Text[slot] = text;
    return text;
  }
}
