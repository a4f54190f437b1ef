import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LogReadError } from '../errors.js';

/*
 * The bytes of the logs `hitwarden analyze` reads: files or standard input (`-`), each plain
 * or gzip. Gzip is told by its magic bytes (1f 8b), never by the name, because rotated logs
 * are named every way (`access.log.1`, `access.log.2.gz`, `access-20261201`). A gzip file of
 * several members (logrotate's `delaycompress` plus `cat`) reads as one stream.
 */

/** How much is read at a time: big enough that per-chunk costs vanish, small enough that the
 *  chunk's text (a latin1 copy) stays a few MB. */
export const CHUNK_BYTES = 1 << 20;

/** One log to read. */
export interface LogInput {
  /** As given: a path, or `-` for standard input. */
  readonly name: string;
  /** Bytes on disk (compressed, for gzip), for progress; `undefined` for stdin or a pipe. */
  readonly size: number | undefined;
}

/**
 * Checks that every named file can be opened before any is read, so a typo in the third of
 * three names is a one-line error at once rather than after minutes of output. Throws
 * `LogReadError` naming the file.
 */
export async function checkInputs(names: readonly string[]): Promise<LogInput[]> {
  const inputs: LogInput[] = [];
  for (const name of names) {
    if (name === '-') {
      inputs.push({ name, size: undefined });
      continue;
    }
    try {
      const handle = await open(name, 'r');
      try {
        const stat = await handle.stat();
        if (stat.isDirectory()) throw new LogReadError(name, 'is a directory, not a log file');
        inputs.push({ name, size: stat.isFile() ? stat.size : undefined });
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof LogReadError) throw error;
      throw new LogReadError(name, describeOpenError(error), { cause: error });
    }
  }
  return inputs;
}

function describeOpenError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a log file';
  return `cannot be read (${code ?? String(error)})`;
}

/**
 * The decompressed bytes of one log, chunk by chunk. `onRaw` is told how many bytes were read
 * from the file or pipe itself (before gunzip), for progress. Throws `LogReadError` for a
 * read that fails or a gzip stream that is corrupt or cut short, after yielding every byte
 * that could be decoded.
 */
export async function* logChunks(
  input: LogInput,
  onRaw: (bytes: number) => void = () => {},
): AsyncGenerator<Buffer> {
  const raw: Readable =
    input.name === '-'
      ? process.stdin
      : createReadStream(input.name, { highWaterMark: CHUNK_BYTES });
  const counted = countRaw(raw, onRaw);
  try {
    const first = await counted.next();
    if (first.done) return;
    const head = first.value;
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      yield* gunzipped(input.name, head, counted);
    } else {
      yield head;
      for (;;) {
        const next = await counted.next();
        if (next.done) break;
        yield next.value;
      }
    }
  } catch (error) {
    if (error instanceof LogReadError) throw error;
    throw new LogReadError(
      input.name,
      `read failed (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      {
        cause: error,
      },
    );
  } finally {
    if (raw !== process.stdin) (raw as ReadStream).destroy();
  }
}

async function* countRaw(raw: Readable, onRaw: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    const buffer = chunk as Buffer;
    onRaw(buffer.length);
    yield buffer;
  }
}

async function* gunzipped(
  name: string,
  head: Buffer,
  rest: AsyncGenerator<Buffer>,
): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  let failure: unknown;
  // The compressed side is pumped by hand so that back-pressure holds: a write waits for the
  // gunzip's buffer to drain, and the loop below drains it.
  const pump = (async () => {
    try {
      if (!gunzip.write(head)) await drained(gunzip);
      for (;;) {
        if (gunzip.destroyed) return; // the reader stopped or the data was corrupt
        const next = await rest.next();
        if (next.done) break;
        if (!gunzip.write(next.value)) await drained(gunzip);
      }
      if (!gunzip.destroyed) gunzip.end();
    } catch (error) {
      failure = error;
      gunzip.destroy(error as Error);
    }
  })();
  let decoded = 0;
  try {
    for await (const chunk of gunzip) {
      decoded += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (error) {
    if (failure !== undefined) throw failure;
    const code = (error as NodeJS.ErrnoException).code;
    const rule =
      code === 'Z_BUF_ERROR'
        ? `gzip stream cut short after ${decoded} bytes of text`
        : `corrupt gzip data after ${decoded} bytes of text (${(error as Error).message})`;
    throw new LogReadError(name, rule, { cause: error });
  } finally {
    gunzip.destroy();
    await pump;
  }
  if (failure !== undefined) throw failure;
}

/** Resolves when `stream` can take more, or is gone (a destroyed stream never drains; the
 *  pump then sees `destroyed` and stops). */
function drained(stream: NodeJS.WritableStream & { destroyed: boolean }): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
