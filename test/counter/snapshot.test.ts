import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CountingStrategy,
  decodeSnapshot,
  encodeSnapshot,
  FixedWindow,
  HitCounter,
  type HitCounterSnapshot,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
  SnapshotError,
} from '../../src/index.js';
import { drive, ops } from './oracle.js';

const strategies: [string, () => CountingStrategy][] = [
  ['FixedWindow', () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 })],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 5 })],
  [
    'SlidingWindowCounter',
    () => new SlidingWindowCounter({ windowSeconds: 1, maxWindowSeconds: 5 }),
  ],
  // A fixed "random" number keeps two counters in step after a restore. An integer base
  // answers from ring totals kept on the way, which a restore recomputes from the cells.
  [
    'Morris',
    () => new Morris({ base: 1.5, windowSeconds: 1, maxWindowSeconds: 5, random: () => 0.3 }),
  ],
  [
    'Morris, base 2,',
    () => new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 5, random: () => 0.3 }),
  ],
];

function answers(counter: HitCounter): number[] {
  const out: number[] = [];
  for (const key of ['a', 'b', 'c', '__proto__']) {
    for (const seconds of [0, 0.25, 1, 2.5, 5]) out.push(counter.query(key, seconds));
  }
  return out;
}

describe.each(strategies)('%s snapshots', (_name, make) => {
  it('round-trip through the encoding: same answers, same metrics, same future', () => {
    fc.assert(
      fc.property(ops(1_500, 5_000, 150), ops(1_500, 5_000, 30), (before, after) => {
        const original = drive(make(), before, () => {});
        const text = encodeSnapshot(original.counter.snapshot());
        const copy = new HitCounter({ strategy: make(), clock: original.clock.now });
        copy.restore(decodeSnapshot(text));
        expect(answers(copy)).toEqual(answers(original.counter));
        expect(copy.metrics()).toEqual(original.counter.metrics());
        let now = original.clock.now();
        for (const step of after) {
          now += step.advanceMs;
          original.clock.set(now);
          if (step.op === 'record') {
            original.counter.record(step.key, now - step.lateMs);
            copy.record(step.key, now - step.lateMs);
          }
        }
        expect(answers(copy)).toEqual(answers(original.counter));
      }),
      { numRuns: 60 },
    );
  });

  it('is plain data that survives structuredClone', () => {
    const clock = new ManualClock(10_000);
    const counter = new HitCounter({ strategy: make(), clock: clock.now });
    for (let i = 0; i < 20; i++) counter.record(`k${i % 3}`, 10_000 - i * 200);
    const snapshot = counter.snapshot();
    expect(structuredClone(snapshot)).toEqual(snapshot);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });
});

describe('restore', () => {
  function filled() {
    const clock = new ManualClock(100_000);
    const counter = new HitCounter({
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 }),
      clock: clock.now,
    });
    for (let i = 0; i < 10; i++) counter.record(i % 2 ? 'a' : 'b', 100_000 - i * 300);
    return { clock, counter, snapshot: counter.snapshot() };
  }

  function refuses(mutate: (snapshot: Record<string, unknown>) => void, path: RegExp | string) {
    const { counter, snapshot } = filled();
    counter.record('c');
    const before = counter.snapshot();
    const bad = structuredClone(snapshot) as unknown as Record<string, unknown>;
    mutate(bad);
    let error: unknown;
    try {
      counter.restore(bad as unknown as HitCounterSnapshot);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).path).toMatch(path);
    // Nothing changed.
    expect({ ...counter.snapshot(), takenAt: 0 }).toEqual({ ...before, takenAt: 0 });
  }

  it('rolls state and metrics back (seed demo 5)', () => {
    const clock = new ManualClock(0);
    const counter = new HitCounter({
      strategy: new FixedWindow({ windowSeconds: 10 }),
      clock: clock.now,
    });
    const events: unknown[] = [];
    counter.on('snapshot_taken', (event) => events.push(event));
    counter.on('snapshot_restored', (event) => events.push(event));
    clock.set(5_000);
    for (let i = 0; i < 50; i++) counter.record('/home', i * 100);
    const snapshot = counter.snapshot();
    clock.set(10_000);
    for (let i = 0; i < 50; i++) counter.record('/home', 5_000 + i * 100);
    expect(counter.query('/home', 10)).toBe(100);
    counter.restore(snapshot);
    expect(counter.query('/home', 10)).toBe(50);
    expect(counter.metrics().total_hits).toBe(50);
    expect(events).toEqual([
      { strategy: 'fixed-window', keys: 1, takenAt: 5_000 },
      { strategy: 'fixed-window', keys: 1, takenAt: 5_000 },
    ]);
  });

  it('refuses a snapshot of another strategy or of other params', () => {
    const { snapshot } = filled();
    const other = new HitCounter({ strategy: new SlidingLog({ maxWindowSeconds: 5 }) });
    expect(() => other.restore(snapshot)).toThrow(SnapshotError);
    expect(() => other.restore(snapshot)).toThrow(
      /taken with fixed-window \{ windowSeconds: 1, maxWindowSeconds: 5 \}, this counter uses sliding-log/,
    );
    refuses((bad) => {
      (bad.strategy as { params: { windowSeconds: number } }).params.windowSeconds = 2;
    }, 'strategy');
  });

  it('refuses another format or version', () => {
    refuses((bad) => {
      bad.version = 2;
    }, 'version');
    refuses((bad) => {
      bad.format = 'something-else';
    }, 'format');
    expect(() => decodeSnapshot('{"format": "hitwarden.hit-counter", "version": 0}')).toThrow(
      /version 0 is not readable/,
    );
  });

  it('refuses malformed parts and names them', () => {
    refuses((bad) => {
      bad.keys = 'nope';
    }, 'keys');
    refuses((bad) => {
      (bad.keys as { key: string }[])[1]!.key = (bad.keys as { key: string }[])[0]!.key;
    }, 'keys[1].key');
    refuses((bad) => {
      (bad.keys as { data: number[] }[])[0]!.data[1] = -1;
    }, 'keys[0].data');
    refuses((bad) => {
      (bad.keys as { data: number[] }[])[0]!.data.push(...new Array(10).fill(1));
    }, 'keys[0].data');
    refuses((bad) => {
      (bad.keys as { data: number[] }[])[0]!.data[0] = 1.5;
    }, 'keys[0].data');
    refuses((bad) => {
      (bad.keys as { lastAt: unknown }[])[0]!.lastAt = null;
    }, 'keys[0].lastAt');
    refuses((bad) => {
      bad.totalHits = -3;
    }, 'totalHits');
    expect(() => decodeSnapshot('{not json')).toThrow(/snapshot: is not JSON/);
    expect(() => decodeSnapshot('[]')).toThrow(/snapshot: must be an object/);
  });

  it('refuses a log whose timestamps are out of order', () => {
    const counter = new HitCounter({ strategy: new SlidingLog({ maxWindowSeconds: 5 }) });
    counter.record('k');
    counter.record('k');
    const snapshot = structuredClone(counter.snapshot()) as unknown as {
      keys: { data: number[] }[];
    };
    snapshot.keys[0]!.data = [2, 1];
    expect(() => counter.restore(snapshot as unknown as HitCounterSnapshot)).toThrow(
      /keys\[0\]\.data: timestamps are not in ascending order/,
    );
  });
});
