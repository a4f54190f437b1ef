// Seed demo 2 — the same hits through a fixed window and an exact sliding log.
// Run: npx tsx examples/counter/02-sliding-vs-fixed.ts
import { FixedWindow, HitCounter, ManualClock, SlidingLog } from '../../src/index.js';
import { isMain } from './is-main.js';

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(19_000);
  const fixed = new HitCounter({
    strategy: new FixedWindow({ windowSeconds: 10 }),
    clock: clock.now,
  });
  const log = new HitCounter({
    strategy: new SlidingLog({ maxWindowSeconds: 60 }),
    clock: clock.now,
  });
  for (const second of [0, 5, 8, 15, 18]) {
    fixed.record('/stream', second * 1000);
    log.record('/stream', second * 1000);
  }
  print('hits on /stream at t = 0, 5, 8, 15, 18 s; now t = 19 s');
  for (const seconds of [1, 5, 10, 20]) {
    print(
      `last ${String(seconds).padStart(2)} s: fixed window ${fixed.query('/stream', seconds)}, sliding log ${log.query('/stream', seconds)}`,
    );
  }

  // The boundary effect: one millisecond decides which bucket a hit lands in.
  const edge = new HitCounter({
    strategy: new FixedWindow({ windowSeconds: 10 }),
    clock: clock.now,
  });
  edge.record('early', 9_999);
  edge.record('on-time', 10_000);
  print(
    `at t = 19 s, last 9 s (from 10 s): hit at 9.999 s → ${edge.query('early', 9)}, hit at 10.000 s → ${edge.query('on-time', 9)}`,
  );
}

if (isMain(import.meta.url)) run(console.log);
