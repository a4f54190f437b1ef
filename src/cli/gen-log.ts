import { writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Command } from 'commander';
import { AccessLogGenerator } from '../synth/access-log.js';
import { integerArgument, numberArgument } from './options.js';

/*
 * `hitwarden gen-log`: a synthetic day of an nginx combined access log on stdout (gzip with
 * --gzip), the same bytes for the same seed, and with --truth a JSON file of what `analyze`
 * must find in it (see src/synth/access-log.ts). For trying analyze, for tests, and for
 * `npm run bench:analyze`.
 */

interface GenLogOptions {
  lines: number;
  seed: number;
  attackers: number;
  ipv6Share: number;
  truth?: string;
  gzip?: boolean;
}

export function registerGenLog(program: Command): void {
  program
    .command('gen-log')
    .description(
      'write a synthetic combined access log (Zipf clients, a diurnal curve, login brute-forcers) to stdout',
    )
    .option('--lines <n>', 'lines to write', integerArgument(0, 1e10), 100_000)
    .option('--seed <n>', 'random seed (same seed, same log)', integerArgument(0, 2 ** 32 - 1), 1)
    .option(
      '--attackers <k>',
      'brute-force attackers on POST /login',
      integerArgument(0, 100_000),
      5,
    )
    .option('--ipv6-share <fraction>', 'share of clients on IPv6', numberArgument(0, 1), 0.2)
    .option('--truth <file>', 'also write the ground truth (JSON) to this file')
    .option('--gzip', 'gzip the output')
    .action(async (options: GenLogOptions) => {
      const generator = new AccessLogGenerator({
        lines: options.lines,
        seed: options.seed,
        attackers: options.attackers,
        ipv6Share: options.ipv6Share,
      });
      const out: NodeJS.WritableStream = options.gzip ? createGzip() : process.stdout;
      if (options.gzip) (out as ReturnType<typeof createGzip>).pipe(process.stdout);
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(0);
        throw error;
      });
      for (const text of generator.text()) {
        if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
      }
      if (options.gzip) {
        out.end();
        await finished(out as ReturnType<typeof createGzip>);
      }
      if (options.truth !== undefined) {
        try {
          writeFileSync(options.truth, `${JSON.stringify(generator.truth())}\n`);
        } catch (error) {
          process.stderr.write(
            `hitwarden gen-log: ${options.truth}: cannot write the truth file (${(error as NodeJS.ErrnoException).code ?? error})\n`,
          );
          process.exitCode = 2;
        }
      }
    });
}
