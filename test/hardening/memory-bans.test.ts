import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * Banned pairs keep their ban ends in typed-array blocks, not a typed array per ban in a Map:
 * the JS heap does not grow with the number of bans. Measured in a child process after full
 * collections (bench/banhammer/ban-memory.ts), so nothing else of the test run is counted.
 * Before, 200k banned pairs grew the heap by ~224 bytes each.
 */

const script = fileURLToPath(new URL('../../bench/banhammer/ban-memory.ts', import.meta.url));

function measure(pairs: number): { pairs: number; lastBanned: boolean; bytesPerPairHeap: number } {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', script, String(pairs)],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('memory of banned pairs', () => {
  it('keeps 200k bans off the JS heap', () => {
    const result = measure(200_000);
    expect(result.pairs).toBe(200_000);
    expect(result.lastBanned).toBe(true);
    // The token strings exist before the first measurement; what is left is noise.
    expect(result.bytesPerPairHeap).toBeLessThan(40);
  });
});
