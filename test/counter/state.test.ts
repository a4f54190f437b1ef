import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CountingStrategy,
  FixedWindow,
  HitCounter,
  ManualClock,
  Morris,
  SlidingLog,
  SlidingWindowCounter,
  SnapshotError,
} from '../../src/index.js';
import type { StateImage } from '../../src/persist/state-image.js';
import { drive, ops } from './oracle.js';

const strategies: [string, () => CountingStrategy][] = [
  ['FixedWindow', () => new FixedWindow({ windowSeconds: 1, maxWindowSeconds: 5 })],
  ['SlidingLog', () => new SlidingLog({ maxWindowSeconds: 5 })],
  [
    'SlidingWindowCounter',
    () => new SlidingWindowCounter({ windowSeconds: 1, maxWindowSeconds: 5 }),
  ],
  [
    'Morris',
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

describe.each(strategies)('HitCounter exportState / loadState, %s', (_name, make) => {
  it('round trip through a structured clone of the image: same answers, metrics, future', () => {
    fc.assert(
      fc.property(ops(1_500, 5_000, 150), ops(1_500, 5_000, 30), (before, after) => {
        const original = drive(make(), before, () => {});
        const exported = original.counter.exportState();
        const image = structuredClone(exported.image);
        exported.release();
        expect(JSON.parse(JSON.stringify(image.meta))).toEqual(image.meta);
        const copy = new HitCounter({ strategy: make(), clock: original.clock.now });
        copy.loadState(image);
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
      { numRuns: 40 },
    );
  });
});

describe('HitCounter loadState refuses malformed images', () => {
  function image(): StateImage {
    const clock = new ManualClock(100_000);
    const counter = new HitCounter({ clock: clock.now });
    counter.record('a');
    return structuredClone(counter.exportState().image);
  }
  const cases: [string, (meta: Record<string, unknown>) => void, string][] = [
    [
      'wrong format',
      (meta) => {
        meta.format = 'hitwarden.ip-tracker';
      },
      'meta.format',
    ],
    [
      'wrong version',
      (meta) => {
        meta.version = 7;
      },
      'meta.version',
    ],
    [
      'no snapshot',
      (meta) => {
        delete meta.snapshot;
      },
      'meta.snapshot',
    ],
    [
      'bad key data',
      (meta) => {
        (meta.snapshot as { keys: { data: unknown }[] }).keys[0]!.data = 'x';
      },
      'meta.snapshot.keys[0].data',
    ],
  ];
  for (const [name, mutate, path] of cases) {
    it(name, () => {
      const bad = image();
      mutate(bad.meta as Record<string, unknown>);
      const counter = new HitCounter();
      counter.record('z');
      let thrown: unknown;
      try {
        counter.loadState(bad);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SnapshotError);
      expect((thrown as SnapshotError).path).toBe(path);
      expect(counter.query('z', 10)).toBe(1);
    });
  }
});
