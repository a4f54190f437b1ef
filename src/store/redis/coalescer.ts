import type { Decision } from '../store.js';

/** Decisions waiting for the same script call: one node's (on a cluster, one master's, or one
 *  slot's while the client does not know the slot's master yet). */
export interface Batch {
  /** Each decision's `:state` key. */
  keys: string[];
  metrics: number[];
  tokens: string[];
  settle: ((decision: Decision) => void)[];
  /** The slot of the first key (-1 on a single node). */
  slot: number;
  /** Whether the keys span several slots (of one cluster node). */
  crossSlot: boolean;
}

export function emptyBatch(slot: number): Batch {
  return { keys: [], metrics: [], tokens: [], settle: [], slot, crossSlot: false };
}

/**
 * Coalesces decisions in flight together into one batch per group, so each group costs one
 * script call: a batch goes when it holds `maxBatch` decisions, or once every promise
 * continuation of this event-loop turn has run (`process.nextTick`), i.e. after every caller
 * that was waiting for the last batch's answers has asked its next question. Decisions keep
 * their arrival order within a batch. See docs/decisions/0005-redis-store-lua-coalescing.md.
 */
export class Coalescer {
  readonly #maxBatch: number;
  readonly #send: (batch: Batch) => void;
  /** Batches being filled in this event-loop turn, by group (0 on a single node; see
   *  `groupOf` in cluster.ts). */
  #batches = new Map<number | string, Batch>();
  #flushScheduled = false;

  constructor(maxBatch: number, send: (batch: Batch) => void) {
    this.#maxBatch = maxBatch;
    this.#send = send;
  }

  /** Queues one decision of `group`, whose key is in `slot` (-1 on a single node). */
  add(
    group: number | string,
    slot: number,
    key: string,
    metric: number,
    token: string,
  ): Promise<Decision> {
    let batch = this.#batches.get(group);
    if (batch === undefined) {
      batch = emptyBatch(slot);
      this.#batches.set(group, batch);
    } else if (slot !== batch.slot) {
      batch.crossSlot = true;
    }
    batch.keys.push(key);
    batch.metrics.push(metric);
    batch.tokens.push(token);
    const decided = new Promise<Decision>((resolve) => batch.settle.push(resolve));
    if (batch.metrics.length >= this.#maxBatch) {
      this.#batches.delete(group);
      this.#send(batch);
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.flush);
    }
    return decided;
  }

  /** Sends every batch being filled now. */
  readonly flush = (): void => {
    this.#flushScheduled = false;
    const batches = this.#batches;
    if (batches.size === 0) return;
    this.#batches = new Map();
    for (const batch of batches.values()) this.#send(batch);
  };
}
