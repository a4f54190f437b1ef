import { availableParallelism } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type BansFile, readBansFile } from '../banhammer/bans-file.js';
import { ConfigError, HitwardenError } from '../errors.js';
import { DEFAULT_JSON_FIELDS, type JsonField, jsonFieldsOf } from '../logs/jsonl.js';
import { checkInputs } from '../logs/log-input.js';
import { renderReport } from '../logs/report.js';
import { analyzeLogs, type LogFormat } from '../logs/run.js';
import { integerArgument } from './options.js';
import type { Format } from './output.js';
import { ProgressLine } from './progress.js';

/*
 * `hitwarden analyze`: logs through the engines that guard a live service — top clients,
 * route hits and peaks, status classes — and, with `--bans`, a bans file replayed on the
 * log's own timestamps (`--compare`: a second one beside it, in the same pass).
 *
 * Exit codes: 0 when every log was read; 1 when one could not be read to its end (a gzip
 * stream cut short: the report covers what was read, and says so); 2 for a usage error or a
 * missing or unreadable file or bans file, with one line on stderr and nothing on stdout.
 */

interface AnalyzeOptions {
  format: LogFormat;
  fields?: Readonly<Record<JsonField, readonly string[]>>;
  bans?: string;
  compare?: string;
  top: number;
  routes: number;
  windows: number[];
  output: Format;
  since?: number;
  until?: number;
  runActions?: boolean;
  threads: 1 | 2;
}

/** Longest window a route's peak is measured over: a week. */
const MAX_WINDOW_SECONDS = 7 * 86_400;

function windowsArgument(value: string): number[] {
  const windows = value.split(',').map((part) => Number(part.trim()));
  if (
    windows.length === 0 ||
    windows.some((w) => !Number.isInteger(w) || w < 1 || w > MAX_WINDOW_SECONDS)
  ) {
    throw new InvalidArgumentError(
      `expected seconds from 1 to ${MAX_WINDOW_SECONDS}, comma-separated (60,600,3600), got ${JSON.stringify(value)}`,
    );
  }
  return [...new Set(windows)].sort((a, b) => a - b);
}

/** A time for --since/--until: ISO 8601 (a date, or a date and time; UTC unless a zone is
 *  given) or epoch seconds. */
export function timeArgument(value: string): number {
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(value)) ms = Number(value) * 1000;
  else {
    const zoned = /T.*(Z|[+-]\d\d:?\d\d)$/i.test(value) || !value.includes('T');
    ms = Date.parse(zoned ? value : `${value}Z`);
  }
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      `expected an ISO 8601 time (2026-12-01, 2026-12-01T13:00:00Z) or epoch seconds, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

function fieldsArgument(value: string): Readonly<Record<JsonField, readonly string[]>> {
  try {
    return jsonFieldsOf(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^--fields: /, ''));
  }
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description(
      'read access logs (combined, common or JSON lines; plain or gzip) and report top clients, routes and status classes; with --bans, replay a bans file on the log',
    )
    .argument('[files...]', 'logs to read in order, as one stream; - for standard input')
    .addOption(
      new Option('--format <format>', 'log format')
        .choices(['auto', 'combined', 'common', 'jsonl'])
        .default('auto'),
    )
    .option(
      '--fields <pairs>',
      `JSON lines field names, e.g. ip=client,time=ts (fields: ${Object.keys(DEFAULT_JSON_FIELDS).join(', ')})`,
      fieldsArgument,
    )
    .option('--bans <file>', 'replay this bans file (YAML or JSON) on the log')
    .option('--compare <file>', 'replay a second bans file beside --bans and show who each bans')
    .option('--top <n>', 'clients in the top list', integerArgument(1, 1_000_000), 10)
    .option(
      '--routes <n>',
      'routes shown in the table (JSON and CSV hold all)',
      integerArgument(0),
      20,
    )
    .option(
      '--windows <seconds>',
      'windows for the routes’ peak rates',
      windowsArgument,
      [60, 600, 3600],
    )
    .addOption(
      new Option('--output <format>', 'table, json or csv')
        .choices(['table', 'json', 'csv'])
        .default('table'),
    )
    .option(
      '--since <time>',
      'skip lines before this time (ISO 8601 or epoch seconds)',
      timeArgument,
    )
    .option('--until <time>', 'skip lines from this time on', timeArgument)
    .option('--run-actions', 'run the bans file’s actions (default: record what they would do)')
    .addOption(
      new Option('--threads <n>', '2: read and parse on a second thread; 1: all on one')
        .choices(['1', '2'])
        .argParser((value) => Number(value) as 1 | 2)
        .default(availableParallelism() >= 2 ? 2 : 1),
    )
    .action(async (files: string[], options: AnalyzeOptions) => {
      process.exitCode = await runAnalyze(files, options);
    });
}

async function runAnalyze(files: string[], options: AnalyzeOptions): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`hitwarden analyze: ${message}\n`);
    return 2;
  };
  if (options.compare !== undefined && options.bans === undefined) {
    return fail('--compare needs --bans: it compares a second bans file with the first');
  }
  if (
    options.since !== undefined &&
    options.until !== undefined &&
    options.until <= options.since
  ) {
    return fail('--until must be after --since');
  }
  const names = files.length === 0 ? ['-'] : files;
  if (names.filter((name) => name === '-').length > 1)
    return fail('standard input (-) can be read once only');
  if (names.includes('-') && process.stdin.isTTY) {
    return fail('no log given: name a file, or pipe one in (hitwarden analyze - < access.log)');
  }
  const replays: { name: string; file: BansFile }[] = [];
  try {
    const inputs = await checkInputs(names);
    for (const name of [options.bans, options.compare]) {
      if (name !== undefined) replays.push({ name, file: readBansFile(name) });
    }
    const total = inputs.every((input) => input.size !== undefined)
      ? inputs.reduce((sum, input) => sum + input.size!, 0)
      : undefined;
    const progress = ProgressLine.wanted(process.stderr)
      ? new ProgressLine(process.stderr, total)
      : undefined;
    const result = await analyzeLogs(inputs, {
      format: options.format,
      jsonFields: options.fields ?? DEFAULT_JSON_FIELDS,
      top: options.top,
      windows: options.windows,
      ...(options.since === undefined ? {} : { since: options.since }),
      ...(options.until === undefined ? {} : { until: options.until }),
      replays,
      runActions: options.runActions === true,
      threads: options.threads,
      ...(progress === undefined
        ? {}
        : { onProgress: (bytes, lines) => progress.update(bytes, lines) }),
    });
    progress?.done();
    await write(renderReport(result, options.output, { routes: options.routes }));
    for (const error of result.readErrors)
      process.stderr.write(`hitwarden analyze: ${error.message}\n`);
    return result.readErrors.length > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof HitwardenError) return fail(error.message);
    throw error;
  }
}

/** Writes the report; a reader that went away (`| head`) ends the run quietly. */
function write(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
    process.stdout.write(text, () => resolve());
  });
}
