import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BanHammer,
  CapacityError,
  ManualClock,
  MemoryStore,
  type StoreFullEvent,
} from '../../src/index.js';
import { MemoryCore } from '../../src/store/memory/core.js';
import {
  BLOCKING,
  HAS_ACTIONS,
  PASSED,
  TRIPPED,
  UNTRACKED,
} from '../../src/store/sync-decisions.js';

/*
 * Floods against `maxTokens`: the eviction hand visits every slot (no residue class of slots
 * is left out), a ban in force is never evicted, and a table full of bans decides new pairs
 * by `whenFull` ('untracked' or 'refuse'), counted and reported.
 */

const T = Date.UTC(2026, 0, 1);
const CAPS = [5, 10, 15, 16, 30, 100, 4096];
/** Two events within a minute earn a ten-minute ban. */
const selfBanning = {
  m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 600 }] },
};

describe.each(CAPS)('maxTokens %i', (cap) => {
  it('keeps a real ban through a flood of tokens that each earn a ban of their own (the issue)', async () => {
    const clock = new ManualClock(T);
    const hammer = new BanHammer(selfBanning, {
      store: new MemoryStore({ maxTokens: cap }),
      clock: clock.now,
    });
    await hammer.incr('attacker', 'm');
    expect(await hammer.incr('attacker', 'm')).toBe(false);
    for (let i = 0; i < 10 * cap; i++) {
      await hammer.incr(`flood-${i}`, 'm');
      await hammer.incr(`flood-${i}`, 'm');
    }
    expect(await hammer.incr('attacker', 'm')).toBe(false);
    expect((await hammer.status('attacker', 'm')).blocked_until).toBe(T + 600_000);
    // The flood's own bans filled the table: later flood tokens were decided untracked.
    expect(hammer.counters.untracked).toBeGreaterThan(0);
  });

  it('keeps a real ban through a flood of distinct tokens, evicting only unbanned pairs', async () => {
    const clock = new ManualClock(T);
    const store = new MemoryStore({ maxTokens: cap });
    const hammer = new BanHammer(selfBanning, { store, clock: clock.now });
    await hammer.incr('attacker', 'm');
    await hammer.incr('attacker', 'm');
    for (let i = 0; i < 10 * cap; i++) expect(await hammer.incr(`visitor-${i}`, 'm')).toBe(true);
    expect(await hammer.incr('attacker', 'm')).toBe(false);
    expect(store.size).toBeLessThanOrEqual(cap);
    expect(hammer.counters.untracked).toBe(0);
    expect(store.untracked).toBe(0);
    expect(store.evictions).toBe(10 * cap + 1 - cap);
  });

  it('lets the eviction hand reach every slot: a flood evicts every earlier pair', () => {
    const clock = new ManualClock(T);
    const core = new MemoryCore(
      [
        {
          name: 'm',
          thresholds: [{ limit: 5, windowSeconds: 60, durationSeconds: 60, shadow: false }],
        },
      ],
      clock.now,
      { maxTokens: cap },
    );
    for (let i = 0; i < cap; i++) core.incr(`old-${i}`, 0);
    for (let i = 0; i < 3 * cap; i++) core.incr(`new-${i}`, 0);
    const left = [];
    for (let i = 0; i < cap; i++) if (core.readRates(`old-${i}`, 0)) left.push(i);
    expect(left).toEqual([]);
    expect(core.size).toBe(cap);
  });
});

describe('the eviction hand (property)', () => {
  it('evicts every unbanned pair of a full table, of every metric, never a banned one, and every pair once its ban ends, at any cap', () => {
    fc.assert(
      fc.property(
        // One flag per slot of the table (its length is the cap): whether its pair is banned.
        fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 100 }),
        (bannedFlags, touches) => {
          const cap = bannedFlags.length;
          const clock = new ManualClock(T);
          const threshold = { limit: 1000, windowSeconds: 60, durationSeconds: 60, shadow: false };
          const core = new MemoryCore(
            [
              { name: 'a', thresholds: [threshold] },
              { name: 'b', thresholds: [threshold] },
            ],
            clock.now,
            { maxTokens: cap },
          );
          const old = (i: number) => [`old-${i}`, i % 2] as const;
          for (let i = 0; i < cap; i++) core.incr(...old(i));
          // Some old pairs used again (the hand gives them another round), some banned.
          for (const pick of touches) core.incr(...old(pick % cap));
          for (let i = 0; i < cap; i++) if (bannedFlags[i]) core.ban(...old(i), 0);
          const allBanned = bannedFlags.every(Boolean);
          for (let i = 0; i < 3 * cap; i++) {
            const flags = core.incr(`new-${i}`, i % 2);
            expect((flags & UNTRACKED) !== 0).toBe(allBanned);
          }
          for (let i = 0; i < cap; i++) {
            expect(core.readRates(...old(i))).toBe(bannedFlags[i]);
            if (bannedFlags[i]) expect(core.bansOf(...old(i))).toHaveLength(1);
          }
          expect(core.size).toBe(cap);
          // The bans end (the pairs still alive, their span is an hour): every slot is
          // reachable again.
          clock.advance(61);
          for (let i = 0; i < 3 * cap; i++) {
            expect(core.incr(`later-${i}`, i % 2) & UNTRACKED).toBe(0);
          }
          for (let i = 0; i < cap; i++) expect(core.readRates(...old(i))).toBe(false);
          expect(core.size).toBe(cap);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('a table full of bans', () => {
  const limitZero = {
    m: { thresholds: [{ limit: 0, window: 60, action: [], action_duration: 600 }] },
  };

  it('decides a new pair untracked by default: as a first event, forgotten, counted, reported', async () => {
    const clock = new ManualClock(T);
    const store = new MemoryStore({ maxTokens: 4 });
    const hammer = new BanHammer(selfBanning, { store, clock: clock.now });
    const reports: StoreFullEvent[] = [];
    hammer.on('store_full', (event) => reports.push(event));
    for (let i = 0; i < 4; i++) {
      await hammer.incr(`banned-${i}`, 'm');
      expect(await hammer.incr(`banned-${i}`, 'm')).toBe(false);
    }
    // Untracked, a new token is never banned: each event is its first.
    for (let k = 0; k < 3; k++) expect(await hammer.incr('newcomer', 'm')).toBe(true);
    expect(hammer.counters.untracked).toBe(3);
    expect(store.size).toBe(4);
    await hammer.settled();
    expect(reports).toEqual([{ token: 'newcomer', metric: 'm', policy: 'untracked', count: 3 }]);
    // A manual ban cannot be kept: a typed error, nothing changed.
    await expect(hammer.now('newcomer', 'm')).rejects.toBeInstanceOf(CapacityError);
    // Once a ban ends, its slot is free to take again.
    clock.set(T + 600_001);
    await hammer.incr('newcomer', 'm');
    expect(await hammer.incr('newcomer', 'm')).toBe(false);
    expect(hammer.counters.untracked).toBe(3);
  });

  it("still runs a limit-0 threshold's actions for an untracked pair, without keeping a ban", async () => {
    const clock = new ManualClock(T);
    const ran: string[] = [];
    const config = {
      m: {
        thresholds: [
          {
            limit: 0,
            window: 60,
            action: [(token: string) => void ran.push(token)],
            action_duration: 600,
          },
        ],
      },
    };
    const hammer = new BanHammer(config, {
      store: new MemoryStore({ maxTokens: 2 }),
      clock: clock.now,
    });
    expect(await hammer.incrMany(['a', 'b', 'c', 'd'], 'm')).toEqual([false, false, false, false]);
    await hammer.settled();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(hammer.counters.untracked).toBe(2);
    expect((await hammer.status('c', 'm')).bans).toEqual([]);
    expect((await hammer.status('a', 'm')).bans).toHaveLength(1);
  });

  it("refuses a new pair with whenFull: 'refuse'", async () => {
    const clock = new ManualClock(T);
    const hammer = new BanHammer(limitZero, {
      store: new MemoryStore({ maxTokens: 3, whenFull: 'refuse' }),
      clock: clock.now,
      returnRates: true,
    });
    const reports: StoreFullEvent[] = [];
    hammer.on('store_full', (event) => reports.push(event));
    for (let i = 0; i < 3; i++) await hammer.incr(`banned-${i}`, 'm');
    const [passed, rates] = await hammer.incr('newcomer', 'm');
    expect(passed).toBe(false);
    expect(rates.token_rate_1m).toBe(1);
    expect(await hammer.incrMany(['x', 'y'], 'm')).toEqual([
      [false, { token_rate_1m: 1, token_rate_10m: 1, token_rate_60m: 1 }],
      [false, { token_rate_1m: 1, token_rate_10m: 1, token_rate_60m: 1 }],
    ]);
    expect(hammer.counters.untracked).toBe(3);
    expect(hammer.counters.tripped).toBe(3);
    await hammer.settled();
    expect(reports).toEqual([{ token: 'newcomer', metric: 'm', policy: 'refuse', count: 3 }]);
  });
});

/**
 * Mixed floods against the one promise the cap keeps, checked on every event: a ban the store
 * reported (TRIPPED) blocks every event of its token until it ends, whatever else arrives; the
 * table never holds more than the cap; and an event is decided untracked only at the cap.
 */
describe('mixed floods at small caps (property)', () => {
  const eventArb = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('attacker' as const),
        who: fc.integer({ min: 0, max: 3 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('self-banning' as const), who: fc.nat() }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('distinct' as const), who: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('tick' as const),
        who: fc.integer({ min: 0, max: 30 }),
      }),
    },
  );

  it.each([5, 10, 16, 100])('holds at maxTokens %i', (cap) => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 50, maxLength: 600, size: 'max' }),
        fc.constantFrom('untracked' as const, 'refuse' as const),
        (events, whenFull) => {
          const clock = new ManualClock(T);
          const thresholds = [
            { limit: 1, windowSeconds: 60, durationSeconds: 300, shadow: false },
            { limit: 4, windowSeconds: 600, durationSeconds: 1800, shadow: false },
          ];
          const core = new MemoryCore([{ name: 'm', thresholds }], clock.now, {
            maxTokens: cap,
            whenFull,
          });
          // The oracle: when each threshold's ban of each token ends, as the store reported it.
          const bans = new Map<string, number[]>();
          let n = 0;
          for (const event of events) {
            if (event.kind === 'tick') {
              clock.advance(event.who);
              continue;
            }
            const token =
              event.kind === 'attacker' ? `attacker-${event.who}` : `${event.kind}-${n++}`;
            const repeats = event.kind === 'self-banning' ? 2 : 1;
            for (let r = 0; r < repeats; r++) {
              const sizeBefore = core.size;
              const flags = core.incr(token, 0);
              const now = clock.now();
              const held = bans.get(token) ?? [0, 0];
              for (let i = 0; i < thresholds.length; i++) {
                const state = (flags & HAS_ACTIONS) === 0 ? 0 : core.thresholdState[i];
                if (held[i]! > now) expect(state).toBe(BLOCKING);
                if (state === TRIPPED && (flags & UNTRACKED) === 0) {
                  held[i] = now + thresholds[i]!.durationSeconds * 1000;
                }
              }
              bans.set(token, held);
              if ((flags & UNTRACKED) !== 0) {
                expect(sizeBefore).toBe(cap);
                if (whenFull === 'refuse') expect(flags & PASSED).toBe(0);
              }
              expect(core.size).toBeLessThanOrEqual(cap);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
