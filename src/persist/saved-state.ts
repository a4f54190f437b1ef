import { link, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StateFileError } from '../errors.js';
import { type DecodedState, encodeState, readState, type StateSource } from './state-file.js';
import type { StateImage } from './state-image.js';

/*
 * A state file on disk, saved so that a crash at any instant leaves a file that loads, and
 * loaded so that a damaged one is refused and the one before it tried.
 *
 * Saving writes a temporary file in the same folder (a rename is atomic only within one file
 * system), fsyncs it, keeps the current file as `<file>.1` by a hard link (so the target
 * exists at every instant), renames the temporary file over the target, and fsyncs the
 * folder, which is what makes the renames themselves survive a power cut. A save that fails
 * — disk full, permission, anything — removes its temporary file, leaves the last good file
 * as it was, and throws `StateFileError` (`io`).
 */

/** Bytes handed to one write call: the file is written a slice at a time from the engines'
 *  own memory, each write done off the event loop by libuv. Small enough that the thread
 *  copying it into the page cache never holds a core for long: on two cores, 4 MiB writes
 *  starved V8's parallel scavenger of its helper thread, and young collections the request
 *  loop beside a save waits for went from under 3 ms to 5–8 ms. */
const WRITE_SLICE_BYTES = 1 << 20;

/** The previous generation of `file`. */
export const previousOf = (file: string) => `${file}.1`;

export interface SaveOptions {
  /** Epoch ms recorded as the file's creation time. @default Date.now() */
  readonly createdAt?: number;
  /** Keep the file being replaced as `<file>.1`. @default true */
  readonly keepPrevious?: boolean;
}

/** Saves `image` as a `kind` state at `file` (see the file's comment for the steps). */
export async function saveState(
  file: string,
  kind: string,
  image: StateImage,
  options: SaveOptions = {},
): Promise<void> {
  const encoded = await encodeState(kind, image, options.createdAt ?? Date.now());
  await replaceFile(
    file,
    async (handle) => {
      await writeAll(handle, encoded.header);
      for (const part of encoded.parts) await writeAll(handle, part);
    },
    options.keepPrevious !== false,
  );
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/**
 * Replaces `file` with what `write` writes, so that a crash at any instant leaves the old
 * file or the new one, whole: a temporary file in the same folder, fsynced, renamed over the
 * target, the folder fsynced; with `keepPrevious`, the old file stays as `<file>.1`. Throws
 * `StateFileError` (`io`) with the last good file untouched.
 */
export async function replaceFile(
  file: string,
  write: (handle: FileHandle) => Promise<void>,
  keepPrevious: boolean,
): Promise<void> {
  const folder = dirname(file);
  await removeStaleTemporaries(folder, basename(file));
  const temporary = join(folder, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fail = (step: string, error: unknown) =>
    new StateFileError(
      file,
      'io',
      `save failed (${step}: ${(error as NodeJS.ErrnoException).code ?? String(error)}); the last good file is untouched`,
      { cause: error },
    );
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', 0o600);
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw fail('writing', error);
  }
  try {
    if (keepPrevious) await keepPreviousOf(file);
    await rename(temporary, file);
    await syncFolder(folder);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw fail('replacing', error);
  }
}

/** Removes the temporary files of saves that died half-way (a process killed mid-write):
 *  those of processes no longer running, and this one's own from a failed save. */
async function removeStaleTemporaries(folder: string, base: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return; // the save itself will say what is wrong with the folder
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || (pid !== process.pid && running(pid))) continue;
    await unlink(join(folder, name)).catch(() => {});
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes all of `bytes`, a slice per call (each done off the event loop by libuv). */
async function writeAll(
  handle: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const end = Math.min(bytes.length, at + WRITE_SLICE_BYTES);
    const { bytesWritten } = await handle.write(bytes, at, end - at);
    at += bytesWritten;
  }
}

/** `<file>.1` becomes what `file` is now, atomically: a hard link to it, renamed into place. */
async function keepPreviousOf(file: string): Promise<void> {
  const staged = `${previousOf(file)}.${process.pid}.tmp`;
  await unlink(staged).catch(() => {});
  try {
    await link(file, staged);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // no current file yet
    throw error;
  }
  await rename(staged, previousOf(file));
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads and checks a `kind` state file; throws `StateFileError` saying what is wrong. The
 *  image's tables are fresh arrays of their own, which an engine may adopt. */
export async function loadState(file: string, kind: string): Promise<DecodedState> {
  const cannotRead = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    return new StateFileError(
      file,
      'io',
      code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(error)})`,
      { cause: error },
    );
  };
  let handle: FileHandle;
  let length: number;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw cannotRead(error);
  }
  try {
    try {
      length = (await handle.stat()).size;
    } catch (error) {
      throw cannotRead(error);
    }
    const source: StateSource = {
      length,
      read: async (into, position) => {
        for (let done = 0; done < into.length; ) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(into, done, into.length - done, position + done));
          } catch (error) {
            throw cannotRead(error);
          }
          if (bytesRead === 0) {
            throw new StateFileError(
              file,
              'truncated',
              `cut short while it was read (${position + done} of ${length} bytes)`,
            );
          }
          done += bytesRead;
        }
      },
    };
    return await readState(source, file, kind);
  } finally {
    await handle.close().catch(() => {});
  }
}

/** What `loadLatest` found: the state and where it came from, and every file it refused. */
export interface LatestState {
  readonly state: DecodedState | undefined;
  /** `current`: the file itself; `previous`: `<file>.1`, the file being refused;
   *  `none`: neither loaded (or neither exists), start empty. */
  readonly from: 'current' | 'previous' | 'none';
  /** Files that exist and were refused, with why: the caller must say so loudly. */
  readonly refused: readonly StateFileError[];
}

/** The newest state that loads: `file`, else `<file>.1`, else none. Never throws for a
 *  damaged or missing file; a refused one is in `refused`. */
export async function loadLatest(file: string, kind: string): Promise<LatestState> {
  const refused: StateFileError[] = [];
  for (const [candidate, from] of [
    [file, 'current'],
    [previousOf(file), 'previous'],
  ] as const) {
    try {
      return { state: await loadState(candidate, kind), from, refused };
    } catch (error) {
      if (!(error instanceof StateFileError)) throw error;
      const missing =
        error.problem === 'io' &&
        (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      if (!missing) refused.push(error);
    }
  }
  return { state: undefined, from: 'none', refused };
}
