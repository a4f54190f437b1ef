import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach } from 'vitest';
import type { BansConfig } from '../../src/banhammer/config.js';
import { createService, type Service, type ServiceOptions } from '../../src/service/app.js';

/*
 * Services for the tests: in this process on a free port (createService), or the built CLI
 * as a user runs it (`npm test` builds dist/ first), each reached only through fetch.
 */

/** Short bans so a test can climb a tier in about a second. */
export const TEST_BANS: BansConfig = {
  login_failed: {
    thresholds: [
      { limit: 2, window: 60, action: [], action_duration: 1 },
      { limit: 4, window: 60, action: [], action_duration: 60 },
    ],
  },
  login_successful: {
    thresholds: [{ limit: 10, window: 60, action: [], action_duration: 60 }],
  },
  request: { thresholds: [{ limit: 1000, window: 60, action: [], action_duration: 60 }] },
};

export interface Running {
  readonly url: string;
  readonly service: Service;
  close(): Promise<void>;
}

export async function startService(options: Partial<ServiceOptions> = {}): Promise<Running> {
  const service = await createService({ bans: TEST_BANS, ...options });
  const url = await service.listen(0, '127.0.0.1');
  return { url, service, close: () => service.close() };
}

export const BIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

export interface Spawned {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
  stdout(): string;
  exited: Promise<number | null>;
}

/** `hitwarden serve --port 0 …`, resolved once it prints its URL. */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${err}`));
    }, 15_000);
    child.stderr!.on('data', (chunk) => {
      err += chunk;
      const match = /dashboard at (http:\/\/\S+?)\/ /.exec(err);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, stderr: () => err, stdout: () => out, exited });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
}

/**
 * `spawnServe` for a test file whose services must be gone after each test, even one whose
 * assertion failed midway (a leaked service would hold its port and CPU for the whole run).
 * Call it at the file's top level.
 */
export function spawnServeCleanedUp(): (args: string[]) => Promise<Spawned> {
  const started: Spawned[] = [];
  afterEach(() => {
    for (const served of started.splice(0)) {
      if (served.child.exitCode === null) served.child.kill('SIGKILL');
    }
  });
  return async (args) => {
    const served = await spawnServe(args);
    started.push(served);
    return served;
  };
}

export async function login(url: string, password: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username: 'demo', password }),
  });
}

export async function json(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 8000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Prometheus text exposition format 0.0.4, parsed strictly enough to catch a broken page:
 * every sample line is `name{labels} value`, every family has HELP and TYPE before its
 * samples, label values are quoted with escapes, values are numbers (or ±Inf/NaN).
 */
export interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count', '_total']) {
      if (suffix !== '' && !sample.endsWith(suffix)) continue;
      const family = families.get(sample.slice(0, sample.length - suffix.length));
      if (family !== undefined) return family;
    }
    return undefined;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let match = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (match !== null) {
      const [, kind, name, rest] = match;
      const family = families.get(name!) ?? { type: '', help: '', samples: [] };
      if (kind === 'HELP') family.help = rest!;
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) {
          throw new Error(`bad TYPE line: ${line}`);
        }
        family.type = rest!;
      }
      families.set(name!, family);
      continue;
    }
    if (line.startsWith('#')) continue;
    match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/.exec(line);
    if (match === null) throw new Error(`bad sample line: ${line}`);
    const [, name, , labelText, valueText] = match;
    const value =
      valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText!.toLowerCase() !== 'nan')
      throw new Error(`bad value: ${line}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let at = 0;
      while (at < labelText.length) {
        label.lastIndex = at;
        const m = label.exec(labelText);
        if (m === null) throw new Error(`bad labels: ${line}`);
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = label.lastIndex;
      }
    }
    const family = familyOf(name!);
    if (family === undefined || family.type === '')
      throw new Error(`sample before its TYPE: ${line}`);
    family.samples.push({ name: name!, labels, value });
  }
  return families;
}
