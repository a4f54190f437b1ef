import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CountingStrategy,
  FixedWindow,
  HitCounter,
  type HitCounterSnapshot,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
  SnapshotError,
} from '../../src/index.js';
import { drive, ops } from '../counter/oracle.js';
import { thrown } from './counter-hostile.js';

/*
 * `restore` accepts what `record` can produce and nothing else: a snapshot holding negative
 * or fractional counts, hits or `lastAt` later than its `takenAt` (plus the counter's future
 * tolerance), non-finite numbers, holes, or data that does not fit the strategy is refused
 * with a SnapshotError naming the part, and the counter is left exactly as it was.
 */

type Mutable = {
  takenAt: number;
  totalHits: unknown;
  prunedEvents: unknown;
  keys: { key: unknown; lastAt: unknown; data: unknown[] }[];
};

interface Mutation {
  name: string;
  /** Changes the snapshot; returns the path the error must name, or `undefined` when the
   *  snapshot offers nothing this mutation can break. */
  apply: (snapshot: Mutable, pick: number) => RegExp | undefined;
}

const TOLERANCE_MS = 1_000;

const withKey = (
  snapshot: Mutable,
  pick: number,
  change: (entry: Mutable['keys'][number], index: number) => RegExp | undefined,
) => {
  const entries = snapshot.keys.filter((entry) => entry.data.length > 0);
  if (entries.length === 0) return undefined;
  const entry = entries[pick % entries.length]!;
  return change(entry, snapshot.keys.indexOf(entry));
};

/** What breaks any strategy's snapshot. */
const common: Mutation[] = [
  {
    name: 'negative prunedEvents',
    apply: (s, pick) => {
      s.prunedEvents = -1 - pick;
      return /^prunedEvents$/;
    },
  },
  {
    name: 'fractional totalHits',
    apply: (s) => {
      s.totalHits = 2.5;
      return /^totalHits$/;
    },
  },
  {
    name: 'NaN lastAt',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.lastAt = Number.NaN;
        return new RegExp(`^keys\\[${i}\\]\\.lastAt$`);
      }),
  },
  {
    name: 'lastAt after takenAt + tolerance',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.lastAt = s.takenAt + TOLERANCE_MS + 1 + pick;
        return new RegExp(`^keys\\[${i}\\]\\.lastAt$`);
      }),
  },
  {
    name: 'NaN in the data',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data[pick % entry.data.length] = Number.NaN;
        return new RegExp(`^keys\\[${i}\\]\\.data`);
      }),
  },
  {
    name: 'a hole in the keys',
    apply: (s) => {
      s.keys.length += 2;
      return /^keys\[\d+\]$/;
    },
  },
  {
    name: 'a duplicate key',
    apply: (s, pick) => {
      if (s.keys.length < 2) return undefined;
      const index = 1 + (pick % (s.keys.length - 1));
      s.keys[index]!.key = s.keys[0]!.key;
      return new RegExp(`^keys\\[${index}\\]\\.key$`);
    },
  },
];

/** What breaks a bucketed snapshot (data: [newest bucket, cells from the newest back]). */
const bucketed = (bucketMs: number, size: number): Mutation[] => [
  {
    name: 'a negative count',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data[1 + (pick % Math.max(1, entry.data.length - 1))] = -1;
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
  {
    name: 'a fractional count',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data[1] = 1.5;
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
  {
    name: 'a newest bucket after lastAt',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data[0] = Math.floor((entry.lastAt as number) / bucketMs) + 1 + pick;
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
  {
    name: 'more buckets than the ring',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        while (entry.data.length <= size + 1) entry.data.push(1);
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
  {
    name: 'a log’s timestamps',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data = [entry.lastAt as number, (entry.lastAt as number) + 1];
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
];

const logged: Mutation[] = [
  {
    name: 'a timestamp after lastAt',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data[entry.data.length - 1] = (entry.lastAt as number) + 1 + pick;
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
  {
    name: 'timestamps out of order',
    apply: (s, pick) =>
      withKey(s, pick, (entry, i) => {
        entry.data.unshift((entry.data[entry.data.length - 1] as number) + 1);
        return new RegExp(`^keys\\[${i}\\]\\.data$`);
      }),
  },
];

const cases: [string, () => CountingStrategy, Mutation[]][] = [
  [
    'FixedWindow',
    () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 }),
    [...common, ...bucketed(1_000, 6)],
  ],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 5 }), [...common, ...logged]],
  [
    'SlidingWindowCounter',
    () => new SlidingWindowCounter({ windowSeconds: 0.5, maxWindowSeconds: 5 }),
    [...common, ...bucketed(500, 11)],
  ],
  [
    'Morris',
    () => new Morris({ base: 2, windowSeconds: 1, maxWindowSeconds: 5, random: () => 0.4 }),
    [...common, ...bucketed(1_000, 6)],
  ],
];

function counterState(counter: HitCounter): unknown {
  return { ...counter.snapshot(), takenAt: 0, metrics: counter.metrics() };
}

describe.each(cases)(
  '%s: restore refuses what record could not have produced',
  (_n, make, mutations) => {
    it('every mutation of a real snapshot: a SnapshotError naming the part, nothing changed', () => {
      fc.assert(
        fc.property(
          ops(1_500, 5_000, 80),
          fc.constantFrom(...mutations),
          fc.nat(1_000),
          (list, mutation, pick) => {
            const source = drive(make(), list, () => {});
            const snapshot = structuredClone(source.counter.snapshot()) as unknown as Mutable;
            const path = mutation.apply(snapshot, pick);
            const target = drive(make(), list.slice(0, 20), () => {});
            const before = counterState(target.counter);
            const error = thrown(() =>
              target.counter.restore(snapshot as unknown as HitCounterSnapshot),
            );
            if (path === undefined) {
              expect(error).toBeUndefined();
              return;
            }
            expect(error, mutation.name).toBeInstanceOf(SnapshotError);
            expect((error as SnapshotError).path, mutation.name).toMatch(path);
            expect(counterState(target.counter)).toEqual(before);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('and accepts every snapshot record produced, to the same answers', () => {
      fc.assert(
        fc.property(ops(1_500, 5_000, 120), (list) => {
          const source = drive(make(), list, () => {});
          const copy = new HitCounter({ strategy: make(), clock: source.clock.now });
          copy.restore(structuredClone(source.counter.snapshot()));
          for (const key of ['a', 'b', 'c', '__proto__']) {
            for (const seconds of [0, 1, 2.5, 5]) {
              expect(copy.query(key, seconds)).toBe(source.counter.query(key, seconds));
            }
          }
        }),
        { numRuns: 100 },
      );
    });
  },
);

describe('restore, the issue’s reproductions', () => {
  function snapshotOf(strategy: CountingStrategy) {
    const clock = new ManualClock(100_000);
    const counter = new HitCounter({ strategy, clock: clock.now });
    counter.record('k');
    counter.record('k');
    return structuredClone(counter.snapshot()) as unknown as Mutable;
  }

  it('refuses a negative counter', () => {
    const snapshot = snapshotOf(new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 }));
    snapshot.prunedEvents = -10;
    const counter = new HitCounter({
      strategy: new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 }),
    });
    expect(() => counter.restore(snapshot as never)).toThrow(/prunedEvents: must be ≥ 0, got -10/);
    expect(counter.metrics().pruned_events).toBe(0);
  });

  it('refuses hits from the future of the snapshot, in the data or in lastAt', () => {
    const strategy = () => new SlidingLog({ maxWindowSeconds: 60 });
    const future = snapshotOf(strategy());
    future.keys[0]!.data = [100_000, 100_000 + 3_600_000];
    future.keys[0]!.lastAt = 100_000 + 3_600_000;
    const counter = new HitCounter({ strategy: strategy(), clock: () => 100_000 });
    expect(() => counter.restore(future as never)).toThrow(/keys\[0\]\.lastAt: .* after takenAt/);
    const inData = snapshotOf(strategy());
    inData.keys[0]!.data = [100_000, 100_500];
    expect(() => counter.restore(inData as never)).toThrow(
      /keys\[0\]\.data: timestamp 100500 is after/,
    );
    // Within the tolerance, as record would have taken it.
    const within = snapshotOf(strategy());
    within.keys[0]!.lastAt = 100_900;
    within.keys[0]!.data = [100_000, 100_900];
    counter.restore(within as never);
    expect(counter.query('k', 60)).toBe(2);
  });

  it('refuses a keys array longer than any counter holds, without walking it', () => {
    const snapshot = snapshotOf(new SlidingLog({ maxWindowSeconds: 60 }));
    snapshot.keys.length = 2 ** 32 - 1;
    const counter = new HitCounter({ strategy: new SlidingLog({ maxWindowSeconds: 60 }) });
    expect(() => counter.restore(snapshot as never)).toThrow(
      /keys: 4294967295 keys, a counter holds at most/,
    );
  });
});
