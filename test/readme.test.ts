import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asModule, docExamples } from './support/doc-examples.js';

/*
 * Runs every ```ts block of the README and of docs/ that imports from 'hitwarden', so the
 * examples cannot drift from the code. Blocks state their outcomes with `assert`, which the
 * test provides; the import of 'hitwarden' is pointed at the sources.
 */
const SHOWN_URL = 'redis://';
const all = docExamples();
// The Redis examples need a server: test/store/redis/readme.test.ts runs them with one.
const examples = all.filter(({ code }) => !code.includes(SHOWN_URL));

const dir = new URL('../.tmp/readme/', import.meta.url);
mkdirSync(dir, { recursive: true });

describe('README and docs examples', () => {
  it('finds the examples of the README and of docs/', () => {
    const files = new Set(examples.map(({ file }) => file));
    expect(examples.filter(({ file }) => file === 'README.md').length).toBeGreaterThanOrEqual(4);
    expect(files).toContain('docs/ip-tracker.md');
    expect(files).toContain('docs/banhammer.md');
  });

  for (const { file, index, code } of examples) {
    const firstLine = code
      .split('\n')
      .find((line) => line.trim() !== '' && !line.startsWith('import'));
    it(`${file} example ${index}: ${firstLine}`, async () => {
      const module = new URL(`${file.replaceAll('/', '-')}-${index}.ts`, dir);
      writeFileSync(module, asModule(code));
      await import(module.href);
    });
  }
});
