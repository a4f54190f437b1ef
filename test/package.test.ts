import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/*
 * Checks the package as a user gets it: `npm test` builds dist/ first, and this imports
 * 'hitwarden' through the exports map (a package may import itself by name) and runs the
 * bin, so a broken exports map, a missing file or a non-executable CLI fails here.
 */
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

describe('the built package', () => {
  it('exports the public API from its root', async () => {
    const api = await import('hitwarden');
    for (const name of [
      'IpTracker',
      'normalizeIp',
      'parseAddressIn',
      'ManualClock',
      'InvalidIpError',
      'ConfigError',
      'RedisStore',
      'FleetSync',
      'RedisFleetTopStore',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
    const tracker = new api.IpTracker();
    tracker.requestHandled('::ffff:192.0.2.1');
    expect(tracker.top100()).toEqual([{ ip: '192.0.2.1', count: 1 }]);
    const words = new Uint32Array(4);
    const line = '2001:db8::9 - - [...]';
    const family = api.parseAddressIn(line, 0, line.indexOf(' '), words);
    expect(family).toBe(6);
    tracker.countAddress(family as 6, words);
    expect(tracker.count('2001:db8::9')).toBe(1);
  });

  it('does not load ioredis until a Redis store opens a client', () => {
    // ioredis defines a String subclass, which slows string scanning process-wide on Node 20
    // (see src/store/redis/connection.ts); a tracker-only process must not pay for it.
    const loaded = (setup: string) =>
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { createRequire } from 'node:module';
           const api = await import('hitwarden');
           ${setup}
           const cache = createRequire(import.meta.url).cache;
           console.log(Object.keys(cache).some((path) => path.includes('/node_modules/ioredis/')));`,
        ],
        { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname },
      ).trim();
    expect(loaded('new api.IpTracker().requestHandled("192.0.2.1");')).toBe('false');
    // The check itself can see ioredis once something does load it.
    expect(loaded("await import('ioredis');")).toBe('true');
  });

  it('has a working hitwarden bin', () => {
    const bin = new URL(`../${manifest.bin.hitwarden}`, import.meta.url);
    expect(
      execFileSync(process.execPath, [bin.pathname, '--version'], { encoding: 'utf8' }).trim(),
    ).toBe(manifest.version);
  });

  it('ships the Redis scripts beside the compiled store', () => {
    for (const name of ['lib', 'decide', 'status', 'ban', 'fleet-add']) {
      const url = new URL(`../dist/store/redis/scripts/${name}.lua`, import.meta.url);
      const source = new URL(`../src/store/redis/scripts/${name}.lua`, import.meta.url);
      expect(readFileSync(url, 'utf8'), name).toBe(readFileSync(source, 'utf8'));
    }
  });
});
