import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * `hitwarden analyze` as a user runs it: the built binary in a child process, its stdout and
 * stderr apart, its exit code.
 */

const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'hitwarden-cli-analyze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string | Buffer) {
  return spawnSync(process.execPath, [bin, 'analyze', ...args], {
    encoding: 'utf8',
    ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }),
  });
}

const line = (ip: string, second: number, request: string, status: number) =>
  `${ip} - - [01/Dec/2026:10:00:${String(second).padStart(2, '0')} +0000] "${request} HTTP/1.1" ${status} 12 "-" "curl/8"\n`;
const LOG = [
  line('203.0.113.9', 0, 'GET /', 200),
  ...Array.from({ length: 8 }, (_, i) => line('203.0.113.9', 1 + i, 'POST /login', 401)),
  line('198.51.100.4', 10, 'GET /search?q=x', 200),
  'not a log line\n',
  line('2001:db8::7', 11, 'GET /', 404),
].join('');
const logFile = join(dir, 'access.log');
const gzFile = join(dir, 'access.log.2');
writeFileSync(logFile, LOG);
writeFileSync(gzFile, gzipSync(LOG));
const bansFile = join(dir, 'bans.yaml');
writeFileSync(
  bansFile,
  'login_failed:\n  match: { method: POST, path: /login, status: 401 }\n  thresholds:\n    - { limit: 3, window: 60, action_duration: 600, action: [blockLocal] }\n',
);
const strictFile = join(dir, 'strict.yaml');
writeFileSync(
  strictFile,
  'login_failed:\n  match: { path: /login, status: 4xx }\n  thresholds:\n    - { limit: 20, window: 60, action_duration: 600 }\nnot_found:\n  match: { status: 404 }\n  thresholds:\n    - { limit: 0, window: 60, action_duration: 60 }\n',
);

describe('hitwarden analyze', () => {
  it('prints JSON that parses, with the report and every trip, and nothing on stderr', () => {
    const result = run([logFile, '--bans', bansFile, '--output', 'json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.top).toEqual([
      { ip: '203.0.113.9', count: 9 },
      { ip: '198.51.100.4', count: 1 },
      { ip: '2001:db8::7', count: 1 },
    ]);
    expect(report.malformed).toMatchObject({
      count: 1,
      first: [{ file: logFile, line: 11, reason: 'bad client address' }],
    });
    expect(report.status).toMatchObject({ '2xx': 2, '4xx': 9 });
    expect(report.trips).toEqual([
      {
        time: '2026-12-01T10:00:04.000Z',
        token: '203.0.113.9',
        metric: 'login_failed',
        threshold: 0,
        action: 'blockLocal',
        shadow: false,
      },
    ]);
    expect(
      report.routes.map((r: { method: string; path: string }) => `${r.method} ${r.path}`),
    ).toEqual(['POST /login', 'GET /', 'GET /search']);
  });

  it('compares two bans files: who each bans that the other does not', () => {
    const report = JSON.parse(
      run([logFile, '--bans', bansFile, '--compare', strictFile, '--output', 'json']).stdout,
    );
    expect(report.compare).toMatchObject({
      first: bansFile,
      second: strictFile,
      onlyFirst: [
        { token: '203.0.113.9', time: '2026-12-01T10:00:04.000Z', metric: 'login_failed' },
      ],
      onlySecond: [{ token: '2001:db8::7', time: '2026-12-01T10:00:11.000Z', metric: 'not_found' }],
      both: 0,
    });
  });

  it('reads gzip by its bytes, from a file or from stdin, to the same report', () => {
    const plain = JSON.parse(run([logFile, '--output', 'json']).stdout);
    const gz = JSON.parse(run([gzFile, '--output', 'json']).stdout);
    const stdin = run(['-', '--output', 'json'], gzipSync(LOG));
    expect(stdin.status).toBe(0);
    const piped = JSON.parse(stdin.stdout);
    for (const report of [gz, piped]) {
      expect(report.top).toEqual(plain.top);
      expect(report.routes).toEqual(plain.routes);
    }
    expect(piped.files).toEqual(['-']);
  });

  it('detects JSON lines and reads them with the field names given', () => {
    const jsonl = join(dir, 'lb.jsonl');
    writeFileSync(
      jsonl,
      `${JSON.stringify({ src: '203.0.113.5', at: '2026-12-01T10:00:00Z', method: 'GET', path: '/x?y=1', code: 200 })}\n{"broken":\n`,
    );
    const report = JSON.parse(
      run([jsonl, '--fields', 'ip=src,time=at,status=code', '--output', 'json']).stdout,
    );
    expect(report.top).toEqual([{ ip: '203.0.113.5', count: 1 }]);
    expect(report.routes[0]).toMatchObject({ method: 'GET', path: '/x', count: 1 });
    expect(report.malformed.byReason).toEqual({ 'not JSON': 1 });
  });

  it('reads several files in order as one stream', () => {
    const report = JSON.parse(run([logFile, gzFile, '--output', 'json']).stdout);
    expect(report.lines).toBe(24);
    expect(report.top[0]).toEqual({ ip: '203.0.113.9', count: 18 });
  });

  it('writes CSV with a header row', () => {
    const result = run([logFile, '--bans', bansFile, '--output', 'csv']);
    const rows = result.stdout.trim().split('\n');
    expect(rows[0]).toBe(
      'section,key,count,time,metric,threshold,action,file,peak_60s,peak_600s,peak_3600s',
    );
    expect(rows).toContain('client,203.0.113.9,9,,,,,,,,');
    expect(
      rows.some((row) =>
        row.startsWith('trip,203.0.113.9,,2026-12-01T10:00:04.000Z,login_failed,0,blockLocal,'),
      ),
    ).toBe(true);
  });

  it('prints a table for a person, and no progress bar when stderr is not a terminal', () => {
    const result = run([logFile, '--bans', bansFile, '--since', '2026-12-01T10:00:05Z']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Top 3 clients');
    expect(result.stdout).toMatch(/5 outside --since\/--until/);
  });

  it('draws a progress line on stderr when stderr is a terminal, and wipes it', () => {
    // util-linux's script(1) runs the command on a pseudo-terminal; stdout goes to a file.
    const out = join(dir, 'tty-out.json');
    const big = join(dir, 'big.log');
    writeFileSync(big, LOG.repeat(20_000));
    const typescript = join(dir, 'typescript');
    const result = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${bin} analyze ${big} --output json > ${out}`, typescript],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(0);
    const terminal = readFileSync(typescript, 'latin1');
    expect(terminal).toMatch(/\[[#.]{24}\] \d+% \d+ MB read, [\d.]+M lines\/s/);
    expect(terminal).toContain('\r\x1b[K');
    expect(JSON.parse(readFileSync(out, 'utf8')).lines).toBe(12 * 20_000);
  });

  it('exits 2 with one line naming the file for a missing log or bans file, and for usage errors', () => {
    const cases: [string[], RegExp][] = [
      [[join(dir, 'nope.log')], /nope\.log: no such file/],
      [[logFile, '--bans', join(dir, 'nope.yaml')], /nope\.yaml: cannot read the bans file/],
      [[logFile, '--compare', strictFile], /--compare needs --bans/],
      [[logFile, '--windows', '0'], /--windows/],
      [[logFile, '--since', 'yesterday'], /--since/],
      [[logFile, '--output', 'xml'], /--output/],
      [[logFile, '--format', 'apache'], /--format/],
    ];
    for (const [args, message] of cases) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('exits 2 for a bans file with a bad match, naming where', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'x:\n  match: { status: 42 }\n  thresholds:\n    - { limit: 1, window: 1, action_duration: 1 }\n',
    );
    const result = run([logFile, '--bans', bad]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/bad\.yaml: bans\.x\.match\.status: must be a status code/);
  });

  it('exits 1 after reporting what it read of a gzip stream cut short', () => {
    const whole = gzipSync(LOG.repeat(200));
    const cut = join(dir, 'cut.gz');
    writeFileSync(cut, whole.subarray(0, whole.length - 20));
    const result = run([cut, '--output', 'json']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cut\.gz: gzip stream cut short/);
    expect(JSON.parse(result.stdout).readErrors).toHaveLength(1);
  });

  it('stops quietly when the reader of its output goes away', async () => {
    const child = spawn(process.execPath, [bin, 'analyze', logFile, '--output', 'csv'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
