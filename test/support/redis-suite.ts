import { describe, it } from 'vitest';
import { REDIS_CLI, REDIS_SERVER } from './redis-server.js';

const REQUIRED = process.env.HITWARDEN_REQUIRE_REDIS === '1';

/**
 * `describe` for a suite that needs real Redis servers. Without a `redis-server` binary the
 * suite is skipped with a loud warning, or fails when `HITWARDEN_REQUIRE_REDIS=1` (CI).
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (REDIS_SERVER !== undefined && REDIS_CLI !== undefined) {
    describe(name, body);
    return;
  }
  const why =
    'redis-server/redis-cli not found on PATH (Debian: apt-get install redis-server); ' +
    `the Redis suite "${name}" cannot run`;
  if (REQUIRED) {
    describe(name, () => {
      it('needs redis-server (HITWARDEN_REQUIRE_REDIS=1)', () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(
    `\n!!!!!!!! SKIPPED: ${why}. Set HITWARDEN_REQUIRE_REDIS=1 to fail instead. !!!!!!!!\n`,
  );
  describe.skip(name, body);
}
