// The README's hit counter example. Run: npx tsx examples/counter/quick-start.ts
// (In an application, import from 'hitwarden' and leave out `clock` to use Date.now.)
import { HitCounter, ManualClock, SlidingLog } from '../../src/index.js';
import { isMain } from './is-main.js';

export function run(print: (line: string) => void): void {
  const clock = new ManualClock(Date.parse('2026-01-01T12:00:00Z'));
  const hits = new HitCounter({
    strategy: new SlidingLog({ maxWindowSeconds: 60 }), // exact, keeps 60 s of timestamps
    clock: clock.now,
  });
  hits.on('pruned', ({ key, removed }) => print(`pruned ${removed} old hit(s) of ${key}`));

  const now = clock.now();
  hits.record('/login', now - 50_000); // epoch milliseconds
  hits.record('/login', now - 5_000);
  hits.record('/login'); // now

  print(`last 10 s: ${hits.query('/login', 10)}`); // spans in seconds
  print(`last 60 s: ${hits.query('/login', 60)}`);

  clock.advance(30);
  hits.record('/login');
  print(`30 s later, last 60 s: ${hits.query('/login', 60)}`);
  print(JSON.stringify(hits.metrics()));
}

if (isMain(import.meta.url)) run(console.log);
