import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidTimeError } from '../../src/errors.js';
import { formatAddress } from '../../src/ip/format.js';
import type { FleetBatch, FleetTopStore } from '../../src/tracker/fleet-sync.js';
import { FleetSync } from '../../src/tracker/fleet-sync.js';
import { IpTracker } from '../../src/tracker/ip-tracker.js';

/*
 * Issue 13, item 2 (the clock part): FleetSync reads its clock under ClockGuard's rule. A
 * reading that is not a number fails flush() and fleetTop() with InvalidTimeError (a
 * rejection, never a synchronous throw, never a silent wrong period) and changes nothing; a
 * wild reading ahead followed by the clock's correction puts what was counted meanwhile in
 * the corrected period, not in one that has not come. A recording store (an implementation of
 * FleetTopStore that keeps every batch) shows where each request went.
 */

const DAY = 86_400_000;
const WILD = 200 * 365 * DAY;

class RecordingStore implements FleetTopStore {
  readonly batches: FleetBatch[] = [];

  async add(batch: FleetBatch): Promise<void> {
    if (!this.batches.some((seen) => seen.id === batch.id)) this.batches.push(batch);
  }

  async top(period: number, n: number) {
    const counts = this.countsOf(period);
    return [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([ip, count]) => ({ ip, count }));
  }

  async close(): Promise<void> {}

  /** Requests per address in `period`. */
  countsOf(period: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const batch of this.batches) {
      if (batch.period !== period) continue;
      for (const delta of batch.deltas) {
        const ip = formatAddress(delta.family, delta.words);
        counts.set(ip, (counts.get(ip) ?? 0) + delta.count);
      }
    }
    return counts;
  }

  /** Requests in every period, by period. */
  totals(): Map<number, number> {
    const totals = new Map<number, number>();
    for (const batch of this.batches) {
      let sum = 0;
      for (const delta of batch.deltas) sum += delta.count;
      totals.set(batch.period, (totals.get(batch.period) ?? 0) + sum);
    }
    return totals;
  }
}

/** A clock returning `value`, which the test sets. */
function settable(start: number) {
  const clock = { value: start as unknown, now: () => clock.value as number };
  return clock;
}

describe('FleetSync reads its clock under the clock rule', () => {
  it('a NaN clock: flush and fleetTop reject with InvalidTimeError; nothing is cut or lost', async () => {
    const clock = settable(10 * DAY + 5);
    const store = new RecordingStore();
    const tracker = new IpTracker();
    const errors: unknown[] = [];
    const sync = new FleetSync(tracker, {
      store,
      clock: clock.now,
      onError: (error) => errors.push(error),
    });
    tracker.requestHandled('192.0.2.1');
    clock.value = Number.NaN;
    await expect(sync.flush()).rejects.toBeInstanceOf(InvalidTimeError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(InvalidTimeError);
    expect(sync.stats.failedFlushes).toBe(1);
    // A rejection, not a synchronous throw.
    let top: Promise<unknown> | undefined;
    expect(() => {
      top = sync.fleetTop(5);
    }).not.toThrow();
    await expect(top).rejects.toBeInstanceOf(InvalidTimeError);
    expect(store.batches).toHaveLength(0);

    clock.value = 10 * DAY + 9;
    tracker.requestHandled('192.0.2.1');
    await sync.flush();
    expect(store.countsOf(10 * DAY)).toEqual(new Map([['192.0.2.1', 2]]));
    await sync.close();
  });

  it('a clock that returns a string or undefined is refused the same way', async () => {
    for (const reading of ['1700000000000', undefined, Number.POSITIVE_INFINITY]) {
      const clock = settable(DAY);
      const sync = new FleetSync(new IpTracker(), {
        store: new RecordingStore(),
        clock: clock.now,
      });
      clock.value = reading;
      await expect(sync.flush()).rejects.toBeInstanceOf(InvalidTimeError);
      await expect(sync.fleetTop(1)).rejects.toBeInstanceOf(InvalidTimeError);
      clock.value = DAY;
      await sync.close();
    }
  });

  it('a tracker rollover with a bad clock reading does not throw into the request path', async () => {
    const clock = settable(3 * DAY + 100);
    const store = new RecordingStore();
    const tracker = new IpTracker();
    const errors: unknown[] = [];
    const sync = new FleetSync(tracker, {
      store,
      clock: clock.now,
      onError: (e) => errors.push(e),
    });
    tracker.requestHandled('198.51.100.9');
    clock.value = Number.NaN;
    expect(() => tracker.clear()).not.toThrow();
    expect(errors[0]).toBeInstanceOf(InvalidTimeError);
    clock.value = 3 * DAY + 200;
    await sync.flush();
    // Kept, in the period it was counted in.
    expect(store.countsOf(3 * DAY)).toEqual(new Map([['198.51.100.9', 1]]));
    await sync.close();
  });

  it('a wild reading ahead, then the correction: the requests between stay in the true period', async () => {
    const clock = settable(20 * DAY + 1000);
    const store = new RecordingStore();
    const tracker = new IpTracker();
    const sync = new FleetSync(tracker, { store, clock: clock.now });
    tracker.requestHandled('203.0.113.1');
    clock.value = 20 * DAY + WILD; // a glitch two centuries ahead, read by a flush
    await sync.flush();
    tracker.requestHandled('203.0.113.1');
    tracker.requestHandled('203.0.113.2');
    clock.value = 20 * DAY + 6000; // corrected
    await sync.flush();
    expect(store.totals()).toEqual(new Map([[20 * DAY, 3]]));
    expect(await sync.fleetTop(5)).toEqual([
      { ip: '203.0.113.1', count: 2 },
      { ip: '203.0.113.2', count: 1 },
    ]);
    await sync.close();
  });

  it('property: whatever the wild readings, nothing is lost and no batch lands in a period after a later good reading', async () => {
    type Step =
      | { kind: 'count'; ip: number; times: number }
      | { kind: 'advance'; ms: number }
      | { kind: 'flush'; wild: boolean };
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('count' as const),
        ip: fc.integer({ min: 1, max: 5 }),
        times: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: DAY }) }),
      fc.record({ kind: fc.constant('flush' as const), wild: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps: Step[]) => {
        let truth = 30 * DAY + 1;
        const clock = settable(truth);
        const store = new RecordingStore();
        const tracker = new IpTracker();
        const sync = new FleetSync(tracker, { store, clock: clock.now });
        let counted = 0;
        // The period of the latest good reading taken at a flush, after each batch's cut.
        const goodAfter: number[] = [];
        for (const s of steps) {
          if (s.kind === 'count') {
            for (let i = 0; i < s.times; i++) tracker.requestHandled(`10.0.0.${s.ip}`);
            counted += s.times;
          } else if (s.kind === 'advance') {
            truth += s.ms;
          } else {
            clock.value = s.wild ? truth + WILD : truth;
            const before = store.batches.length;
            await sync.flush();
            if (!s.wild) {
              const period = Math.floor(truth / DAY) * DAY;
              for (let i = before; i < store.batches.length; i++) goodAfter[i] = period;
            }
          }
        }
        clock.value = truth;
        const before = store.batches.length;
        await sync.close();
        for (let i = before; i < store.batches.length; i++) {
          goodAfter[i] = Math.floor(truth / DAY) * DAY;
        }
        let sent = 0;
        store.batches.forEach((batch, i) => {
          for (const delta of batch.deltas) sent += delta.count;
          if (goodAfter[i] !== undefined) expect(batch.period).toBeLessThanOrEqual(goodAfter[i]!);
        });
        expect(sent).toBe(counted);
      }),
      { numRuns: 200 },
    );
  });
});
