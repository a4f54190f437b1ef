import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';

/** Runs the built CLI (`npm test` builds dist/ first). */
function cli(...args: string[]) {
  const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

function demo(seed: number): string[] {
  const lines: string[] = [];
  runDemo({ addresses: 5_000, requests: 40_000, ipv6Share: 0.3, top: 7, seed }, (line) =>
    lines.push(line),
  );
  return lines;
}

describe('hitwarden demo', () => {
  it('prints the top rows, counts descending, from a reproducible synthetic day', () => {
    const lines = demo(3);
    const rows = lines.filter((line) => /^\s+\d+\s{2}\S+\s+\d+$/.test(line));
    expect(rows).toHaveLength(7);
    const counts = rows.map((row) => Number(row.trim().split(/\s+/)[2]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(lines[0]).toMatch(/^hitwarden demo: 40,000 requests from [\d,]+ distinct addresses/);
    // Same seed, same day: everything but the timing line is identical.
    expect(demo(3).slice(0, -1)).toEqual(lines.slice(0, -1));
    expect(demo(4).slice(0, -1)).not.toEqual(lines.slice(0, -1));
  });
});

describe('hitwarden demo options', () => {
  it.each([
    ['--addresses', '0'],
    ['--addresses', '1.5'],
    ['--requests', '-5'],
    ['--requests', 'many'],
    ['--ipv6-share', '2'],
    ['--top', '-1'],
    ['--seed', 'NaN'],
  ])('refuses %s %s with a one-line error and exit code 2', (flag, value) => {
    const run = cli('demo', flag, value);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(run.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('exits 2 on an unknown flag and 0 for --help', () => {
    expect(cli('demo', '--frobnicate').status).toBe(2);
    const help = cli('demo', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--addresses');
  });
});
