import { readdirSync, readFileSync } from 'node:fs';

/** One ```ts block of the user documentation that imports from 'hitwarden' (or a subpath). */
export interface DocExample {
  /** Where it is, relative to the repository: `README.md`, `docs/redis.md`. */
  file: string;
  /** Its place among that file's runnable blocks, from 1. */
  index: number;
  code: string;
}

const root = new URL('../../', import.meta.url);

/** The documents a user reads and copies from: the README and every page of docs/, decision
 *  records included. */
function documents(): string[] {
  const pages = (dir: string): string[] =>
    readdirSync(new URL(dir, root), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? pages(`${dir}${entry.name}/`)
        : entry.name.endsWith('.md')
          ? [`${dir}${entry.name}`]
          : [],
    );
  return ['README.md', ...pages('docs/').sort()];
}

/**
 * Every ```ts block of the documents that imports from 'hitwarden' — the ones a user might
 * copy. Blocks that import nothing (an interface shown for reading) are not programs.
 */
export function docExamples(): DocExample[] {
  return documents().flatMap((file) =>
    [...readFileSync(new URL(file, root), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .filter((code) => /from 'hitwarden(\/(express|fastify|node))?'/.test(code))
      .map((code, i) => ({ file, index: i + 1, code })),
  );
}

/** `code` as a module of `dir` (two levels below the repository, e.g. `.tmp/readme/`): the
 *  imports of 'hitwarden' and its subpaths pointed at the sources, `assert` provided. */
export function asModule(code: string): string {
  const source = code
    .replaceAll("from 'hitwarden'", "from '../../src/index.js'")
    .replace(/from 'hitwarden\/(express|fastify|node)'/g, "from '../../src/http/$1.js'");
  return `import assert from 'node:assert/strict';\n${source}\nexport {};\n`;
}
