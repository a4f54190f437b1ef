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
