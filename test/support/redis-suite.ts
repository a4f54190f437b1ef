import { describeNeeding } from './component-suite.js';
import { REDIS_CLI, REDIS_SERVER } from './redis-server.js';

/**
 * `describe` for a suite that needs real Redis servers. Without a `redis-server` binary the
 * suite is skipped with a loud warning, or fails when `HITWARDEN_REQUIRE_REDIS=1` (CI).
 */
export function describeWithRedis(name: string, body: () => void): void {
  const missing =
    REDIS_SERVER !== undefined && REDIS_CLI !== undefined
      ? undefined
      : 'redis-server/redis-cli not found on PATH (Debian: apt-get install redis-server)';
  describeNeeding(name, missing, 'HITWARDEN_REQUIRE_REDIS', body);
}
