/*
 * Issue 13: every option of the BanHammer, LocalBlockCache, recordLocal and reportCentral is
 * read through src/options.ts, with `Component.option` paths: a value of the wrong type, NaN,
 * a fraction or a number out of range is a ConfigError at setup; a value that passes gives a
 * working object. Never a hang, a raw TypeError, or a crash later, off the caller's path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../../src/banhammer/action.js';
import { LocalBlockCache } from '../../src/banhammer/actions/local-block-cache.js';
import { recordLocal } from '../../src/banhammer/actions/record-local.js';
import { ReportCentralError, reportCentral } from '../../src/banhammer/actions/report-central.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { ConfigError, HitwardenError } from '../../src/errors.js';
import { ManualClock } from '../../src/time/manual-clock.js';
import { trippingHammer, watchCrashes } from './actions-support.js';

const bans = { m: { thresholds: [{ limit: 0, window: 60, action: [], action_duration: 60 }] } };

let directory = '';
let refusedUrl = '';
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'hitwarden-options-'));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  // Nothing listens there: a report is refused at once, without leaving this machine.
  refusedUrl = `http://127.0.0.1:${port}/report`;
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function pathOf(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    if (error instanceof ConfigError) return error.path;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('options are read the one way, with Component.option paths', () => {
  it('BanHammer', () => {
    expect(pathOf(() => new BanHammer(bans, { actionTimeoutMs: Number.NaN }))).toBe(
      'BanHammer.actionTimeoutMs',
    );
    expect(pathOf(() => new BanHammer(bans, { maxPendingActions: 0 }))).toBe(
      'BanHammer.maxPendingActions',
    );
    expect(pathOf(() => new BanHammer(bans, { returnRates: 1 as unknown as boolean }))).toBe(
      'BanHammer.returnRates',
    );
    expect(pathOf(() => new BanHammer(bans, { clock: {} as () => number }))).toBe(
      'BanHammer.clock',
    );
    expect(pathOf(() => new BanHammer(bans, { store: 5 as never }))).toBe('BanHammer.store');
    expect(pathOf(() => new BanHammer(bans, { allowList: ['nope'] }))).toBe(
      'BanHammer.allowList[0]',
    );
    expect(pathOf(() => new BanHammer(bans, 'fast' as never))).toBe('BanHammer');
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(pathOf(() => new BanHammer(bans, { store: trap as never }))).toBe('BanHammer.store');
    expect(pathOf(() => new BanHammer(bans, { denyList: trap as never }))).toBe(
      'BanHammer.denyList',
    );
  });

  it('recordLocal: the clock is a function, read through the clock rule', async () => {
    expect(pathOf(() => recordLocal({ path: join(directory, 'a'), clock: 5 as never }))).toBe(
      'recordLocal.clock',
    );
    expect(pathOf(() => recordLocal([] as never))).toBe('recordLocal');
    // A clock reading NaN rejects the action with InvalidTimeError, not a RangeError of Date.
    const { hammer, errors } = trippingHammer([
      recordLocal({ path: join(directory, 'b'), clock: () => Number.NaN }),
      recordLocal({ path: join(directory, 'c'), clock: () => 1e300 }),
    ]);
    await hammer.incr('t', 'm');
    await hammer.settled();
    expect(errors.map((e) => [e.reason, (e.error as HitwardenError).code])).toEqual([
      ['rejected', 'HITWARDEN_INVALID_TIME'],
      ['rejected', 'HITWARDEN_INVALID_TIME'],
    ]);
  });

  it('reportCentral: counts, clock and headers (an object of strings HTTP allows)', () => {
    const url = 'http://127.0.0.1:9/';
    expect(pathOf(() => reportCentral({ url, retries: 1.5 }))).toBe('reportCentral.retries');
    expect(pathOf(() => reportCentral({ url, retries: 21 }))).toBe('reportCentral.retries');
    expect(pathOf(() => reportCentral({ url, backoffMs: -1 }))).toBe('reportCentral.backoffMs');
    expect(pathOf(() => reportCentral({ url, clock: 'now' as never }))).toBe('reportCentral.clock');
    expect(pathOf(() => reportCentral({ url, headers: 'x' as never }))).toBe(
      'reportCentral.headers',
    );
    expect(pathOf(() => reportCentral({ url, headers: { a: 5 as never } }))).toBe(
      'reportCentral.headers["a"]',
    );
    expect(pathOf(() => reportCentral({ url, headers: { 'bad name': 'x' } }))).toBe(
      'reportCentral.headers',
    );
    expect(pathOf(() => reportCentral({ url, headers: { a: 'line\nbreak' } }))).toBe(
      'reportCentral.headers',
    );
    expect(pathOf(() => reportCentral({ url: 5 as never }))).toBe('reportCentral.url');
    expect(reportCentral({ url, headers: { authorization: 'Bearer x' } })).toBeTypeOf('function');
  });
});

/** Values a user could pass by mistake, or on purpose. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    0,
    1,
    1.5,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53,
    Number.MAX_VALUE,
    '5',
    '',
    true,
    null,
    1n,
    Symbol('option'),
    [],
    new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    ),
  ),
  fc.integer(),
  // Functions returning anything: a clock that answers nonsense.
  fc.func(fc.anything()),
);

/** Per option, values near the ones that pass (so that working objects get exercised too),
 *  mixed half and half with hostile ones. */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  returnRates: fc.boolean(),
  clock: fc.constant(new ManualClock(0).now),
  actionTimeoutMs: fc.integer({ min: -1, max: 5000 }),
  maxPendingActions: fc.integer({ min: -1, max: 50 }),
  allowList: fc.array(fc.constantFrom('10.0.0.0/8', '198.51.100.0/24', '2001:db8::/32', 'x')),
  denyList: fc.array(fc.constantFrom('10.0.0.0/8', '198.51.100.0/24', '2001:db8::/32', 'x')),
  store: fc.constant(undefined),
  maxEntries: fc.integer({ min: -1, max: 50 }),
  path: fc.constant(undefined),
  url: fc.constant(undefined),
  timeoutMs: fc.integer({ min: -1, max: 5000 }),
  retries: fc.integer({ min: -1, max: 25 }),
  backoffMs: fc.integer({ min: -1, max: 5000 }),
  headers: fc.dictionary(
    fc.oneof(fc.stringMatching(/^[a-z-]{1,12}$/), fc.string()),
    fc.oneof(fc.string({ maxLength: 20 }), hostile),
  ),
};

/** An option of `names` and a value for it. */
function optionValue(...names: string[]): fc.Arbitrary<[string, unknown]> {
  return fc
    .constantFrom(...names)
    .chain((name) => fc.tuple(fc.constant(name), fc.oneof(hostile, plausible[name] ?? hostile)));
}

const whole =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: unknown) =>
    value === undefined ||
    (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max);

/** What the BanHammer's plain options accept, written out. */
const accepts: Record<string, (value: unknown) => boolean> = {
  returnRates: (value) => value === undefined || typeof value === 'boolean',
  clock: (value) => value === undefined || typeof value === 'function',
  actionTimeoutMs: whole(1, 2 ** 31 - 1),
  maxPendingActions: whole(1),
};

/** A ConfigError, or else the object `make` built (then exercised by the caller). */
function built<T>(make: () => T): T | undefined {
  try {
    return make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return undefined;
  }
}

/** Runs `action` through a BanHammer twice and waits; its failures must stay events, and be
 *  failures a working action can have (`expected`), never a raw TypeError of a bad option. */
async function exercise(action: Action, expected: (error: unknown) => boolean): Promise<void> {
  const { hammer, errors } = trippingHammer([action]);
  const crashes = await watchCrashes(async () => {
    expect(await hammer.incr('t', 'm')).toBe(false);
    expect(await hammer.incr('t', 'm')).toBe(false);
    await hammer.settled();
  });
  expect(crashes).toEqual({ uncaught: [], unhandled: [] });
  expect(hammer.counters.actions_run).toBe(2);
  expect(errors).toHaveLength(hammer.counters.action_errors);
  for (const { error } of errors) expect(expected(error), String(error)).toBe(true);
}

/** A clock that answers nonsense: the one failure a recordLocal in a temporary directory may
 *  have. */
const badTime = (error: unknown) =>
  error instanceof HitwardenError && error.code === 'HITWARDEN_INVALID_TIME';

describe('hostile values for every option: a ConfigError or a working object', () => {
  it('BanHammer', async () => {
    const option = optionValue(
      'returnRates',
      'clock',
      'actionTimeoutMs',
      'maxPendingActions',
      'allowList',
      'denyList',
      'store',
    );
    await fc.assert(
      fc.asyncProperty(option, async ([name, value]) => {
        // A clock is checked to be a function here; what it then returns is the store's
        // clock rule (a MemoryStore test), so a function stands for a good clock.
        const given =
          name === 'clock' && typeof value === 'function' ? new ManualClock(0).now : value;
        const hammer = built(() => new BanHammer(bans, { [name]: given }));
        // The oracle of what each option takes: a value is accepted exactly when it is valid.
        const valid = accepts[name];
        if (valid !== undefined) expect(hammer !== undefined).toBe(valid(given));
        if (hammer === undefined) return;
        const crashes = await watchCrashes(async () => {
          const answer = await hammer.incr('198.51.100.1', 'm');
          expect(typeof (Array.isArray(answer) ? answer[0] : answer)).toBe('boolean');
          await hammer.settled();
          await hammer.close();
        });
        expect(crashes).toEqual({ uncaught: [], unhandled: [] });
      }),
      { numRuns: 150 },
    );
  });

  it('LocalBlockCache', () => {
    fc.assert(
      fc.property(optionValue('clock', 'maxEntries'), ([name, value]) => {
        const cache = built(() => new LocalBlockCache({ [name]: value }));
        if (cache === undefined) return;
        // A clock reading that is not epoch milliseconds is an InvalidTimeError, nothing else.
        try {
          cache.block('t', 10);
          const left = cache.retryAfter('t');
          expect(left === 0 || left === 10).toBe(true);
          expect(cache.isBlocked('t')).toBe(left > 0);
        } catch (error) {
          expect(name).toBe('clock');
          expect((error as HitwardenError).code).toBe('HITWARDEN_INVALID_TIME');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('recordLocal', async () => {
    let file = 0;
    await fc.assert(
      fc.asyncProperty(optionValue('path', 'clock'), async ([name, value]) => {
        // Only non-strings for the path: a generated string would be a file written anywhere.
        if (name === 'path' && typeof value === 'string') return;
        const options = { path: join(directory, `r${file++}.jsonl`), [name]: value };
        const action = built(() => recordLocal(options as never));
        if (action !== undefined) await exercise(action, badTime);
      }),
      { numRuns: 100 },
    );
  });

  it('reportCentral', async () => {
    const option = optionValue('url', 'timeoutMs', 'retries', 'backoffMs', 'headers', 'clock');
    await fc.assert(
      fc.asyncProperty(option, async ([name, value]) => {
        // Only non-strings for the URL: a generated one could be a host on the network.
        if (name === 'url' && typeof value === 'string') return;
        // No waits between attempts, so that many retries still fail at once.
        const options = { url: refusedUrl, retries: 0, backoffMs: 0, [name]: value };
        const action = built(() => reportCentral(options as never));
        // Nothing listens at the URL: every report fails, as a ReportCentralError.
        const failed = (error: unknown) => error instanceof ReportCentralError || badTime(error);
        if (action !== undefined) await exercise(action, failed);
      }),
      { numRuns: 150 },
    );
  });
});
