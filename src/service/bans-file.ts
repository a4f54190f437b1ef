import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Action } from '../banhammer/action.js';
import { blockLocal } from '../banhammer/actions/block-local.js';
import { recordLocal } from '../banhammer/actions/record-local.js';
import { reportCentral } from '../banhammer/actions/report-central.js';
import {
  type BansConfig,
  compileBans,
  type MetricConfig,
  metricPath,
} from '../banhammer/config.js';
import { ConfigError, quoteInput } from '../errors.js';

/*
 * A bans configuration from a file, for `hitwarden serve --bans` and the admin CLI. The file
 * is YAML (JSON is YAML too, but a `.json` file is read with JSON.parse, whose errors say
 * where). A file cannot hold functions, so an action is named: "blockLocal",
 * { recordLocal: { path } } or { reportCentral: { url, timeoutMs?, retries?, backoffMs? } };
 * `action` may be left out (no action: the ban alone). Everything else is the library's own
 * bans configuration, validated by `compileBans`, so an error names the same paths
 * (`bans.login_failed.thresholds[0].limit`).
 */

/** The example bundled with the package: three login_failed tiers, login_successful, request. */
export const EXAMPLE_BANS_FILE = fileURLToPath(
  new URL('../../examples/bans.yaml', import.meta.url),
);

/** Reads and validates a bans file; throws `ConfigError` whose message starts with the file. */
export function loadBansFile(file: string): BansConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(file, `cannot read the bans file (${code})`, { cause: error });
  }
  return parseBans(text, file);
}

/** Parses bans text (YAML, or JSON when `file` ends in .json). */
export function parseBans(text: string, file: string): BansConfig {
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
    const bans = bansOf(raw);
    compileBans(bans);
    return bans;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${file}: ${error.path}`, error.message.slice(error.path.length + 2), {
        cause: error,
      });
    }
    throw error;
  }
}

function bansOf(raw: unknown): BansConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('bans', 'must be a mapping of metric names to { thresholds: [...] }');
  }
  // A Map: a metric may be named `__proto__` like any other string.
  const bans = new Map<string, MetricConfig>();
  for (const [metric, value] of Object.entries(raw)) {
    if (value === null || typeof value !== 'object' || !Array.isArray(value.thresholds)) {
      bans.set(metric, value as MetricConfig); // compileBans says what is wrong with it
      continue;
    }
    const thresholds = (value.thresholds as unknown[]).map((threshold, i) => {
      if (threshold === null || typeof threshold !== 'object') return threshold;
      const { action, ...rest } = threshold as { action?: unknown };
      const path = `${metricPath(metric)}.thresholds[${i}].action`;
      return { ...rest, action: actionsOf(path, action) };
    });
    bans.set(metric, { ...value, thresholds } as MetricConfig);
  }
  return bans;
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
