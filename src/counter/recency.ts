import { grown } from './options.js';

/** No slot: the end of the list. */
export const NONE = -1;

/**
 * The counter's slots in the order they were last recorded to, least recent first: a doubly
 * linked list kept in one Int32Array (`[older, newer]` side by side per slot, so moving a slot
 * reads and writes one cache line of its own and one of each neighbour). Moving a slot to the
 * newest end, removing one and finding the least recent are O(1) and allocate nothing, which
 * is what the idle sweep and eviction at `maxKeys` need from it.
 */
export class RecencyList {
  #links = new Int32Array(0);
  #oldest = NONE;
  #newest = NONE;

  /** The least recently recorded slot, or {@link NONE}. */
  get oldest(): number {
    return this.#oldest;
  }

  /** The slot recorded to after `slot`, or {@link NONE} for the newest. */
  newer(slot: number): number {
    return this.#links[slot * 2 + 1]!;
  }

  /** Makes room for slots `0 … capacity-1`, keeping the order. */
  resize(capacity: number): void {
    if (capacity * 2 > this.#links.length) this.#links = grown(this.#links, capacity * 2);
  }

  /** Links a slot that is not in the list as the newest. */
  push(slot: number): void {
    const links = this.#links;
    const newest = this.#newest;
    links[slot * 2] = newest;
    links[slot * 2 + 1] = NONE;
    if (newest === NONE) this.#oldest = slot;
    else links[newest * 2 + 1] = slot;
    this.#newest = slot;
  }

  /** Unlinks a slot that is in the list. */
  remove(slot: number): void {
    const links = this.#links;
    const older = links[slot * 2]!;
    const newer = links[slot * 2 + 1]!;
    if (older === NONE) this.#oldest = newer;
    else links[older * 2 + 1] = newer;
    if (newer === NONE) this.#newest = older;
    else links[newer * 2] = older;
  }

  /** Moves a slot in the list to the newest end. */
  touch(slot: number): void {
    if (slot === this.#newest) return;
    this.remove(slot);
    this.push(slot);
  }
}
