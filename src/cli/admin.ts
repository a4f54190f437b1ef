import { type Command, Option } from 'commander';
import { EXAMPLE_BANS_FILE, loadBansFile } from '../banhammer/bans-file.js';
import { ConfigError } from '../errors.js';
import type { BanRow } from '../service/bans-pages.js';
import { type AdminBackend, CliFailure, HttpBackend, RedisBackend } from './admin-client.js';
import { integerArgument } from './options.js';
import { type Column, type Format, render } from './output.js';

/*
 * The admin commands, hitwarden's fail2ban-client / cscli: `bans list|add|remove`, `top`,
 * `status TOKEN`, against a running service (`--url`, the admin token from
 * HITWARDEN_ADMIN_TOKEN) or straight against Redis (`--redis`, with `--bans` for the
 * metrics). Output as a table, `--json` or `--csv`. Exit 0 when done, 2 for a usage error,
 * 1 when the service or Redis cannot be reached or refuses: one line on stderr, no stack.
 */

interface Common {
  url?: string;
  redis?: string;
  bans?: string;
  json?: boolean;
  csv?: boolean;
}

const DEFAULT_URL = 'http://127.0.0.1:8080';

function withCommon(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', `a running service (default: HITWARDEN_URL, or ${DEFAULT_URL})`),
    )
    .addOption(
      new Option('--redis <url>', 'straight to the Redis the service uses (or HITWARDEN_REDIS)'),
    )
    .addOption(
      new Option(
        '--bans <file>',
        'with --redis: the bans file the service runs (default: the bundled example)',
      ).env('HITWARDEN_BANS'),
    )
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV');
}

export function registerAdmin(program: Command): void {
  const bans = program.command('bans').description('list, add or remove bans');
  withCommon(
    bans
      .command('list')
      .description('the tokens with a ban in force')
      .option('--limit <n>', 'rows at most', integerArgument(1, 1_000_000), 1000),
  ).action((options: Common & { limit: number }) =>
    run(options, async (backend, format) => {
      const rows = await backend.listBans(options.limit);
      return render(format, rows, BAN_COLUMNS, rows);
    }),
  );
  withCommon(
    bans
      .command('add')
      .description('ban a token now, at a metric and threshold')
      .argument('<token>', 'the token (an address, or an IPv6 /64 prefix)')
      .requiredOption('--metric <name>', 'the metric whose threshold bans it')
      .option('--threshold <n>', 'the threshold index', integerArgument(0, 9_999), 0),
  ).action((token: string, options: Common & { metric: string; threshold: number }) =>
    run(options, async (backend, format) => {
      const added = await backend.addBan(token, options.metric, options.threshold);
      return render(
        format,
        [added],
        [
          { title: 'token', value: (r) => r.token },
          { title: 'metric', value: (r) => r.metric },
          { title: 'threshold', value: (r) => r.threshold },
          { title: 'until', value: (r) => new Date(r.until).toISOString() },
        ],
        added,
      );
    }),
  );
  withCommon(
    bans
      .command('remove')
      .description('lift every ban of a token')
      .argument('<token>', 'the token'),
  ).action((token: string, options: Common) =>
    run(options, async (backend, format) => {
      const removed = await backend.removeBan(token);
      return render(
        format,
        [removed],
        [
          { title: 'token', value: (r) => r.token },
          { title: 'lifted', value: (r) => r.lifted },
        ],
        removed,
      );
    }),
  );
  withCommon(
    program
      .command('top')
      .description("the service's top client addresses")
      .option('-n, --n <n>', 'rows', integerArgument(1, 1000), 20),
  ).action((options: Common & { n: number }) =>
    run(options, async (backend, format) => {
      const top = await backend.top(options.n);
      return render(
        format,
        top.rows.map((row, i) => ({ rank: i + 1, ...row })),
        [
          { title: 'rank', value: (r) => r.rank },
          { title: 'address', value: (r) => r.ip },
          { title: 'requests', value: (r) => r.count },
          { title: 'share', value: (r) => `${(r.share * 100).toFixed(2)}%` },
          { title: 'banned', value: (r) => (r.banned ? 'yes' : 'no') },
        ],
        top,
      );
    }),
  );
  withCommon(
    program
      .command('status')
      .description("a token's rates and bans on every metric")
      .argument('<token>', 'the token'),
  ).action((token: string, options: Common) =>
    run(options, async (backend, format) => {
      const status = await backend.status(token);
      const rows = Object.entries(status.metrics).map(([metric, s]) => ({ metric, ...s }));
      return render(
        format,
        rows,
        [
          { title: 'metric', value: (r) => r.metric },
          { title: '1m', value: (r) => r.token_rate_1m },
          { title: '10m', value: (r) => r.token_rate_10m },
          { title: '60m', value: (r) => r.token_rate_60m },
          {
            title: 'blocked_until',
            value: (r) =>
              r.blocked_until === null ? null : new Date(r.blocked_until).toISOString(),
          },
          { title: 'tiers', value: (r) => r.bans.map((b) => b.threshold).join(' ') || null },
        ],
        status,
      );
    }),
  );
}

const BAN_COLUMNS: readonly Column<BanRow>[] = [
  { title: 'token', value: (r) => r.token },
  { title: 'metric', value: (r) => r.metric },
  { title: 'threshold', value: (r) => r.threshold },
  { title: 'until', value: (r) => new Date(r.until).toISOString() },
  { title: 'remaining_s', value: (r) => Math.ceil(r.remaining_ms / 1000) },
];

async function run(
  options: Common,
  body: (backend: AdminBackend, format: Format) => Promise<string>,
): Promise<void> {
  let backend: AdminBackend | undefined;
  try {
    if (options.json === true && options.csv === true) {
      throw new CliFailure('give --json or --csv, not both', 2);
    }
    const format: Format = options.json === true ? 'json' : options.csv === true ? 'csv' : 'table';
    backend = await backendOf(options);
    process.stdout.write(await body(backend, format));
  } catch (error) {
    if (error instanceof CliFailure) {
      process.stderr.write(`hitwarden: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(
        `hitwarden: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    await backend?.close().catch(() => {});
  }
}

async function backendOf(options: Common): Promise<AdminBackend> {
  if (options.url !== undefined && options.redis !== undefined) {
    throw new CliFailure('give --url or --redis, not both', 2);
  }
  // A flag wins over the other one's variable: `--redis` with HITWARDEN_URL set is Redis.
  const env = process.env;
  const redis =
    options.redis ??
    (options.url === undefined && env.HITWARDEN_URL === undefined
      ? env.HITWARDEN_REDIS
      : undefined);
  if (redis !== undefined && redis !== '') {
    let bans: ReturnType<typeof loadBansFile>;
    try {
      bans = loadBansFile(options.bans ?? EXAMPLE_BANS_FILE);
    } catch (error) {
      throw new CliFailure(error instanceof ConfigError ? error.message : String(error), 2);
    }
    return RedisBackend.open(redis, bans);
  }
  const url = options.url ?? (env.HITWARDEN_URL || DEFAULT_URL);
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new CliFailure(`--url must be an http(s) URL, got ${JSON.stringify(url)}`, 2);
  }
  return new HttpBackend(url, process.env.HITWARDEN_ADMIN_TOKEN);
}
