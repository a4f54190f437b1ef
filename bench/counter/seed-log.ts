/**
 * The seed design's sliding window, ported to TypeScript as the peer to beat: a plain array of
 * timestamps per key, pruned on every record by a linear scan for the first timestamp to keep
 * and a cut of the prefix, counted by a linear scan on every query. (The seed copies the kept
 * tail on every record; cutting with `splice` only when something expired is kinder to it.)
 */
export class SeedLog {
  readonly #lists = new Map<string, number[]>();
  readonly #maxWindowMs: number;
  readonly #clock: () => number;

  constructor(maxWindowSeconds: number, clock: () => number) {
    this.#maxWindowMs = maxWindowSeconds * 1000;
    this.#clock = clock;
  }

  record(key: string, at: number = this.#clock()): void {
    let list = this.#lists.get(key);
    if (list === undefined) {
      list = [];
      this.#lists.set(key, list);
    }
    list.push(at);
    const cutoff = at - this.#maxWindowMs;
    let keep = 0;
    while (keep < list.length && list[keep]! < cutoff) keep++;
    if (keep > 0) list.splice(0, keep);
  }

  query(key: string, lastSeconds: number): number {
    const list = this.#lists.get(key);
    if (list === undefined) return 0;
    const cutoff = this.#clock() - lastSeconds * 1000;
    let count = 0;
    for (const at of list) if (at >= cutoff) count++;
    return count;
  }
}
