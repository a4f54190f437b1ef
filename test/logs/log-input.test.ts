import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LogReadError } from '../../src/errors.js';
import { checkInputs, logChunks } from '../../src/logs/log-input.js';

const dir = mkdtempSync(join(tmpdir(), 'hitwarden-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(name: string): Promise<{ text: string; error?: LogReadError }> {
  const [input] = await checkInputs([name]);
  const parts: Buffer[] = [];
  try {
    for await (const chunk of logChunks(input!)) parts.push(chunk);
  } catch (error) {
    return { text: Buffer.concat(parts).toString(), error: error as LogReadError };
  }
  return { text: Buffer.concat(parts).toString() };
}

const TEXT = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}\n`).join('');

describe('log input', () => {
  it('tells gzip by its magic bytes, whatever the name', async () => {
    writeFileSync(join(dir, 'access.log.1'), gzipSync(TEXT));
    writeFileSync(join(dir, 'plain.gz'), TEXT);
    expect((await readAll(join(dir, 'access.log.1'))).text).toBe(TEXT);
    expect((await readAll(join(dir, 'plain.gz'))).text).toBe(TEXT);
  });

  it('reads a gzip file of several members as one stream', async () => {
    writeFileSync(join(dir, 'members.gz'), Buffer.concat([gzipSync('a\n'), gzipSync('b\n')]));
    expect((await readAll(join(dir, 'members.gz'))).text).toBe('a\nb\n');
  });

  it('keeps what a gzip stream cut short decoded, then says it was cut short', async () => {
    const whole = gzipSync(TEXT);
    writeFileSync(join(dir, 'cut.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const { text, error } = await readAll(join(dir, 'cut.gz'));
    expect(error).toBeInstanceOf(LogReadError);
    expect(error!.message).toMatch(/cut\.gz: gzip stream cut short after \d+ bytes of text/);
    expect(text.length).toBeGreaterThan(0);
    expect(TEXT.startsWith(text)).toBe(true);
  });

  it('says a gzip stream is corrupt', async () => {
    const whole = Buffer.from(gzipSync(TEXT));
    whole.fill(0x55, 20, 60);
    writeFileSync(join(dir, 'corrupt.gz'), whole);
    const { error } = await readAll(join(dir, 'corrupt.gz'));
    expect(error).toBeInstanceOf(LogReadError);
    expect(error!.message).toMatch(/corrupt\.gz: corrupt gzip data/);
  });

  it('refuses a missing file, a directory and an unreadable file before reading any', async () => {
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'secret.log'), 'x\n');
    chmodSync(join(dir, 'secret.log'), 0o000);
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.log'), /missing\.log: no such file/],
      [join(dir, 'folder'), /folder: is a directory/],
    ];
    // root reads any file whatever its mode: the permission case only means something as a user.
    if (process.getuid?.() !== 0)
      cases.push([join(dir, 'secret.log'), /secret\.log: permission denied/]);
    for (const [name, message] of cases) {
      await expect(checkInputs([join(dir, 'plain.gz'), name])).rejects.toThrow(message);
    }
  });

  it('reads an empty file as no lines', async () => {
    writeFileSync(join(dir, 'empty.log'), '');
    expect(await readAll(join(dir, 'empty.log'))).toEqual({ text: '' });
  });
});
