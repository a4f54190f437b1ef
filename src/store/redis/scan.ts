/*
 * Listing the pairs in Redis: `SCAN` over every master (never `KEYS`: memory held is one
 * page), and the token and metric read back out of each `:state` key.
 */
import { isClusterClient } from './connection.js';
import { STATE_SUFFIX, tokenHeadOf } from './keys.js';
import type { RedisClient } from './script.js';

/** The `SCAN MATCH` pattern of every `:state` key under `prefix`. */
export function statePatternOf(prefix: string): string {
  return `${escapeGlob(tokenHeadOf(prefix))}*${STATE_SUFFIX}`;
}

/**
 * Every page of `:state` keys under `prefix`, master by master; `bound` wraps each `SCAN`
 * step (the store bounds it by `timeoutMs`).
 */
export async function* statePages(
  client: RedisClient,
  prefix: string,
  count: number,
  bound: (step: Promise<[string, string[]]>) => Promise<[string, string[]]>,
): AsyncGenerator<string[]> {
  const pattern = statePatternOf(prefix);
  const nodes = isClusterClient(client) ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const page = await bound(
        node.scan(cursor, 'MATCH', pattern, 'COUNT', count, 'TYPE', 'string'),
      );
      cursor = page[0];
      yield page[1];
    } while (cursor !== '0');
  }
}

/** Token and metric of a `:state` key under `prefix`; `undefined` for a metric not in
 *  `byName`. The metric is the configured name the key ends with (`}:<metric>:state`),
 *  longest first. */
export function parseStateKey<Plan extends { readonly name: string }>(
  key: string,
  prefix: string,
  byName: ReadonlyMap<string, Plan>,
): { token: string; plan: Plan } | undefined {
  const head = tokenHeadOf(prefix);
  if (!key.startsWith(head) || !key.endsWith(STATE_SUFFIX)) return undefined;
  const middle = key.slice(head.length, -STATE_SUFFIX.length);
  let found: { token: string; plan: Plan } | undefined;
  for (const [name, plan] of byName) {
    const tail = `}:${name}`;
    if (middle.endsWith(tail) && (found === undefined || name.length > found.plan.name.length)) {
      found = { token: middle.slice(0, -tail.length), plan };
    }
  }
  return found;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
