import { type Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { EXAMPLE_BANS_FILE, loadBansFile } from '../banhammer/bans-file.js';
import { ConfigError } from '../errors.js';
import { ClientAddress } from '../http/client-address.js';
import type { Service } from '../service/app.js';
import { dashboardBuilt } from '../service/static.js';
import { integerArgument } from './options.js';

/*
 * `hitwarden serve`: the service (src/service/) on a port, with its options from flags or
 * the environment (a flag wins). A usage error — a bad flag, a bans file that does not
 * validate — is one line on stderr and exit 2; a port that cannot be had, exit 1. SIGTERM and
 * SIGINT drain (requests in flight finish, streams end, the store closes) and exit 0.
 */

interface ServeOptions {
  port: number;
  host: string;
  bans?: string;
  redis?: string;
  trustProxy?: string[];
  adminToken?: string;
  demoTraffic?: boolean;
  logLevel: string;
  state?: string;
  saveEvery: number;
  rollover?: string;
  tz?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** Longest wait for requests in flight at shutdown before exiting anyway. */
const DRAIN_MS = 10_000;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'run the HTTP service: demo routes behind the guard, JSON and admin API, /metrics, the dashboard',
    )
    .addOption(
      new Option('--port <n>', 'port to listen on (0: any free one)')
        .env('HITWARDEN_PORT')
        .argParser(integerArgument(0, 65_535))
        .default(8080),
    )
    .addOption(
      new Option('--host <address>', 'address to bind (the API has no token: keep it private)')
        .env('HITWARDEN_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option(
        '--bans <file>',
        'bans configuration, YAML or JSON (default: the bundled example)',
      ).env('HITWARDEN_BANS'),
    )
    .addOption(
      new Option('--redis <url>', 'keep counters and bans in Redis (default: in memory)')
        .env('HITWARDEN_REDIS')
        .argParser(redisUrl),
    )
    .addOption(
      new Option(
        '--trust-proxy <cidrs>',
        'comma-separated proxies whose X-Forwarded-For is believed',
      )
        .env('HITWARDEN_TRUST_PROXY')
        .argParser(cidrList),
    )
    .addOption(
      new Option('--admin-token <token>', 'bearer token of the admin API (off without one)').env(
        'HITWARDEN_ADMIN_TOKEN',
      ),
    )
    .addOption(
      new Option('--demo-traffic', 'send synthetic clients and attackers through the service').env(
        'HITWARDEN_DEMO_TRAFFIC',
      ),
    )
    .addOption(
      new Option('--state <dir>', 'save the engines to this folder, restore them at start').env(
        'HITWARDEN_STATE',
      ),
    )
    .addOption(
      new Option('--save-every <seconds>', 'with --state: seconds between saves (and at shutdown)')
        .env('HITWARDEN_SAVE_EVERY')
        .argParser(integerArgument(1, 86_400))
        .default(60),
    )
    .addOption(
      new Option(
        '--rollover <HH:MM>',
        'with --state: when the tracker starts a new day (default 00:00)',
      ).env('HITWARDEN_ROLLOVER'),
    )
    .addOption(
      new Option('--tz <zone>', 'with --state: the time zone of --rollover (default UTC)').env(
        'HITWARDEN_TZ',
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'pino log level')
        .env('HITWARDEN_LOG_LEVEL')
        .choices(LOG_LEVELS)
        .default('info'),
    )
    .action((options: ServeOptions) => runServe(options));
}

/**
 * The service's module, loaded only here: it runs on Fastify, an optional peer dependency of
 * the package (a user of the library or of the Express adapter never installs it), so the
 * other commands, and this one's usage errors, never need it.
 */
async function loadService(): Promise<typeof import('../service/app.js').createService> {
  try {
    return (await import('../service/app.js')).createService;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes("'fastify'")) {
      process.stderr.write(
        'hitwarden serve runs on Fastify, an optional peer dependency: npm install fastify@5\n',
      );
      process.exit(2);
    }
    throw error;
  }
}

async function runServe(options: ServeOptions): Promise<void> {
  const stateless = options.state === undefined || options.state === '';
  if (stateless && (options.rollover !== undefined || options.tz !== undefined)) {
    usage('--rollover and --tz need --state: the days are kept in its folder');
  }
  const file = options.bans ?? EXAMPLE_BANS_FILE;
  let bans: ReturnType<typeof loadBansFile>;
  try {
    bans = loadBansFile(file);
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const logger = pino({ level: options.logLevel, base: { service: 'hitwarden' } });
  const createService = await loadService();
  let service: Service;
  try {
    service = await createService({
      bans,
      redis: options.redis,
      trustProxy: options.trustProxy,
      // An empty HITWARDEN_ADMIN_TOKEN= is no token: the admin routes stay off.
      adminToken: options.adminToken === '' ? undefined : options.adminToken,
      demoTraffic: options.demoTraffic === true,
      logger,
      state:
        options.state === undefined || options.state === ''
          ? undefined
          : { dir: options.state, saveEverySeconds: options.saveEvery },
      rollover: { time: options.rollover ?? '00:00', zone: options.tz ?? 'UTC' },
    });
  } catch (error) {
    if (error instanceof ConfigError) usage(error.message);
    throw error;
  }
  let url: string;
  try {
    url = await service.listen(options.port, options.host);
  } catch (error) {
    await service.close().catch(() => {});
    fail(`cannot listen on ${options.host}:${options.port}: ${messageOf(error)}`);
  }
  logger.info(
    {
      url,
      store: service.context.store,
      bans: file,
      demo: service.context.demo,
      admin: service.context.admin,
      dashboard: dashboardBuilt(),
    },
    'listening',
  );
  process.stderr.write(
    `hitwarden serve: dashboard at ${url}/ (${service.context.store} store${
      service.context.demo ? ', demo traffic' : ''
    }${service.context.admin ? ', admin API on' : ''})\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    const forced = setTimeout(() => {
      logger.warn('requests still in flight after 10 s: exiting anyway');
      process.exit(1);
    }, DRAIN_MS);
    forced.unref();
    service.close().then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function redisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a redis:// URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidArgumentError(
      `expected a redis:// or rediss:// URL, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function cidrList(value: string): string[] {
  const list = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  try {
    new ClientAddress({ trustProxy: list }, 'trust-proxy');
  } catch (error) {
    throw new InvalidArgumentError(messageOf(error));
  }
  return list;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A usage error: one line, exit 2. */
function usage(message: string): never {
  process.stderr.write(`hitwarden serve: ${message}\n`);
  process.exit(2);
}

/** A failure that is not the user's command line: one line, exit 1. */
function fail(message: string): never {
  process.stderr.write(`hitwarden serve: ${message}\n`);
  process.exit(1);
}
