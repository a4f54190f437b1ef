import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/*
 * Runs the ```ts blocks of the README's BanHammer section that import from 'hitwarden', as
 * written, so they cannot drift from the code. They state their outcomes with `assert`
 * (node:assert/strict, provided here); the import of 'hitwarden' is pointed at the sources.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('\n## BanHammer\n'));
const next = section.indexOf('\n## ', 1);
const blocks = [
  ...(next === -1 ? section : section.slice(0, next)).matchAll(/```ts\n([\s\S]*?)```/g),
]
  .map((match) => match[1]!)
  .filter((code) => code.includes("from 'hitwarden'"));

const dir = new URL('../../.tmp/readme-banhammer/', import.meta.url);
mkdirSync(dir, { recursive: true });

describe('README BanHammer examples', () => {
  it('has examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs and its assertions hold`, async () => {
      const file = new URL(`example-${i + 1}.ts`, dir);
      const source = code.replaceAll("from 'hitwarden'", "from '../../src/index.js'");
      writeFileSync(file, `import assert from 'node:assert/strict';\n${source}\nexport {};\n`);
      await import(file.href);
    });
  });
});
