import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OTHER_ROUTE, RouteTable } from '../../src/logs/route-table.js';

const ROUTES = ['GET /a', 'GET /b', 'POST /login', 'GET /caf\xc3\xa9', '-'];

/** Brute force: for each hit, the hits of its route in (t − w, t]. */
function oraclePeaks(
  hits: { route: string; time: number }[],
  windowMs: number,
  route: string,
): number {
  const times = hits.filter((h) => h.route === route).map((h) => h.time);
  let peak = 0;
  for (const t of times)
    peak = Math.max(peak, times.filter((u) => u > t - windowMs && u <= t).length);
  return peak;
}

describe('RouteTable', () => {
  it('counts hits and the peak of every window exactly', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: ROUTES.length - 1 }),
            fc.integer({ min: 0, max: 5000 }),
          ),
          {
            maxLength: 400,
          },
        ),
        fc.uniqueArray(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        (raw, windows) => {
          const table = new RouteTable(windows);
          // Times never go back (the reader's clock), in whole seconds as in access logs.
          let time = 1_700_000_000_000;
          const hits = raw.map(([r, step]) => {
            time += Math.floor(step / 1000) * 1000;
            return { route: ROUTES[r]!, time };
          });
          // Each route sits inside a longer text, as in a chunk.
          for (const hit of hits) {
            const text = `xx ${hit.route} HTTP/1.1`;
            const space = hit.route.indexOf(' ');
            const methodEnd = space === -1 ? 3 + hit.route.length : 3 + space;
            table.hit(text, 3, methodEnd, 3 + hit.route.length, hit.time);
          }
          const sorted = [...windows].sort((a, b) => a - b);
          expect(table.windowsSeconds).toEqual(sorted);
          for (const route of table.routes) {
            const key =
              route.method === '-'
                ? '-'
                : `${Buffer.from(route.method).toString('latin1')} ${Buffer.from(route.path).toString('latin1')}`;
            expect(route.hits).toBe(hits.filter((h) => h.route === key).length);
            for (const [i, w] of sorted.entries()) {
              expect(route.peaks[i], `${key} ${w}s`).toBe(oraclePeaks(hits, w * 1000, key));
            }
          }
          expect(table.routes.length).toBe(new Set(hits.map((h) => h.route)).size);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes the route as UTF-8 for show and match', () => {
    const table = new RouteTable([60]);
    const text = 'GET /caf\xc3\xa9';
    table.hit(text, 0, 3, text.length, 0);
    expect(table.routes[0]).toMatchObject({ method: 'GET', path: '/café' });
  });

  it('counts routes past maxRoutes under one route', () => {
    const table = new RouteTable([60], 2);
    for (const route of ['GET /1', 'GET /2', 'GET /3', 'GET /4', 'GET /1'])
      table.hit(route, 0, 3, route.length, 0);
    expect(table.routes.map((r) => [r.path, r.hits])).toEqual([
      ['/1', 2],
      ['/2', 1],
      [OTHER_ROUTE, 2],
    ]);
  });
});
