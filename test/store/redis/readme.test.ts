import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { asModule, docExamples } from '../../support/doc-examples.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeWithRedis } from '../../support/redis-suite.js';

/*
 * The Redis examples of the README and docs/, run as written against a redis-server of this
 * test's own: the URL they show (redis://127.0.0.1:6379) is pointed at it, the import of
 * 'hitwarden' at the sources. test/readme.test.ts runs every other example.
 */
const SHOWN_URL = 'redis://127.0.0.1:6379';
const blocks = docExamples().filter(({ code }) => code.includes(SHOWN_URL));

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

  for (const { file, index, code } of blocks) {
    it(`${file} Redis example ${index}`, async () => {
      const module = new URL(`${file.replaceAll('/', '-')}-${index}.ts`, dir);
      writeFileSync(module, asModule(code.replaceAll(SHOWN_URL, server.url)));
      await import(module.href);
    });
  }
});
