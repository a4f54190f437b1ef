import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';

function demo(seed: number): string[] {
  const lines: string[] = [];
  runDemo({ addresses: 5_000, requests: 40_000, ipv6Share: 0.3, top: 7, seed }, (line) =>
    lines.push(line),
  );
  return lines;
}

describe('hitwarden demo', () => {
  it('prints the top rows, counts descending, from a reproducible synthetic day', () => {
    const lines = demo(3);
    const rows = lines.filter((line) => /^\s+\d+\s{2}\S+\s+\d+$/.test(line));
    expect(rows).toHaveLength(7);
    const counts = rows.map((row) => Number(row.trim().split(/\s+/)[2]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(lines[0]).toMatch(/^hitwarden demo: 40,000 requests from [\d,]+ distinct addresses/);
    // Same seed, same day: everything but the timing line is identical.
    expect(demo(3).slice(0, -1)).toEqual(lines.slice(0, -1));
    expect(demo(4).slice(0, -1)).not.toEqual(lines.slice(0, -1));
  });
});
