import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

/*
 * The README's Redis examples, run as written against a redis-server of this test's own: the
 * URL they show (redis://127.0.0.1:6379) is pointed at it, the import of 'hitwarden' at the
 * sources. test/readme.test.ts runs every other example.
 */
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const SHOWN_URL = 'redis://127.0.0.1:6379';
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1]!)
  .filter((code) => code.includes("from 'hitwarden'") && code.includes(SHOWN_URL));

const dir = new URL('../../../.tmp/readme-redis/', import.meta.url);
mkdirSync(dir, { recursive: true });

describeWithRedis('README Redis examples', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('has Redis examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  blocks.forEach((code, i) => {
    it(`Redis example ${i + 1}`, async () => {
      const file = new URL(`example-${i + 1}.ts`, dir);
      const source = code
        .replaceAll("from 'hitwarden'", "from '../../src/index.js'")
        .replaceAll(SHOWN_URL, server.url);
      writeFileSync(file, `import assert from 'node:assert/strict';\n${source}\nexport {};\n`);
      await import(file.href);
    });
  });
});
