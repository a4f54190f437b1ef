import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpTracker, ManualClock, SnapshotError } from '../../src/index.js';
import type { StateImage } from '../../src/persist/state-image.js';
import { OracleTracker } from './oracle.js';

/** A request stream over a small pool so addresses repeat: IPv4, IPv6 and IPv4-mapped. */
const address = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map((i) => `10.0.${i >> 4}.${i & 15}`),
  fc.integer({ min: 0, max: 20 }).map((i) => `2001:db8::${i.toString(16)}`),
  fc.integer({ min: 0, max: 5 }).map((i) => `::ffff:10.0.0.${i}`),
);
const stream = fc.array(address, { maxLength: 300 });

function answers(tracker: IpTracker, probes: readonly string[]) {
  return {
    top: tracker.top(tracker.topN),
    size: tracker.size,
    counts: probes.map((ip) => tracker.count(ip)),
    previous: tracker.previous,
  };
}

/** Addresses 0..n-1 as IPv4 text, distinct. */
function distinct(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + from;
    return `172.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  });
}

/** A copy of an image whose arrays no longer alias the tracker's. */
function copied(image: StateImage): StateImage {
  const arrays: Record<string, Uint32Array | Uint8Array> = {};
  for (const [name, array] of Object.entries(image.arrays)) {
    arrays[name] = (array as Uint32Array).slice();
  }
  return { meta: structuredClone(image.meta), arrays: arrays as StateImage['arrays'] };
}

describe('IpTracker exportState / loadState', () => {
  it('round trip: a fresh tracker answers the same, and counts on the same', () => {
    fc.assert(
      fc.property(stream, stream, fc.integer({ min: 1, max: 8 }), (before, after, topN) => {
        const tracker = new IpTracker({ topN });
        for (const ip of before) tracker.requestHandled(ip);
        const probes = [...before, ...after, '192.0.2.1'];
        const saved = answers(tracker, probes);
        const exported = tracker.exportState();
        // Counting goes on while the tables are frozen; the image holds still.
        const frozen = copied(exported.image);
        for (const ip of after) tracker.requestHandled(ip);
        expect(exported.image.arrays).toEqual(frozen.arrays);

        const restored = new IpTracker({ topN });
        restored.loadState(exported.image);
        expect(answers(restored, probes)).toEqual(saved);
        // Byte for byte: the restored tracker exports the same tables.
        const again = restored.exportState();
        expect(again.image.arrays).toEqual(frozen.arrays);
        expect({ ...again.image.meta, takenAt: 0 }).toEqual({ ...frozen.meta, takenAt: 0 });
        again.release();

        exported.release();
        exported.release(); // idempotent
        for (const ip of after) restored.requestHandled(ip);
        const oracle = new OracleTracker(topN);
        for (const ip of [...before, ...after]) oracle.requestHandled(ip);
        expect(answers(tracker, probes)).toEqual(answers(restored, probes));
        expect(tracker.top(topN)).toEqual(oracle.top(topN));
        expect(tracker.size).toBe(oracle.counts.size);
        for (const ip of probes) expect(tracker.count(ip)).toBe(oracle.count(ip));
      }),
      { numRuns: 150 },
    );
  });

  it('answers from the frozen tables and the overlay while an export is open', () => {
    fc.assert(
      fc.property(stream, stream, (before, during) => {
        const tracker = new IpTracker({ topN: 5 });
        const oracle = new OracleTracker(5);
        for (const ip of before) {
          tracker.requestHandled(ip);
          oracle.requestHandled(ip);
        }
        const exported = tracker.exportState();
        for (const ip of during) {
          tracker.requestHandled(ip);
          oracle.requestHandled(ip);
          expect(tracker.count(ip)).toBe(oracle.count(ip));
        }
        expect(tracker.top(5)).toEqual(oracle.top(5));
        expect(tracker.size).toBe(oracle.counts.size);
        exported.release();
        expect(tracker.top(5)).toEqual(oracle.top(5));
        expect(tracker.size).toBe(oracle.counts.size);
        for (const ip of [...before, ...during]) expect(tracker.count(ip)).toBe(oracle.count(ip));
      }),
      { numRuns: 150 },
    );
  });

  it('a table mid-doubling round-trips, and the restored one finishes the migration', () => {
    for (const extra of [1, 5, 20]) {
      const tracker = new IpTracker({ topN: 10 });
      // 769 distinct addresses pass the 75% load of the first 1024-slot table.
      const first = distinct(769 + extra);
      for (const ip of first) tracker.requestHandled(ip);
      tracker.requestHandled('172.0.0.7');
      const exported = tracker.exportState();
      expect(exported.image.arrays.v4Old).toBeInstanceOf(Uint32Array);
      expect(exported.image.meta.v4Cursor).toBeGreaterThan(0);
      const restored = new IpTracker({ topN: 10 });
      restored.loadState(exported.image);
      exported.release();
      const more = distinct(2000, 5000);
      for (const ip of more) {
        tracker.requestHandled(ip);
        restored.requestHandled(ip);
      }
      const probes = [...first, ...more];
      expect(answers(restored, probes)).toEqual(answers(tracker, probes));
      expect(restored.size).toBe(first.length + more.length);
    }
  });

  it('adopts the tables of an image on SharedArrayBuffers when asked, and copies any other', () => {
    const onShared = (image: StateImage): StateImage => {
      const arrays: Record<string, Uint32Array | Uint8Array> = {};
      for (const [name, array] of Object.entries(image.arrays)) {
        const Type = array.constructor as Uint32ArrayConstructor;
        const copy = new Type(new SharedArrayBuffer(array.byteLength));
        copy.set(array as Uint32Array);
        arrays[name] = copy;
      }
      return { meta: structuredClone(image.meta), arrays: arrays as StateImage['arrays'] };
    };
    const tracker = new IpTracker({ topN: 4 });
    // Mid-doubling, so both generations are adopted.
    const ips = [...distinct(775), '2001:db8::1', '2001:db8::1'];
    for (const ip of ips) tracker.requestHandled(ip);
    const exported = tracker.exportState();
    const shared = onShared(exported.image);
    const plain = copied(exported.image);
    exported.release();
    expect(shared.arrays.v4Old).toBeDefined();

    const adopting = new IpTracker({ topN: 4 });
    adopting.loadState(shared, { adopt: true });
    const copying = new IpTracker({ topN: 4 });
    copying.loadState(plain, { adopt: true });
    const byDefault = new IpTracker({ topN: 4 });
    const kept = onShared(plain);
    byDefault.loadState(kept);
    for (const restored of [adopting, copying, byDefault]) {
      expect(answers(restored, ips)).toEqual(answers(tracker, ips));
    }
    const tables = (t: IpTracker) => {
      const open = t.exportState();
      open.release();
      return open.image.arrays;
    };
    expect(tables(adopting).v4Slots).toBe(shared.arrays.v4Slots);
    expect(tables(adopting).v4Old).toBe(shared.arrays.v4Old);
    expect(tables(adopting).v6Slots).toBe(shared.arrays.v6Slots);
    expect(tables(copying).v4Slots).not.toBe(plain.arrays.v4Slots);
    expect(tables(byDefault).v4Slots).not.toBe(kept.arrays.v4Slots);
    // What was copied is the caller's still: counting never writes into it.
    const before = copied(plain);
    for (const ip of ips) copying.requestHandled(ip);
    expect(plain.arrays).toEqual(before.arrays);
  });

  it('an IPv6 table mid-doubling round-trips', () => {
    const tracker = new IpTracker({ topN: 3 });
    const ips = Array.from(
      { length: 780 },
      (_, i) => `2001:db8:${(i >> 8).toString(16)}::${i.toString(16)}`,
    );
    for (const ip of ips) tracker.requestHandled(ip);
    const exported = tracker.exportState();
    expect(exported.image.arrays.v6Old).toBeInstanceOf(Uint32Array);
    const restored = new IpTracker({ topN: 3 });
    restored.loadState(exported.image);
    exported.release();
    expect(answers(restored, ips)).toEqual(answers(tracker, ips));
  });

  it('a large overlay drains over several macrotasks, every answer exact meanwhile', async () => {
    const oracle = new OracleTracker(10);
    const tracker = new IpTracker({ topN: 10 });
    const feed = (ips: string[]) => {
      for (const ip of ips) {
        tracker.requestHandled(ip);
        oracle.requestHandled(ip);
      }
    };
    const check = (probes: string[]) => {
      expect(tracker.top(10)).toEqual(oracle.top(10));
      expect(tracker.size).toBe(oracle.counts.size);
      for (const ip of probes) expect(tracker.count(ip)).toBe(oracle.count(ip));
    };
    const base = distinct(3000);
    feed(base);
    feed(base.slice(0, 100));
    const exported = tracker.exportState();
    // 20,000 addresses during the freeze, half of them already counted: the overlay grows to
    // 32,768 positions and doubles (a migration that release() must finish first).
    const during = [
      ...distinct(10_000, 1000),
      ...distinct(10_000, 1000),
      ...distinct(10_000, 50_000),
    ];
    feed(during);
    check([...base.slice(0, 50), ...during.slice(0, 50)]);
    exported.release();
    let slices = 0;
    while (tracker.merging) {
      expect(slices).toBeLessThan(100);
      // Requests between slices: some on addresses not merged yet, some new.
      feed([...distinct(50, 1000 + slices * 97), ...distinct(20, 100_000 + slices * 20)]);
      check([...distinct(30, 1000 + slices * 97), ...distinct(10, 50_000 + slices * 300)]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      slices++;
    }
    expect(slices).toBeGreaterThan(3);
    check([...base, ...during]);
  });

  it('an export while the last one drains finishes the merge; a load replaces it', () => {
    const tracker = new IpTracker({ topN: 4 });
    const oracle = new OracleTracker(4);
    const first = tracker.exportState();
    for (const ip of distinct(20_000)) {
      tracker.requestHandled(ip);
      oracle.requestHandled(ip);
    }
    first.release();
    expect(tracker.merging).toBe(true);
    const second = tracker.exportState();
    expect(tracker.merging).toBe(false);
    expect(second.image.meta.v4Size).toBe(20_000);
    const restored = new IpTracker({ topN: 4 });
    restored.loadState(second.image);
    // The image is valid until release(): a copy outlives it.
    const saved = copied(second.image);
    second.release();
    expect(restored.top(4)).toEqual(oracle.top(4));
    const third = tracker.exportState();
    tracker.requestHandled('9.9.9.9');
    third.release();
    tracker.loadState(saved);
    expect(tracker.merging).toBe(false);
    expect(tracker.count('9.9.9.9')).toBe(0);
    expect(tracker.size).toBe(20_000);
  });

  it('a clear() during an export leaves the image intact and release() merges nothing', () => {
    const tracker = new IpTracker({ topN: 3 });
    for (const ip of ['1.1.1.1', '1.1.1.1', '2.2.2.2']) tracker.requestHandled(ip);
    const exported = tracker.exportState();
    const frozen = copied(exported.image);
    tracker.requestHandled('3.3.3.3');
    tracker.clear();
    tracker.requestHandled('4.4.4.4');
    exported.release();
    expect(exported.image.arrays).toEqual(frozen.arrays);
    expect(tracker.top(3)).toEqual([{ ip: '4.4.4.4', count: 1 }]);
    expect(tracker.size).toBe(1);
    const restored = new IpTracker({ topN: 3 });
    restored.loadState(frozen);
    expect(restored.top(3)).toEqual([
      { ip: '1.1.1.1', count: 2 },
      { ip: '2.2.2.2', count: 1 },
    ]);
  });

  it('refuses a second export while one is open, and a load while one is open', () => {
    const tracker = new IpTracker();
    const exported = tracker.exportState();
    expect(() => tracker.exportState()).toThrow(SnapshotError);
    expect(() => tracker.loadState(exported.image)).toThrow(SnapshotError);
    exported.release();
    expect(() => tracker.exportState().release()).not.toThrow();
  });

  it('another topN rebuilds the top list from the tables', () => {
    fc.assert(
      fc.property(
        stream,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        (ips, a, b) => {
          const tracker = new IpTracker({ topN: a });
          for (const ip of ips) tracker.requestHandled(ip);
          const exported = tracker.exportState();
          const restored = new IpTracker({ topN: b });
          restored.loadState(exported.image);
          exported.release();
          const oracle = new OracleTracker(b);
          for (const ip of ips) oracle.requestHandled(ip);
          expect(restored.top(b)).toEqual(oracle.top(b));
          expect(restored.size).toBe(oracle.counts.size);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rollover: the period and previous survive; a day that ended while down rolls over', () => {
    const day = Date.parse('2026-12-02T00:00:00Z');
    const clock = new ManualClock(day + 3_600_000);
    const tracker = new IpTracker({ topN: 3, clock: clock.now, rollover: true });
    tracker.requestHandled('9.9.9.9');
    clock.advance(86_400); // the next day: the first is `previous`
    for (const ip of ['1.1.1.1', '1.1.1.1', '2.2.2.2']) tracker.requestHandled(ip);
    const exported = tracker.exportState();
    const saved = answers(tracker, ['1.1.1.1', '9.9.9.9']);
    expect(saved.previous?.top).toEqual([{ ip: '9.9.9.9', count: 1 }]);

    const sameDay = new IpTracker({ topN: 3, clock: clock.now, rollover: true });
    sameDay.loadState(exported.image);
    expect(answers(sameDay, ['1.1.1.1', '9.9.9.9'])).toEqual(saved);

    const later = new ManualClock(clock.now() + 86_400_000);
    const nextDay = new IpTracker({ topN: 3, clock: later.now, rollover: true });
    nextDay.loadState(exported.image);
    exported.release();
    expect(nextDay.size).toBe(0);
    expect(nextDay.previous).toEqual({
      start: day + 86_400_000,
      end: day + 2 * 86_400_000,
      size: 2,
      top: [
        { ip: '1.1.1.1', count: 2 },
        { ip: '2.2.2.2', count: 1 },
      ],
    });
  });

  describe('malformed images are refused, naming the part, and change nothing', () => {
    function image(): StateImage {
      const tracker = new IpTracker({ topN: 4 });
      for (const ip of ['1.1.1.1', '1.1.1.1', '2.2.2.2', '2001:db8::1']) tracker.requestHandled(ip);
      const exported = tracker.exportState();
      const copy = copied(exported.image);
      exported.release();
      return copy;
    }
    const withMeta = (key: string, value: unknown): StateImage => {
      const base = image();
      return { ...base, meta: { ...base.meta, [key]: value as never } };
    };
    const withArray = (name: string, value: unknown): StateImage => {
      const base = image();
      return { ...base, arrays: { ...base.arrays, [name]: value as never } };
    };
    const v4Slots = () => image().arrays.v4Slots as Uint32Array;
    /** The v4 table with its one key moved a position past where probing stops. */
    const unreachable = () => {
      const slots = v4Slots();
      const base = slots.findIndex((word, i) => i % 2 === 1 && word === 2) - 1;
      const moved = slots.slice();
      const to = (base + 6) % slots.length;
      moved[to] = moved[base]!;
      moved[to + 1] = moved[base + 1]!;
      moved[base] = 0;
      moved[base + 1] = 0;
      return moved;
    };
    const cases: [string, () => unknown, string][] = [
      ['not an object', () => 42, 'image'],
      ['no meta', () => ({ arrays: {} }), 'meta'],
      ['wrong format', () => withMeta('format', 'hitwarden.hit-counter'), 'meta.format'],
      ['wrong version', () => withMeta('version', 2), 'meta.version'],
      ['topN a string', () => withMeta('topN', '4'), 'meta.topN'],
      ['seed not an integer', () => withMeta('v4Seed', 0.5), 'meta.v4Seed'],
      ['size wrong', () => withMeta('v4Size', 3), 'meta.v4Size'],
      ['cursor without an old table', () => withMeta('v4Cursor', 3), 'arrays.v4Old'],
      ['period garbage', () => withMeta('period', { start: 'x' }), 'meta.period.periodMs'],
      [
        'previous garbage',
        () => withMeta('previous', { start: 0, end: 1, size: 0, top: [{}] }),
        'meta.previous.top[0].ip',
      ],
      [
        'slots of the wrong type',
        () => withArray('v4Slots', new Int32Array(2048)),
        'arrays.v4Slots',
      ],
      ['slots missing', () => withArray('v6Slots', undefined), 'arrays.v6Slots'],
      [
        'slots of a wrong length',
        () => withArray('v4Slots', v4Slots().slice(0, 2046)),
        'arrays.v4Slots',
      ],
      ['an unreachable key', () => withArray('v4Slots', unreachable()), 'arrays.v4Slots'],
      [
        'a top count that disagrees',
        () => withArray('topCounts', new Uint32Array([9, 1, 1])),
        'arrays.topCounts',
      ],
      [
        'a short top list',
        () => withArray('topCounts', new Uint32Array([2, 1])),
        'arrays.topFamilies',
      ],
      [
        'a bad family',
        () => withArray('topFamilies', new Uint8Array([4, 5, 6])),
        'arrays.topFamilies',
      ],
    ];
    for (const [name, make, path] of cases) {
      it(name, () => {
        const tracker = new IpTracker({ topN: 4 });
        tracker.requestHandled('8.8.8.8');
        let thrown: unknown;
        try {
          tracker.loadState(make() as StateImage);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(SnapshotError);
        expect((thrown as SnapshotError).path).toBe(path);
        expect(tracker.top(4)).toEqual([{ ip: '8.8.8.8', count: 1 }]);
        expect(tracker.size).toBe(1);
      });
    }

    it('a duplicated key is refused', () => {
      const slots = v4Slots();
      const base = slots.findIndex((word, i) => i % 2 === 1 && word === 1) - 1;
      const dup = slots.slice();
      const to = (base + 2) % slots.length;
      dup[to] = dup[base]!;
      dup[to + 1] = 1;
      const base2 = image();
      const bad = {
        ...base2,
        meta: { ...base2.meta, v4Size: 3 },
        arrays: { ...base2.arrays, v4Slots: dup },
      };
      expect(() => new IpTracker({ topN: 4 }).loadState(bad)).toThrow(SnapshotError);
    });
  });
});
