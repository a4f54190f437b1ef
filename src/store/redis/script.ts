import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client or cluster client: everything the Redis store talks through. */
export type RedisClient = Redis | Cluster;

type Argument = string | number | Buffer;

/** The scripting commands as ioredis defines them, each also as `<command>Buffer` (its typings
 *  omit those; `callBuffer` would lose the command name under auto-pipelining, ioredis 6). */
type Scripting = Record<
  'evalsha' | 'eval' | 'evalshaBuffer' | 'evalBuffer',
  (shaOrSource: string, keys: number, ...args: Argument[]) => Promise<unknown>
>;

/**
 * A Lua script from `./scripts/<name>.lua` (after the files in `prelude`, e.g. shared
 * helpers), run with `EVALSHA` and, when the server answers `NOSCRIPT` (a restart, a failover,
 * `SCRIPT FLUSH`), once more with `EVAL`, which also puts it back in the server's script
 * cache. The caller's client is used as given, never extended with custom commands.
 *
 * The files are read on first use, not when the script is made: the scripts are module
 * constants, and importing the package (for the tracker alone, say) must read no file
 * (`"sideEffects": false` in package.json; test/side-effects.test.ts).
 */
export class RedisScript {
  readonly name: string;
  readonly #files: readonly string[];
  #source: string | undefined;
  #sha: string | undefined;

  constructor(name: string, prelude: readonly string[] = []) {
    this.name = name;
    this.#files = [...prelude, name];
  }

  /** The script's text: its prelude's files, then its own. */
  get source(): string {
    // Shipped beside the compiled module: `npm run build` copies the .lua files into dist/.
    this.#source ??= this.#files
      .map((file) => readFileSync(new URL(`./scripts/${file}.lua`, import.meta.url), 'utf8'))
      .join('\n');
    return this.#source;
  }

  get sha(): string {
    this.#sha ??= createHash('sha1').update(this.source).digest('hex');
    return this.#sha;
  }

  /**
   * Runs the script. Bulk strings in the reply come back as text, or as Buffers with
   * `reply: 'buffer'` (for a binary reply, e.g. MessagePack).
   */
  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly Argument[],
    reply: 'text' | 'buffer' = 'text',
  ): Promise<unknown> {
    const scripting = client as unknown as Scripting;
    const buffers = reply === 'buffer';
    try {
      return await scripting[buffers ? 'evalshaBuffer' : 'evalsha'](
        this.sha,
        keys.length,
        ...keys,
        ...args,
      );
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return scripting[buffers ? 'evalBuffer' : 'eval'](this.source, keys.length, ...keys, ...args);
    }
  }
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
