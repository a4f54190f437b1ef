import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBansFile, parseBansFile, readBansFile } from '../../src/banhammer/bans-file.js';
import { compileBans } from '../../src/banhammer/config.js';
import { ConfigError } from '../../src/errors.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe('bans files with match', () => {
  it('reads each metric’s match beside its thresholds, and leaves it out of the bans', () => {
    const file = parseBansFile(
      'login_failed:\n  match: { method: POST, path: /login, status: 401 }\n  thresholds:\n    - { limit: 5, window: 60, action_duration: 60 }\nrequest:\n  thresholds:\n    - { limit: 100, window: 60, action_duration: 60 }\n',
      'bans.yaml',
    );
    expect(Object.fromEntries(file.matches)).toEqual({
      login_failed: { method: 'POST', path: '/login', status: 401 },
    });
    const bans = file.bans as ReadonlyMap<string, { match?: unknown }>;
    expect(bans.get('login_failed')!.match).toBeUndefined();
    expect(() => compileBans(file.bans)).not.toThrow();
  });

  it('names the file and the field of a bad match', () => {
    expect(() =>
      parseBansFile('m:\n  match: { path: "" }\n  thresholds: []\n', 'proposal.yaml'),
    ).toThrow(
      new ConfigError(
        'proposal.yaml: bans.m.match.path',
        'must be a path (/login) or a prefix ending in * (/api/*), got ""',
      ),
    );
  });

  it('loads every example bans file, for serve and for analyze', () => {
    for (const name of ['bans.yaml', 'analyze-bans.yaml', 'analyze-bans-strict.yaml']) {
      expect(() => loadBansFile(example(name)), name).not.toThrow();
    }
    expect([...readBansFile(example('analyze-bans.yaml')).matches.keys()]).toEqual([
      'login_failed',
    ]);
  });
});
