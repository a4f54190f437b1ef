import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { compileMatch, lineMatchOf } from '../../src/logs/line-match.js';

describe('match', () => {
  it('matches method exactly, path exactly or by prefix, status by code, list or class', () => {
    const login = compileMatch(lineMatchOf('m', { method: 'POST', path: '/login', status: 401 }));
    expect(login.routeMatches('POST', '/login')).toBe(true);
    expect(login.routeMatches('GET', '/login')).toBe(false);
    expect(login.routeMatches('POST', '/login/x')).toBe(false);
    expect(login.statusMatches(401)).toBe(true);
    expect(login.statusMatches(403)).toBe(false);

    const api = compileMatch(lineMatchOf('m', { path: '/api/*', status: '4xx' }));
    expect(api.routeMatches('DELETE', '/api/')).toBe(true);
    expect(api.routeMatches('GET', '/api/v1/users')).toBe(true);
    expect(api.routeMatches('GET', '/apix')).toBe(false);
    expect([399, 400, 499, 500].map((s) => api.statusMatches(s))).toEqual([
      false,
      true,
      true,
      false,
    ]);

    const list = compileMatch(lineMatchOf('m', { status: [401, 403] }));
    expect([401, 402, 403].map((s) => list.statusMatches(s))).toEqual([true, false, true]);
    expect(compileMatch(lineMatchOf('m', { status: '404' })).statusMatches(404)).toBe(true);

    const all = compileMatch(undefined);
    expect(all.routeMatches('GET', '/anything') && all.statusMatches(0)).toBe(true);
  });

  it('refuses what it cannot use, naming the field', () => {
    const cases: [unknown, string][] = [
      ['POST /login', 'bans.x.match'],
      [{ verb: 'POST' }, 'bans.x.match.verb'],
      [{ method: 'PO ST' }, 'bans.x.match.method'],
      [{ path: '' }, 'bans.x.match.path'],
      [{ path: '/a*/b' }, 'bans.x.match.path'],
      [{ status: 42 }, 'bans.x.match.status'],
      [{ status: '4x' }, 'bans.x.match.status'],
      [{ status: [] }, 'bans.x.match.status'],
      [{ status: [200, 'x'] }, 'bans.x.match.status'],
    ];
    for (const [raw, path] of cases) {
      let error: unknown;
      try {
        lineMatchOf('bans.x.match', raw);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(raw)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(path);
    }
  });
});
