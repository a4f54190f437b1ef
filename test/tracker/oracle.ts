import { isIP } from 'node:net';

/**
 * The brute-force IP tracker the real one is checked against: a Map from canonical text to
 * count and a full sort, computing canonical text and order with none of the tracker's
 * code (only node:net and BigInt).
 */
export class OracleTracker {
  readonly counts = new Map<string, number>();

  constructor(readonly topN: number) {}

  requestHandled(ip: string): void {
    const key = canonical(ip);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  count(ip: string): number {
    return this.counts.get(canonical(ip)) ?? 0;
  }

  top(n: number): { ip: string; count: number }[] {
    return [...this.counts]
      .map(([ip, count]) => ({ ip, count, order: orderKey(ip) }))
      .sort((a, b) => b.count - a.count || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))
      .slice(0, n)
      .map(({ ip, count }) => ({ ip, count }));
  }

  clear(): void {
    this.counts.clear();
  }
}

/** Expands IPv6 text into its 128-bit value with BigInt. */
function ipv6Value(text: string): bigint {
  const [head, tail] = text.split('%')[0]!.split('::') as [string, string | undefined];
  const expand = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const left = expand(head);
  const right = tail === undefined ? [] : expand(tail);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return groups.reduce((acc: bigint, g: number) => (acc << 16n) | BigInt(g), 0n);
}

function canonical(ip: string): string {
  const family = isIP(ip);
  if (family === 0) throw new Error(`oracle: invalid ${ip}`);
  if (family === 4) return ip;
  const value = ipv6Value(ip);
  if (value >> 32n === 0xffffn) {
    const v4 = Number(value & 0xffffffffn);
    return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
  }
  // Canonical text via the WHATWG URL parser, which serialises IPv6 hosts per RFC 5952.
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((value >> BigInt(112 - 16 * i)) & 0xffffn),
  );
  return new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
}

/** Sort key: IPv4 before IPv6, then numeric — as a fixed-width string. */
function orderKey(ip: string): string {
  if (isIP(ip) === 4) {
    const v4 = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return `4${v4.toString(16).padStart(8, '0')}`;
  }
  return `6${ipv6Value(ip).toString(16).padStart(32, '0')}`;
}
