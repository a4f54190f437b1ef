/*
 * The peers hitwarden's IpTracker is measured against. Each runs alone in its own process, so
 * the request loop's call site only ever sees one class.
 */

export interface TopEntry {
  ip: string;
  count: number;
}

/** What the request loop and the top-100 timer need from a contender. */
export interface Contender {
  requestHandled(ip: string): void;
  /** `null` when the contender keeps no top list (the bare table). */
  top100(): TopEntry[] | null;
  readonly size: number;
  /** Bytes held in `SharedArrayBuffer`s (hitwarden's tables), which `process.memoryUsage()`
   *  leaves out of `external`; the child adds them to the memory the contender retains. */
  readonly memoryBytes?: number;
}

export type ContenderName =
  | 'hitwarden'
  | 'hitwarden-presized'
  | 'map-sort'
  | 'map-heap'
  | 'bare-table';

export const CONTENDER_NAMES: readonly ContenderName[] = [
  'hitwarden',
  'hitwarden-presized',
  'map-sort',
  'map-heap',
  'bare-table',
];

/**
 * (a) The seeds' approach: a `Map` from address text to count, and a sort of every entry when
 * the top is asked for. Ties fall in insertion order (the seeds do not define one).
 */
export class MapSort implements Contender {
  private readonly counts = new Map<string, number>();

  requestHandled(ip: string): void {
    this.counts.set(ip, (this.counts.get(ip) ?? 0) + 1);
  }

  top100(): TopEntry[] {
    const entries = Array.from(this.counts);
    entries.sort((x, y) => y[1] - x[1]);
    return entries.slice(0, 100).map(([ip, count]) => ({ ip, count }));
  }

  get size(): number {
    return this.counts.size;
  }
}

/**
 * (b) The same `Map`, with a single pass over it that keeps the best 100 in a min-heap
 * (parallel arrays, root = the weakest kept entry): O(n log 100) instead of a full sort.
 * Ties: the entry seen first stays.
 */
export class MapHeap implements Contender {
  private readonly counts = new Map<string, number>();

  requestHandled(ip: string): void {
    this.counts.set(ip, (this.counts.get(ip) ?? 0) + 1);
  }

  top100(): TopEntry[] {
    const k = 100;
    const heapIps: string[] = [];
    const heapCounts: number[] = [];
    for (const [ip, count] of this.counts) {
      if (heapCounts.length < k) {
        // Sift up.
        let i = heapCounts.length;
        heapIps.push(ip);
        heapCounts.push(count);
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (heapCounts[parent]! <= count) break;
          heapCounts[i] = heapCounts[parent]!;
          heapIps[i] = heapIps[parent]!;
          i = parent;
        }
        heapCounts[i] = count;
        heapIps[i] = ip;
      } else if (count > heapCounts[0]!) {
        // Replace the root and sift down.
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          if (left >= k) break;
          const right = left + 1;
          const child = right < k && heapCounts[right]! < heapCounts[left]! ? right : left;
          if (heapCounts[child]! >= count) break;
          heapCounts[i] = heapCounts[child]!;
          heapIps[i] = heapIps[child]!;
          i = child;
        }
        heapCounts[i] = count;
        heapIps[i] = ip;
      }
    }
    const out = heapIps.map((ip, i) => ({ ip, count: heapCounts[i]! }));
    out.sort((x, y) => y.count - x.count);
    return out;
  }

  get size(): number {
    return this.counts.size;
  }
}

/**
 * (c) The cost floor: a presized power-of-two open-addressing table of IPv4 words and counts
 * in typed arrays, Fibonacci hashing, linear probing. It reads the digits without checking
 * them, keeps no top list and never grows — everything the real tracker does on top of this
 * (validation, IPv6, growth, top-K upkeep) is what the ratio to it measures.
 */
export class BareTable implements Contender {
  private readonly keys: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly mask: number;
  private readonly shift: number;
  private used = 0;

  constructor(expectedAddresses: number) {
    let bits = 4;
    while (2 ** bits < expectedAddresses * 1.5) bits++;
    this.keys = new Uint32Array(2 ** bits);
    this.counts = new Uint32Array(2 ** bits);
    this.mask = 2 ** bits - 1;
    this.shift = 32 - bits;
  }

  requestHandled(ip: string): void {
    let word = 0;
    let octet = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) {
        word = (word << 8) | octet;
        octet = 0;
      } else {
        octet = octet * 10 + c - 48;
      }
    }
    word = ((word << 8) | octet) >>> 0;
    let slot = Math.imul(word, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const count = this.counts[slot]!;
      if (count === 0) {
        this.keys[slot] = word;
        this.counts[slot] = 1;
        this.used++;
        return;
      }
      if (this.keys[slot] === word) {
        this.counts[slot] = count + 1;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  top100(): null {
    return null;
  }

  get size(): number {
    return this.used;
  }
}

/** Builds the named contender; hitwarden's comes from the built package (`hitwarden`, which
 *  resolves to dist/), imported only here so that no peer's process loads it. */
export async function createContender(
  name: ContenderName,
  expectedAddresses: number,
): Promise<Contender> {
  switch (name) {
    case 'map-sort':
      return new MapSort();
    case 'map-heap':
      return new MapHeap();
    case 'bare-table':
      return new BareTable(expectedAddresses);
    case 'hitwarden':
    case 'hitwarden-presized': {
      const hitwarden = await import('hitwarden');
      return name === 'hitwarden'
        ? new hitwarden.IpTracker({ topN: 100 })
        : new hitwarden.IpTracker({ topN: 100, expectedAddresses });
    }
  }
}
