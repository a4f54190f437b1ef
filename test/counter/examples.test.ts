import { describe, expect, it } from 'vitest';
import { run as demo1 } from '../../examples/counter/01-fixed-window.js';
import { run as demo2 } from '../../examples/counter/02-sliding-vs-fixed.js';
import { run as demo3 } from '../../examples/counter/03-swap-to-morris.js';
import { run as demo4 } from '../../examples/counter/04-high-volume-pruning.js';
import { run as demo5 } from '../../examples/counter/05-snapshot-restore.js';
import { run as custom } from '../../examples/counter/custom-strategy.js';
import { run as quickStart } from '../../examples/counter/quick-start.js';

function output(run: (print: (line: string) => void) => void): string[] {
  const lines: string[] = [];
  run((line) => lines.push(line));
  return lines;
}

// The examples print what the README and the seed's demos promise; these pin it down so the
// prose cannot drift from the code.
describe('counter examples', () => {
  it('1: fixed window baseline', () => {
    const lines = output(demo1);
    expect(lines[1]).toMatch(/^t = 20 s, last 10 s: 2 /);
    expect(lines[2]).toMatch(/^t = 25 s, last 10 s: 2 .*exact: 1/);
    expect(lines[3]).toMatch(/^t = 25 s, last 20 s: 5 .*exact: 3/);
  });

  it('2: sliding log vs fixed window', () => {
    expect(output(demo2).slice(1)).toEqual([
      'last  1 s: fixed window 2, sliding log 0',
      'last  5 s: fixed window 2, sliding log 2',
      'last 10 s: fixed window 5, sliding log 2',
      'last 20 s: fixed window 5, sliding log 5',
      'at t = 19 s, last 9 s (from 10 s): hit at 9.999 s → 0, hit at 10.000 s → 1',
    ]);
  });

  it('3: swap to Morris resets, then estimates', () => {
    const lines = output(demo3);
    expect(lines[0]).toBe('fixed window: 1000 hits in the last 60 s');
    expect(lines[1]).toMatch(/^\[strategy_reset\] .*"keysDropped":1/);
    expect(lines[2]).toBe(
      '[strategy_swapped] {"from":"fixed-window","to":"morris","stateKept":false,"converted":false}',
    );
    expect(lines[3]).toMatch(/^after the swap: 0 /);
    expect(lines.join('\n')).toMatch(/base 1\.1\), the same hits: .*\(mean \d+\)/);
  });

  it('4: pruning keeps a sliding log at rate × window', () => {
    expect(output(demo4).slice(1)).toEqual([
      'peak memory entries: 5000 (bound: 5 s × 1,000/s = 5,000; unpruned it would be 10,000)',
      'total hits 10000, pruned 5000 in 5000 prune events',
      'last 5 s: 5000, last 1 s: 1000',
    ]);
  });

  it('5: snapshot and restore', () => {
    const lines = output(demo5);
    expect(lines.slice(0, 3)).toEqual([
      'after 50 hits: 50; snapshot taken',
      'after 50 more: 100, total_hits 100',
      'after restore: 50, total_hits 50',
    ]);
    expect(lines[3]).toMatch(/^a new counter restored from \d+ bytes of JSON: 50$/);
  });

  it('a custom strategy', () => {
    expect(output(custom)).toEqual([
      't = 90 s: 6 hits this minute',
      't = 120 s: 0 hits this minute',
    ]);
  });

  it('the README quick start', () => {
    expect(output(quickStart)).toEqual([
      'last 10 s: 2',
      'last 60 s: 3',
      'pruned 1 old hit(s) of /login',
      '30 s later, last 60 s: 3',
      '{"total_hits":4,"keys_count":1,"pruned_events":1,"memory_entries":3,"evicted_keys":0}',
    ]);
  });
});
