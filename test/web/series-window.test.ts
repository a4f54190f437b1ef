import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SeriesBody } from '../../web/src/contract.js';
import { SeriesWindow } from '../../web/src/series-window.js';

/*
 * The dashboard's series window against an oracle: the service's ring is a function of the
 * second (truth), the page receives full bodies and single points of it in any order, some
 * lost; what the window holds must be the truth for every second a body delivered, null for
 * a second none did, over the last `capacity` seconds up to the newest one delivered.
 */

const ROUTES = ['GET /hello', 'POST /login'];
const T0 = 1_764_676_800; // epoch seconds

const truth = (route: string, second: number) => ((second * 7 + route.length * 13) % 11) + 1;

function body(routes: readonly string[], from: number, to: number): SeriesBody {
  const points = (route: string) => {
    const values: number[] = [];
    for (let s = from; s <= to; s++) values.push(truth(route, s));
    return values;
  };
  return {
    time: to * 1000 + 400,
    step: 1,
    start: from * 1000,
    routes: routes.map((route) => ({ route, points: points(route) })),
  };
}

describe('SeriesWindow', () => {
  it('holds exactly the delivered seconds of the last `capacity`, whatever the order and the losses', () => {
    const delivery = fc.record({
      end: fc.integer({ min: 0, max: 400 }),
      span: fc.integer({ min: 1, max: 120 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.array(delivery, { minLength: 1, maxLength: 30 }),
        (capacity, deliveries) => {
          const window = new SeriesWindow(capacity);
          const delivered = new Set<number>();
          let newest = -Infinity;
          let oldest = Infinity;
          for (const { end, span } of deliveries) {
            const from = T0 + end - span + 1;
            const to = T0 + end;
            window.merge(body(ROUTES, from, to));
            for (let s = from; s <= to; s++) delivered.add(s);
            newest = Math.max(newest, to);
            oldest = Math.min(oldest, from);
          }
          const first = Math.max(oldest, newest - capacity + 1);
          const [times, ...columns] = window.data();
          expect(times[0]).toBe(first);
          expect(times.length).toBe(newest - first + 1);
          expect(window.routes).toEqual(ROUTES);
          times.forEach((second, i) => {
            expect(second).toBe(first + i);
            ROUTES.forEach((route, r) => {
              expect(columns[r]![i]).toBe(delivered.has(second) ? truth(route, second) : null);
            });
          });
        },
      ),
    );
  });

  it('takes the stream as the service sends it: a full series, then one point per snapshot', () => {
    const window = new SeriesWindow(300);
    expect(window.merge(body(ROUTES, T0 - 299, T0))).toBe(true);
    for (let s = T0 + 1; s <= T0 + 10; s++) expect(window.merge(body(ROUTES, s, s))).toBe(false);
    const [times, hello] = window.data();
    expect(times.length).toBe(300);
    expect(times.at(-1)).toBe(T0 + 10);
    expect(hello!.at(-1)).toBe(truth('GET /hello', T0 + 10));
    expect(window.end).toBe(T0 + 10);
  });

  it('gives a route that appears later zeros for the seconds it missed, and says the routes changed', () => {
    const window = new SeriesWindow(10);
    window.merge(body(['GET /hello'], T0, T0 + 4));
    expect(window.merge(body(['GET /hello', 'GET /a'], T0 + 5, T0 + 5))).toBe(true);
    expect(window.routes).toEqual(['GET /a', 'GET /hello']);
    const [, added] = window.data();
    expect(added).toEqual([0, 0, 0, 0, 0, truth('GET /a', T0 + 5)]);
  });

  it('starts over on a new step and stays bounded after a jump far ahead', () => {
    const window = new SeriesWindow(5);
    window.merge(body(ROUTES, T0, T0 + 4));
    window.merge(body(ROUTES, T0 + 1_000_000, T0 + 1_000_000));
    const [times, hello] = window.data();
    expect(times).toEqual([1, 2, 3, 4, 5].map((i) => T0 + 999_995 + i));
    expect(hello).toEqual([null, null, null, null, truth('GET /hello', T0 + 1_000_000)]);

    window.merge({ time: 0, step: 10, start: T0 * 1000, routes: [{ route: 'x', points: [1, 2] }] });
    expect(window.data()).toEqual([
      [T0, T0 + 10],
      [1, 2],
    ]);
  });

  it('ignores an empty body and refuses a capacity that is not a positive integer', () => {
    const window = new SeriesWindow(3);
    window.merge({ time: 0, step: 1, start: 0, routes: [] });
    expect(window.size).toBe(0);
    expect(window.data()).toEqual([[]]);
    expect(() => new SeriesWindow(0)).toThrow(RangeError);
    expect(() => new SeriesWindow(1.5)).toThrow(RangeError);
  });
});
