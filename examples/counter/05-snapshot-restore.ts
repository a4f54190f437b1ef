// Seed demo 5 — snapshot and restore, in memory and through the JSON encoding (a restart).
// Run: npx tsx examples/counter/05-snapshot-restore.ts
import {
  decodeSnapshot,
  encodeSnapshot,
  FixedWindow,
  HitCounter,
  ManualClock,
} from '../../src/index.js';
import { isMain } from './is-main.js';

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(5_000);
  const strategy = new FixedWindow({ windowSeconds: 10 });
  const hits = new HitCounter({ strategy, clock: clock.now });

  for (let i = 0; i < 50; i++) hits.record('/home', i * 100);
  const snapshot = hits.snapshot();
  print(`after 50 hits: ${hits.query('/home', 10)}; snapshot taken`);

  clock.set(10_000);
  for (let i = 0; i < 50; i++) hits.record('/home', 5_000 + i * 100);
  print(`after 50 more: ${hits.query('/home', 10)}, total_hits ${hits.metrics().total_hits}`);

  hits.restore(snapshot);
  print(`after restore: ${hits.query('/home', 10)}, total_hits ${hits.metrics().total_hits}`);

  const text = encodeSnapshot(snapshot);
  const restarted = new HitCounter({ strategy, clock: clock.now });
  restarted.restore(decodeSnapshot(text));
  print(
    `a new counter restored from ${text.length} bytes of JSON: ${restarted.query('/home', 10)}`,
  );
}

if (isMain(import.meta.url)) run(console.log);
