import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError, quoteInput } from '../errors.js';
import { type LineMatch, lineMatchOf } from '../logs/line-match.js';
import type { Action } from './action.js';
import { blockLocal } from './actions/block-local.js';
import { recordLocal } from './actions/record-local.js';
import { reportCentral } from './actions/report-central.js';
import { type BansConfig, compileBans, type MetricConfig, metricPath } from './config.js';

/*
 * A bans configuration from a file, for `hitwarden serve --bans` and the admin CLI. The file
 * is YAML (JSON is YAML too, but a `.json` file is read with JSON.parse, whose errors say
 * where). A file cannot hold functions, so an action is named: "blockLocal",
 * { recordLocal: { path } } or { reportCentral: { url, timeoutMs?, retries?, backoffMs? } };
 * `action` may be left out (no action: the ban alone). A metric may carry a `match` beside its
 * thresholds, which `hitwarden analyze` uses to pick a log's lines for it (src/logs/line-match.ts)
 * and the service, which counts metrics by route, ignores. Everything else is the library's own
 * bans configuration, validated by `compileBans`, so an error names the same paths
 * (`bans.login_failed.thresholds[0].limit`).
 */

/** The example bundled with the package: three login_failed tiers, login_successful, request. */
export const EXAMPLE_BANS_FILE = fileURLToPath(
  new URL('../../examples/bans.yaml', import.meta.url),
);

/** A bans file with the `match` of each metric that has one. */
export interface BansFile {
  readonly bans: BansConfig;
  readonly matches: ReadonlyMap<string, LineMatch>;
}

/** Reads and validates a bans file; throws `ConfigError` whose message starts with the file. */
export function loadBansFile(file: string): BansConfig {
  return readBansFile(file).bans;
}

/** {@link loadBansFile} with each metric's `match`. */
export function readBansFile(file: string): BansFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(file, `cannot read the bans file (${code})`, { cause: error });
  }
  return parseBansFile(text, file);
}

/** Parses bans text (YAML, or JSON when `file` ends in .json). */
export function parseBans(text: string, file: string): BansConfig {
  return parseBansFile(text, file).bans;
}

/** {@link parseBans} with each metric's `match`. */
export function parseBansFile(text: string, file: string): BansFile {
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(
      file,
      `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`,
      {
        cause: error,
      },
    );
  }
  try {
    const parsed = bansOf(raw);
    compileBans(parsed.bans);
    return parsed;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${file}: ${error.path}`, error.message.slice(error.path.length + 2), {
        cause: error,
      });
    }
    throw error;
  }
}

function bansOf(raw: unknown): BansFile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('bans', 'must be a mapping of metric names to { thresholds: [...] }');
  }
  // A Map: a metric may be named `__proto__` like any other string.
  const bans = new Map<string, MetricConfig>();
  const matches = new Map<string, LineMatch>();
  for (const [metric, entry] of Object.entries(raw)) {
    if (entry === null || typeof entry !== 'object' || !Array.isArray(entry.thresholds)) {
      bans.set(metric, entry as MetricConfig); // compileBans says what is wrong with it
      continue;
    }
    const { match, ...value } = entry as { match?: unknown; thresholds: unknown[] };
    if (match !== undefined) matches.set(metric, lineMatchOf(`${metricPath(metric)}.match`, match));
    const thresholds = value.thresholds.map((threshold, i) => {
      if (threshold === null || typeof threshold !== 'object') return threshold;
      const { action, ...rest } = threshold as { action?: unknown };
      const path = `${metricPath(metric)}.thresholds[${i}].action`;
      return { ...rest, action: actionsOf(path, action) };
    });
    bans.set(metric, { ...value, thresholds } as MetricConfig);
  }
  return { bans, matches };
}

function actionsOf(path: string, value: unknown): Action[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(path, 'must be a list of actions');
  return value.map((entry, i) => actionOf(`${path}[${i}]`, entry));
}

function actionOf(path: string, entry: unknown): Action {
  if (entry === 'blockLocal') return blockLocal;
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
    const names = Object.keys(entry);
    const name = names[0];
    const options = (entry as Record<string, unknown>)[name ?? ''];
    if (names.length === 1) {
      try {
        if (name === 'recordLocal') return recordLocal(options as never);
        if (name === 'reportCentral') return reportCentral(options as never);
      } catch (error) {
        if (error instanceof ConfigError) {
          // recordLocal.path → <path>.recordLocal.path
          throw new ConfigError(
            `${path}.${error.path}`,
            error.message.slice(error.path.length + 2),
          );
        }
        throw error;
      }
    }
  }
  throw new ConfigError(
    path,
    `must be "blockLocal", { recordLocal: { path } } or { reportCentral: { url } }, got ${quoteInput(entry)}`,
  );
}
