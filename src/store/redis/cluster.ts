/*
 * Regrouping on a Redis Cluster. Decisions are batched per master, whatever their slots: a
 * batch of several slots is routed by its first key, the others travel in ARGV (a cluster
 * refuses an EVALSHA whose KEYS span slots, not a script that reaches undeclared keys of its
 * own node). When a slot of such a batch turns out to be elsewhere (it moved, or is moving),
 * the script stopped at its reads, before any write, and the batch goes again slot by slot,
 * which the client routes (and redirects) by their keys.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { type Batch, emptyBatch } from './coalescer.js';

export { calculateSlot as slotOf };

/** The batch group of a key in `slot`: its master's address, or the slot itself while the
 *  client does not know the slot's master yet. */
export function groupOf(client: Cluster, slot: number): number | string {
  return client.slots[slot]?.[0] ?? slot;
}

/** For a batch whose keys span slots: moves `keys` into decide.lua's ARGV (with their count
 *  in ARGV[3]) and returns the one key that routes the call. */
export function routeAcrossSlots(keys: readonly string[], args: string[]): string[] {
  args[2] = String(keys.length);
  for (const key of keys) args.push(key);
  return [keys[0]!];
}

/** Whether a failed call was refused because a key it reached is not served by the node it
 *  ran on (a slot moved, or is moving): what decide.lua may answer for a batch of several
 *  slots, always from its reads, before it writes anything. */
export function isMisrouted(error: unknown): boolean {
  return (
    error instanceof Error &&
    /non local key|do not hash to the same slot|^(MOVED|ASK|TRYAGAIN|CROSSSLOT)\b/.test(
      error.message,
    )
  );
}

/** A batch of several slots split into one batch per slot, each in arrival order. */
export function bySlot(batch: Batch): Batch[] {
  const parts = new Map<number, Batch>();
  batch.keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    let part = parts.get(slot);
    if (part === undefined) {
      part = emptyBatch(slot);
      parts.set(slot, part);
    }
    part.keys.push(key);
    part.metrics.push(batch.metrics[i]!);
    part.tokens.push(batch.tokens[i]!);
    part.settle.push(batch.settle[i]!);
  });
  return [...parts.values()];
}
