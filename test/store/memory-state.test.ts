import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import type { BansConfig } from '../../src/banhammer/config.js';
import { SnapshotError, StoreError } from '../../src/errors.js';
import type { StateImage } from '../../src/persist/state-image.js';
import { decodeTokens, encodeTokens } from '../../src/store/memory/memory-image.js';
import { MemoryStore, type MemoryStoreOptions } from '../../src/store/memory/memory-store.js';
import type { StatusEntry } from '../../src/store/stats.js';
import { ManualClock } from '../../src/time/manual-clock.js';

/*
 * Round trips of the memory store's image: a BanHammer on a MemoryStore is driven by a random
 * stream, its store (and deny cache) exported, loaded into a fresh store opened by a fresh
 * BanHammer on the same clock, and every query must answer the same — now, and after the
 * same further stream drives both.
 */

const bans: BansConfig = {
  login: {
    thresholds: [
      { limit: 2, window: 60, action: [], action_duration: 120 },
      { limit: 5, window: 600, action: [], action_duration: 3600 },
      { limit: 1, window: 10, action: [], action_duration: 30, mode: 'shadow' },
    ],
  },
  hits: { thresholds: [{ limit: 40, window: 3600, action: [], action_duration: 7200 }] },
};
/** The same metrics in the other order. */
const reordered: BansConfig = { hits: bans.hits!, login: bans.login! };
const tokens = ['a', 'b', 'c', '__proto__', '💥', '\ud800', ''];
const metrics = ['login', 'hits'] as const;

type Op =
  | { op: 'incr'; token: string; metric: string; count: number }
  | { op: 'wait'; seconds: number }
  | { op: 'back'; seconds: number }
  | { op: 'ban'; token: string; metric: string; threshold: number }
  | { op: 'reset'; token: string; metric: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('incr' as const),
      token: fc.constantFrom(...tokens),
      metric: fc.constantFrom(...metrics),
      count: fc.integer({ min: 1, max: 50 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('wait' as const),
      seconds: fc.integer({ min: 1, max: 2000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('ban' as const),
      token: fc.constantFrom(...tokens),
      metric: fc.constant('login'),
      threshold: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('back' as const),
      seconds: fc.integer({ min: 1, max: 900 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('reset' as const),
      token: fc.constantFrom(...tokens),
      metric: fc.constantFrom(...metrics),
    }),
  },
);

function make(clock: ManualClock, config: BansConfig = bans, options?: MemoryStoreOptions) {
  const store = new MemoryStore(options);
  return { store, hammer: new BanHammer(config, { store, clock: clock.now, quota: true }) };
}

/** Plays `ops`, returning every verdict (so a continuation can be compared). */
async function play(hammer: BanHammer, clock: ManualClock, ops: readonly Op[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const step of ops) {
    if (step.op === 'wait') clock.advance(step.seconds);
    // A clock stepped back (a correction, docs/time.md).
    else if (step.op === 'back') clock.set(clock.now() - step.seconds * 1000);
    else if (step.op === 'incr') {
      for (let i = 0; i < step.count; i++) out.push(await hammer.decide(step.token, step.metric));
    } else if (step.op === 'ban')
      out.push(await hammer.now(step.token, step.metric, step.threshold));
    else await hammer.reset(step.token, step.metric);
  }
  return out;
}

async function answers(hammer: BanHammer, store: MemoryStore) {
  // Dead pairs are not exported: free them here too, so `size` counts the same pairs.
  store.sweep(10_000);
  const status: unknown[] = [];
  for (const token of tokens) {
    status.push(await store.banMs(token));
    for (const metric of metrics) status.push(await hammer.status(token, metric));
  }
  const scanned: StatusEntry[] = [];
  for await (const entry of store.scan()) scanned.push(entry);
  scanned.sort((x, y) => (x.token + x.metric < y.token + y.metric ? -1 : 1));
  return { status, scanned, size: store.size };
}

function exported(store: MemoryStore): StateImage {
  const ex = store.exportState();
  ex.release();
  return structuredClone(ex.image);
}

describe('MemoryStore exportState / loadState', () => {
  it('round trip: same answers, same decisions after (reordered metrics too)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.array(op, { maxLength: 20 }),
        fc.boolean(),
        async (before, after, reorder) => {
          const clock = new ManualClock(Date.parse('2026-12-02T12:00:00Z'));
          const first = make(clock);
          await play(first.hammer, clock, before);
          const image = exported(first.store);
          const cache = structuredClone(first.hammer.denyCache.exportState().image);
          // The restored store runs on a clock of its own, from the same time.
          const clock2 = new ManualClock(clock.now());
          // The store is loaded before its BanHammer opens it.
          const store = new MemoryStore();
          store.loadState(image);
          const hammer = new BanHammer(reorder ? reordered : bans, {
            store,
            clock: clock2.now,
            quota: true,
          });
          hammer.denyCache.loadState(cache);
          const report = store.restoreReport!;
          expect(report).toMatchObject({ droppedMetrics: [], changedMetrics: [], overCap: 0 });
          expect(report.pairs + report.expired).toBe(first.store.size);
          if (report.expired === 0) {
            // Byte for byte, read before anything touches the store (a pair that was dead
            // when saved is dropped on load, so then the free list differs); with reordered
            // metrics only the metric numbers and the order of meta.metrics differ.
            const again = exported(store);
            const { pairMetric, ...rest } = again.arrays;
            const { pairMetric: savedMetric, ...savedRest } = image.arrays;
            expect(rest).toEqual(savedRest);
            if (reorder)
              expect(Array.from(pairMetric!, (m) => 1 - m)).toEqual(Array.from(savedMetric!));
            else expect(again).toEqual(image);
          }
          expect(await answers(hammer, store)).toEqual(await answers(first.hammer, first.store));
          // A pair dropped on load as dead would have come back to life, in the saved store,
          // if the clock were then corrected back before its expiry: the one difference.
          if (report.expired > 0 && after.some((step) => step.op === 'back')) return;
          const one = await play(first.hammer, clock, after);
          const two = await play(hammer, clock2, after);
          expect(two).toEqual(one);
          expect(await answers(hammer, store)).toEqual(await answers(first.hammer, first.store));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a store at its maxTokens cap round-trips, evictions and all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 10, maxLength: 200 }),
        async (ids) => {
          const clock = new ManualClock(1_000_000_000);
          const first = make(clock, bans, { maxTokens: 8 });
          for (const id of ids) {
            await first.hammer.decide(`t${id}`, 'login');
            clock.advance(1);
          }
          const store = new MemoryStore({ maxTokens: 8 });
          store.loadState(exported(first.store));
          const clock2 = new ManualClock(clock.now());
          const hammer = new BanHammer(bans, { store, clock: clock2.now, quota: true });
          hammer.denyCache.loadState(first.hammer.denyCache.exportState().image);
          expect(store.size).toBe(first.store.size);
          expect(store.evictions).toBe(first.store.evictions);
          const all = [...new Set(ids)].map((id) => `t${id}`);
          for (const token of all)
            expect(await hammer.status(token, 'login')).toEqual(
              await first.hammer.status(token, 'login'),
            );
          // At the cap the same pairs are evicted next: the slots, hands and CLOCK bits are back.
          for (const id of [...ids].reverse()) {
            expect(await hammer.decide(`t${id}`, 'login')).toEqual(
              await first.hammer.decide(`t${id}`, 'login'),
            );
            clock.advance(1);
            clock2.advance(1);
          }
          expect(store.evictions).toBe(first.store.evictions);
          for (const token of all) {
            expect(await hammer.status(token, 'login')).toEqual(
              await first.hammer.status(token, 'login'),
            );
          }
          // A smaller cap keeps the first pairs and says how many it left out.
          const small = new MemoryStore({ maxTokens: 3 });
          small.loadState(exported(first.store));
          new BanHammer(bans, { store: small, clock: clock.now });
          expect(small.size).toBe(Math.min(3, first.store.size));
          expect(small.restoreReport?.overCap).toBe(first.store.size - small.size);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('exportStateInSlices: alone, the same image as exportState', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (before, slice) => {
          const clock = new ManualClock(Date.parse('2026-12-02T12:00:00Z'));
          const first = make(clock);
          await play(first.hammer, clock, before);
          const sliced = await first.store.exportStateInSlices(slice);
          expect(sliced.image).toEqual(first.store.exportState().image);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('exportStateInSlices under traffic: a valid image; pairs untouched meanwhile come back as they are', async () => {
    const during = fc.array(
      fc.oneof(
        fc.record({
          op: fc.constant('incr' as const),
          token: fc.constantFrom('x', 'y', 'z', 'w'),
          metric: fc.constantFrom(...metrics),
          count: fc.integer({ min: 1, max: 8 }),
        }),
        fc.record({
          op: fc.constant('reset' as const),
          token: fc.constantFrom('x', 'y', 'z', 'w'),
          metric: fc.constantFrom(...metrics),
        }),
        fc.record({ op: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 900 }) }),
      ),
      { maxLength: 20 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.constantFrom('x', 'y', 'z', 'w'), { maxLength: 6 }),
        during,
        fc.integer({ min: 1, max: 4 }),
        // At least 8: the 7 tokens banned on login never fill the table (a ban would throw).
        fc.integer({ min: 8, max: 16 }),
        async (before, early, meanwhile, slice, maxTokens) => {
          const clock = new ManualClock(Date.parse('2026-12-02T12:00:00Z'));
          const first = make(clock, bans, { maxTokens });
          await play(first.hammer, clock, before);
          for (const token of early) await first.hammer.decide(token, 'login');
          const pending = first.store.exportStateInSlices(slice);
          let done = false;
          void pending.then(() => {
            done = true;
          });
          const touched = new Set<string>();
          // Traffic between the slices, until the export is over (the image is compared with
          // the store as it is then).
          for (const step of meanwhile) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (done) break;
            if (step.op !== 'wait') touched.add(step.token);
            await play(first.hammer, clock, [step]);
          }
          const { image } = await pending;
          const store = new MemoryStore({ maxTokens });
          store.loadState(structuredClone(image));
          const hammer = new BanHammer(bans, {
            store,
            clock: new ManualClock(clock.now()).now,
            quota: true,
          });
          // New pairs made meanwhile may have evicted untouched ones: only those still held.
          for (const token of tokens) {
            if (touched.has(token)) continue;
            for (const metric of metrics) {
              const live = await first.hammer.status(token, metric);
              expect(await hammer.status(token, metric)).toEqual(live);
            }
          }
          expect(store.size).toBeLessThanOrEqual(first.store.size + touched.size * 2);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('busy tokens (bucketed rates) round-trip', async () => {
    const clock = new ManualClock(1_000_000_000);
    const first = make(clock);
    for (let i = 0; i < 3000; i++) {
      await first.hammer.incr('busy', 'hits');
      await first.hammer.incr('busy', 'login');
      clock.advance(0.9);
    }
    const image = exported(first.store);
    expect((image.arrays.bucketPairs as Uint32Array).length).toBeGreaterThan(0);
    const store = new MemoryStore();
    store.loadState(image);
    const hammer = new BanHammer(bans, { store, clock: clock.now, quota: true });
    expect(await answers(hammer, store)).toEqual(await answers(first.hammer, first.store));
    for (let i = 0; i < 500; i++) {
      clock.advance(1.7);
      expect(await hammer.decide('busy', 'hits')).toEqual(
        await first.hammer.decide('busy', 'hits'),
      );
    }
  });

  it('bans that end while saved are gone on load, live ones kept; expired pairs dropped', async () => {
    const clock = new ManualClock(1_000_000_000);
    const first = make(clock);
    await first.hammer.now('short', 'login', 0); // 120 s
    await first.hammer.now('long', 'login', 1); // 3600 s
    await first.hammer.incr('seen', 'hits');
    const image = exported(first.store);
    const cache = first.hammer.denyCache.exportState().image;

    const later = new ManualClock(clock.now() + 600_000); // ten minutes later
    const store = new MemoryStore();
    store.loadState(image);
    const hammer = new BanHammer(bans, { store, clock: later.now });
    hammer.denyCache.loadState(cache);
    expect((await hammer.status('short', 'login')).bans).toEqual([]);
    expect((await hammer.status('long', 'login')).bans).toEqual([
      { threshold: 1, until: 1_000_000_000 + 3_600_000 },
    ]);
    expect(await store.banMs('long')).toBe(3_000_000);
    expect(await store.banMs('short')).toBe(0);

    // Three hours on, the hourly rate of `seen` can no longer matter: dropped.
    const much = new ManualClock(clock.now() + 3 * 3_600_000);
    const late = new MemoryStore();
    late.loadState(image);
    new BanHammer(bans, { store: late, clock: much.now });
    expect(late.size).toBe(0);
    expect(late.restoreReport).toMatchObject({ pairs: 0, expired: 3 });
  });

  it('a dropped metric is reported and its pairs left out; a changed one is reported', async () => {
    const clock = new ManualClock(1_000_000_000);
    const first = make(clock);
    for (let i = 0; i < 4; i++) await first.hammer.incr('x', 'login');
    await first.hammer.incr('x', 'hits');
    const image = exported(first.store);
    const store = new MemoryStore();
    store.loadState(image);
    const changed: BansConfig = {
      login: { thresholds: [{ limit: 2, window: 60, action: [], action_duration: 300 }] },
    };
    const hammer = new BanHammer(changed, { store, clock: clock.now });
    expect(store.restoreReport).toEqual({
      takenAt: 1_000_000_000,
      pairs: 1,
      expired: 0,
      overCap: 0,
      droppedMetrics: ['hits'],
      droppedPairs: 1,
      changedMetrics: ['login'],
    });
    const status = await hammer.status('x', 'login');
    expect(status.token_rate_1m).toBe(4);
    // The ban at threshold 0 is kept, as it was saved (120 s from the trip).
    expect(status.bans).toEqual([{ threshold: 0, until: 1_000_000_000 + 120_000 }]);
  });

  it('is loaded before the BanHammer opens the store, never after; export needs it open', () => {
    const clock = new ManualClock(0);
    const { store, hammer } = make(clock);
    const image = exported(store);
    expect(() => store.loadState(image)).toThrow(StoreError);
    expect(() => new MemoryStore().exportState()).toThrow(StoreError);
    void hammer;
  });

  it('a pair repeated anywhere among thousands is refused; the same image without it loads', async () => {
    const clock = new ManualClock(1_000_000_000);
    const first = make(clock, bans, { maxTokens: 5000 });
    // Tokens of one length, so that overwriting one token's code units with another's
    // repeats a pair without moving any other.
    const name = (i: number) => `t${String(i).padStart(5, '0')}`;
    for (let i = 0; i < 5000; i++) await first.hammer.incr(name(i), 'login');
    const image = exported(first.store);
    const chars = image.arrays.tokenChars as Uint16Array;
    expect(() => new MemoryStore().loadState(structuredClone(image))).not.toThrow();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4999 }), fc.integer({ min: 0, max: 4999 }), (a, b) => {
        fc.pre(a !== b);
        const bad = structuredClone(image);
        (bad.arrays.tokenChars as Uint16Array).set(chars.subarray(a * 6, a * 6 + 6), b * 6);
        expect(() => new MemoryStore().loadState(bad)).toThrow(/repeats pair/);
      }),
      { numRuns: 20 },
    );
  });

  describe('malformed images are refused, naming the part, and the store stays empty', () => {
    async function image(): Promise<StateImage> {
      const clock = new ManualClock(1_000_000_000);
      const first = make(clock);
      for (let i = 0; i < 4; i++) await first.hammer.incr('x', 'login');
      await first.hammer.incr('y', 'hits');
      return exported(first.store);
    }
    const meta = (key: string, value: unknown) => (i: StateImage) => ({
      ...i,
      meta: { ...i.meta, [key]: value as never },
    });
    const array = (name: string, value: (old: Float64Array) => unknown) => (i: StateImage) => ({
      ...i,
      arrays: { ...i.arrays, [name]: value(i.arrays[name] as never) as never },
    });
    const cases: [string, (i: StateImage) => unknown, string][] = [
      ['not an image', () => 'x', 'image'],
      ['wrong format', meta('format', 'hitwarden.ip-tracker'), 'meta.format'],
      ['wrong version', meta('version', 0), 'meta.version'],
      ['takenAt a string', meta('takenAt', 'now'), 'meta.takenAt'],
      ['metrics not an array', meta('metrics', {}), 'meta.metrics'],
      ['a metric without a name', meta('metrics', [{ thresholds: [] }]), 'meta.metrics[0].name'],
      [
        'a bad threshold',
        (i) =>
          meta('metrics', [
            {
              name: 'login',
              thresholds: [{ limit: -1, windowSeconds: 1, durationSeconds: 1, shadow: false }],
            },
            (i.meta.metrics as never[])[1],
          ])(i),
        'meta.metrics[0].thresholds[0].limit',
      ],
      ['evictions negative', meta('evictions', -1), 'meta.evictions'],
      ['pairMetric short', array('pairMetric', (a) => a.slice(1)), 'arrays.pairMetric'],
      ['pairMetric out of range', array('pairMetric', (a) => a.map(() => 9)), 'arrays.pairMetric'],
      [
        'ringTimes of the wrong type',
        array('ringTimes', (a) => Uint32Array.from(a)),
        'arrays.ringTimes',
      ],
      [
        'ringTimes out of order',
        array('ringTimes', (a) =>
          a
            .slice()
            .reverse()
            .map((t, k) => t - k),
        ),
        'arrays.ringTimes',
      ],
      ['ringTimes NaN', array('ringTimes', (a) => a.map(() => Number.NaN)), 'arrays.ringTimes'],
      ['ringCounts too many', array('ringCounts', (a) => a.map((c) => c + 1)), 'arrays.ringTimes'],
      [
        'tokenEnds past the chars',
        array('tokenEnds', (a) => a.map((e) => e + 5)),
        'arrays.tokenEnds',
      ],
      [
        'tokenChars left over',
        array('tokenChars', (a) => Uint16Array.from([...a, 65])),
        'arrays.tokenChars',
      ],
      [
        'a pair twice',
        (i) =>
          array('tokenChars', () => Uint16Array.from([120, 120]))(
            array('pairMetric', (a) => a.map(() => 0))(i),
          ),
        'arrays.tokenChars',
      ],
      [
        'pairSlot past the high water',
        array('pairSlot', (a) => a.map(() => 99)),
        'arrays.pairSlot',
      ],
      [
        'a free slot that holds a pair',
        array('freeSlots', () => Uint32Array.from([0])),
        'arrays.freeSlots',
      ],
      ['a free slot missing', meta('highWater', 3), 'arrays.freeSlots'],
      ['a hand past the slots', meta('evictionHand', 50), 'meta.evictionHand'],
      ['clockLatest a string', meta('clockLatest', 'x'), 'meta.clockLatest'],
      [
        'banPairs not ascending',
        array('banPairs', () => Uint32Array.from([1, 0])),
        'arrays.banPairs',
      ],
      ['banEnds missing', array('banEnds', () => undefined), 'arrays.banEnds'],
      [
        'bucketCounts for a bucket not listed',
        array('bucketCounts', () => new Uint32Array(180)),
        'arrays.bucketCounts',
      ],
    ];
    for (const [name, mutate, path] of cases) {
      it(name, async () => {
        const bad = mutate(await image());
        const store = new MemoryStore();
        let thrown: unknown;
        try {
          store.loadState(bad as StateImage);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(SnapshotError);
        expect((thrown as SnapshotError).path).toBe(path);
        new BanHammer(bans, { store, clock: () => 1_000_000_000 });
        expect(store.size).toBe(0);
        expect(store.restoreReport).toBeUndefined();
      });
    }
  });
});

describe('the deny cache (LocalBlockCache) exportState / loadState', () => {
  it('keeps the blocks in force with their ends; drops ended ones', () => {
    const clock = new ManualClock(1_000_000);
    const { hammer } = make(clock);
    hammer.denyCache.block('a', 10);
    hammer.denyCache.block('💥', 100);
    const image = structuredClone(hammer.denyCache.exportState().image);
    clock.advance(50);
    const other = make(clock).hammer;
    other.denyCache.loadState(image);
    expect(other.denyCache.remainingMs('a')).toBe(0);
    expect(other.denyCache.remainingMs('💥')).toBe(50_000);
    expect(() =>
      other.denyCache.loadState({
        meta: image.meta,
        arrays: { ...image.arrays, starts: new Float64Array(0) },
      }),
    ).toThrow(SnapshotError);
  });
});

describe('the token columns (encodeTokens / decodeTokens)', () => {
  // One code unit from each width the decoder tells apart: one-byte, two-byte, surrogates
  // (lone ones included, which a UTF-16 decoder would turn into U+FFFD).
  const unit = (widths: readonly ('latin1' | 'wide' | 'surrogate')[]) =>
    fc
      .constantFrom(...widths)
      .chain((width) =>
        width === 'latin1'
          ? fc.integer({ min: 0, max: 0xff })
          : width === 'wide'
            ? fc.oneof(
                fc.integer({ min: 0x100, max: 0xd7ff }),
                fc.integer({ min: 0xe000, max: 0xffff }),
              )
            : fc.integer({ min: 0xd800, max: 0xdfff }),
      );
  const columnOf = (widths: readonly ('latin1' | 'wide' | 'surrogate')[]) =>
    fc.array(
      fc.array(unit(widths), { maxLength: 12 }).map((units) => String.fromCharCode(...units)),
      { maxLength: 40 },
    );

  for (const widths of [['latin1'], ['latin1', 'wide'], ['latin1', 'wide', 'surrogate']] as const) {
    it(`give back every token exactly (${widths.join(' + ')})`, () => {
      fc.assert(
        fc.property(columnOf(widths), (given) => {
          const { tokenChars, tokenEnds } = encodeTokens(given);
          expect(tokenEnds.length).toBe(given.length);
          expect(decodeTokens(tokenChars, tokenEnds)).toEqual(given);
        }),
      );
    });
  }
});
