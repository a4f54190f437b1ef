/*
 * Issue 13: a 1 MB metric name gave a 1,000,156-character ConfigError message: the path was
 * not cut. Every message that quotes input is bounded, and a path cuts a long name itself, so
 * it stays a readable line that still says where (`….thresholds[0].window`).
 */
import { createServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReportCentralError, reportCentral } from '../../src/banhammer/actions/report-central.js';
import { BanHammer } from '../../src/banhammer/ban-hammer.js';
import { compileBans } from '../../src/banhammer/config.js';
import { ConfigError, MAX_MESSAGE_LENGTH } from '../../src/errors.js';
import { trippingHammer } from './actions-support.js';

const ok = { limit: 1, window: 60, action: [], action_duration: 60 };
/** Room a path gives a long name: a quoted 80-character cut and its length. */
const PATH_ROOM = 140;

function configError(make: () => unknown): ConfigError {
  try {
    make();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A local port nothing listens on: a request to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('long names in messages', () => {
  it('a 1 MB metric name: the path is cut and still says where (the reproduction)', () => {
    const name = 'a'.repeat(1_000_000);
    const error = configError(() =>
      compileBans({ [name]: { thresholds: [{ ...ok, window: 0 }] } }),
    );
    expect(error.path).toBe(`bans["${'a'.repeat(80)}…" (1000000 characters)].thresholds[0].window`);
    expect(error.message.length).toBeLessThan(PATH_ROOM + 100);
  });

  it('an unknown 1 MB metric in a call, and a long name that is not an identifier', async () => {
    const hammer = new BanHammer({ m: { thresholds: [ok] } });
    const error = (await hammer.incr('t', 'b'.repeat(1_000_000)).catch((e) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.path.length).toBeLessThan(PATH_ROOM);
    expect(error.message.length).toBeLessThan(PATH_ROOM + 200);
    const spaced = configError(() =>
      compileBans(new Map([[`x y${'c'.repeat(500_000)}`, { thresholds: [] }]])),
    );
    expect(spaced.path.endsWith('(500003 characters)].thresholds')).toBe(true);
  });

  it("an action's 1 MB name does not make its timeout message 1 MB", async () => {
    const action = Object.defineProperty(() => new Promise(() => {}), 'name', {
      value: 'n'.repeat(1_000_000),
    });
    const { hammer, errors } = trippingHammer([action], { actionTimeoutMs: 1 });
    await hammer.incr('t', 'm');
    await hammer.settled();
    expect(errors.map((e) => e.reason)).toEqual(['timeout']);
    expect((errors[0]!.error as Error).message.length).toBeLessThan(200);
  });

  it("reportCentral's failure message cuts a 1 MB URL", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/${'p'.repeat(1_000_000)}`;
    const { hammer, errors } = trippingHammer([reportCentral({ url, retries: 0 })]);
    await hammer.incr('t', 'm');
    await hammer.settled();
    expect(errors).toHaveLength(1);
    const error = errors[0]!.error as ReportCentralError;
    expect(error).toBeInstanceOf(ReportCentralError);
    expect(error.message.length).toBeLessThan(500);
    expect(
      configError(() => reportCentral({ url: `nope${'q'.repeat(1_000_000)}` })).message.length,
    ).toBeLessThan(200);
  });

  it('any metric name: a path of bounded length ending where the problem is', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 300 }),
          fc.stringMatching(/^[a-z_]{1,300}$/),
          fc.integer({ min: 81, max: 200_000 }).map((n) => 'z'.repeat(n)),
        ),
        (name) => {
          const error = configError(() =>
            compileBans({ [name]: { thresholds: [{ ...ok, limit: -1 }] } }),
          );
          expect(error.path.length).toBeLessThan(PATH_ROOM + 30);
          expect(error.path.endsWith('.thresholds[0].limit')).toBe(true);
          expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
        },
      ),
      { numRuns: 200 },
    );
  });
});
