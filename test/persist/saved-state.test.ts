import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateFileError } from '../../src/errors.js';
import { loadLatest, loadState, previousOf, saveState } from '../../src/persist/saved-state.js';
import { decodeState, READ_SLICE_BYTES } from '../../src/persist/state-file.js';
import type { StateImage } from '../../src/persist/state-image.js';
// @ts-expect-error: a plain ESM fixture without types
import { stateOf } from './fixtures/saver.mjs';

const dir = mkdtempSync(join(tmpdir(), 'hitwarden-saved-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const image = (n: number): StateImage => ({ meta: { n }, arrays: { v: Uint32Array.of(n, n + 1) } });
const fixture = new URL('./fixtures/saver.mjs', import.meta.url).pathname;

describe('saving and loading state files', () => {
  it('keeps the previous generation as .1, and leaves no temporary file', async () => {
    const file = join(dir, 'gen.state');
    await saveState(file, 'test.kind', image(1));
    expect(existsSync(previousOf(file))).toBe(false);
    await saveState(file, 'test.kind', image(2));
    await saveState(file, 'test.kind', image(3));
    expect((await loadState(file, 'test.kind')).image.meta).toEqual({ n: 3 });
    expect((await loadState(previousOf(file), 'test.kind')).image.meta).toEqual({ n: 2 });
    expect(readdirSync(dir).filter((name) => name.startsWith('.gen'))).toEqual([]);
  });

  it('loads the previous generation when the current file is refused, and says why', async () => {
    const file = join(dir, 'fallback.state');
    await saveState(file, 'test.kind', image(1));
    await saveState(file, 'test.kind', image(2));
    writeFileSync(file, 'garbage that is not a state file');
    const latest = await loadLatest(file, 'test.kind');
    expect(latest.from).toBe('previous');
    expect(latest.state!.image.meta).toEqual({ n: 1 });
    expect(latest.refused.map((e) => e.problem)).toEqual(['magic']);

    rmSync(previousOf(file));
    expect(await loadLatest(file, 'test.kind')).toMatchObject({ from: 'none', state: undefined });
    expect(await loadLatest(join(dir, 'never-saved.state'), 'test.kind')).toEqual({
      from: 'none',
      state: undefined,
      refused: [],
    });
  });

  it('a save that fails (file size limit, as on a full disk) leaves the last good file and throws StateFileError', async () => {
    const file = join(dir, 'full.state');
    await saveState(file, 'test.kind', image(7));
    // A child under `ulimit -f` (in 1 KiB blocks): the big state cannot be written.
    const script = `import { saveState } from ${JSON.stringify(new URL('../../dist/persist/saved-state.js', import.meta.url).href)};
      try { await saveState(${JSON.stringify(file)}, 'test.kind', { meta: { n: 8 }, arrays: { v: new Uint32Array(1 << 20) } }); console.log('saved'); }
      catch (e) { console.log(e.constructor.name, e.problem, e.message); }`;
    const child = join(dir, 'full-child.mjs');
    writeFileSync(child, script);
    const result = spawnSync('bash', ['-c', `ulimit -f 64; exec ${process.execPath} ${child}`], {
      encoding: 'utf8',
    });
    expect(result.stdout).toMatch(
      /^StateFileError io .*full\.state: save failed \(writing: EFBIG\); the last good file is untouched/,
    );
    expect((await loadState(file, 'test.kind')).image.meta).toEqual({ n: 7 });
    expect(readdirSync(dir).filter((name) => name.startsWith('.full'))).toEqual([]);
  });

  it('reads a file as decodeState reads its bytes: cut short at every length or a flipped byte anywhere, refused for the same reason', async () => {
    const file = join(dir, 'same.state');
    await saveState(file, 'test.kind', {
      meta: { n: 1, what: 'a small state' },
      arrays: {
        v: Uint32Array.of(1, 2, 0xffffffff),
        t: Float64Array.of(-0, 2.5),
        b: Uint8Array.of(7),
      },
    });
    const bytes = readFileSync(file);
    const damaged = join(dir, 'damaged.state');
    const problemOf = async (load: () => Promise<unknown>) => {
      try {
        await load();
        return 'loaded';
      } catch (error) {
        if (!(error instanceof StateFileError)) throw error;
        return `${error.problem}: ${error.message.replace(/^[^:]*: /, '')}`;
      }
    };
    const cases: Uint8Array[] = [];
    for (let length = 0; length <= bytes.length; length++) cases.push(bytes.subarray(0, length));
    for (let i = 0; i < bytes.length; i++) {
      const copy = Uint8Array.from(bytes);
      copy[i]! ^= 0x10;
      cases.push(copy);
    }
    for (const [k, variant] of cases.entries()) {
      writeFileSync(damaged, variant);
      const fromFile = await problemOf(() => loadState(damaged, 'test.kind'));
      const fromBytes = await problemOf(() => decodeState(variant, damaged, 'test.kind'));
      expect(fromFile, `case ${k}`).toBe(fromBytes);
      expect(fromFile === 'loaded', `case ${k}: ${fromFile}`).toBe(k === bytes.length);
    }
  });

  it('reads tables of many read slices into arrays on SharedArrayBuffers of their own', async () => {
    const file = join(dir, 'big.state');
    const big = new Uint32Array((READ_SLICE_BYTES * 2.5) / 4 + 3).map(
      (_, i) => Math.imul(i, 2654435761) >>> 0,
    );
    const small = Uint8Array.of(1, 2, 3);
    await saveState(file, 'test.kind', { meta: { n: 9 }, arrays: { small, big, after: small } });
    const { image } = await loadState(file, 'test.kind');
    expect(Object.keys(image.arrays)).toEqual(['small', 'big', 'after']);
    for (const [name, expected] of Object.entries({ small, big, after: small })) {
      const got = image.arrays[name]!;
      expect(got.buffer, name).toBeInstanceOf(SharedArrayBuffer);
      expect(got.byteOffset).toBe(0);
      expect(got.buffer.byteLength).toBe(got.byteLength);
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer)), name).toBe(true);
    }
  });

  it('refuses a missing file with StateFileError', async () => {
    await expect(loadState(join(dir, 'nope.state'), 'test.kind')).rejects.toThrow(StateFileError);
  });

  it('survives SIGKILL at any point of a save: 100 kills, and the file left always loads as a state that was saved', async () => {
    const file = join(dir, 'crash.state');
    let next = 1;
    let kills = 0;
    for (let round = 0; round < 100; round++) {
      const child = spawn(process.execPath, [fixture, file, String(next)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      // Wait for the child to be saving (its first line), then kill it somewhere in a save.
      await new Promise<void>((resolve) => {
        const check = () => (output.includes('saved') ? resolve() : setTimeout(check, 1));
        check();
      });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      kills++;
      const saved = [...output.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      const last = saved[saved.length - 1]!;
      const latest = await loadLatest(file, 'test.crash');
      expect(latest.refused).toEqual([]);
      expect(latest.from).toBe('current');
      const n = latest.state!.image.meta.n as number;
      // The last save that returned, or the one in flight when the kill came.
      expect(n === last || n === last + 1, `loaded ${n} after saved ${last}`).toBe(true);
      const expected = stateOf(n) as StateImage;
      expect(
        Buffer.from((latest.state!.image.arrays.data as Uint32Array).buffer).equals(
          Buffer.from((expected.arrays.data as Uint32Array).buffer),
        ),
      ).toBe(true);
      next = n + 1;
    }
    expect(kills).toBe(100);
    expect(readdirSync(dir).filter((name) => name.startsWith('.crash')).length).toBeLessThanOrEqual(
      1,
    );
  }, 120_000);
});
