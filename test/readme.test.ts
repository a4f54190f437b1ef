import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'vitest';

/*
 * Runs every ```ts block of the README that imports from 'hitwarden', so the examples
 * cannot drift from the code. Blocks state their outcomes with `assert`, which the test
 * provides; the import of 'hitwarden' is pointed at the sources.
 */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1]!)
  .filter((code) => code.includes("from 'hitwarden'"))
  // The Redis examples need a server: test/store/redis/readme.test.ts runs them with one.
  .filter((code) => !code.includes('redis://'));

const dir = new URL('../.tmp/readme/', import.meta.url);
mkdirSync(dir, { recursive: true });

describe('README examples', () => {
  it('has examples to run', () => {
    if (blocks.length < 2) throw new Error(`expected README examples, found ${blocks.length}`);
  });

  blocks.forEach((code, i) => {
    const firstLine = code
      .split('\n')
      .find((line) => line.trim() !== '' && !line.startsWith('import'));
    it(`example ${i + 1}: ${firstLine}`, async () => {
      const file = new URL(`example-${i + 1}.ts`, dir);
      const source = code.replaceAll("from 'hitwarden'", "from '../../src/index.js'");
      writeFileSync(file, `import assert from 'node:assert/strict';\n${source}\nexport {};\n`);
      await import(file.href);
    });
  });
});
