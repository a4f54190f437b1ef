import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { SnapshotError, StateFileError } from '../errors.js';
import { loadLatest, saveState } from '../persist/saved-state.js';
import type { LoadStateOptions, StateExport, StateImage } from '../persist/state-image.js';

/*
 * `hitwarden serve --state DIR`: the engines saved to DIR every `--save-every` seconds and on
 * SIGTERM/SIGINT, and restored at start — the memory store before the BanHammer opens it, the
 * others once they exist. One file per engine (tracker.state, store.state, counter.state,
 * long-counter.state, deny-cache.state), each in the checksummed format of
 * src/persist/state-file.ts with its previous generation beside it. A file that is refused is
 * logged at error level with why, counted in /metrics, and the previous generation tried;
 * when neither loads the engine starts empty, and says so.
 *
 * On Redis the store and the deny cache are Redis's to keep; only the tracker and the
 * counters are saved.
 */

/** An engine with a snapshot seam, by the name of its file. */
export interface Saveable {
  readonly name: string;
  /** May take several turns of the event loop (the memory store copies in slices). */
  exportState(): StateExport | Promise<StateExport>;
  loadState(image: StateImage, options?: LoadStateOptions): void;
}

/** How one engine's state was found at start. */
export interface Restored {
  readonly engine: string;
  /** `current`, `previous` (the current file was refused), or `none` (started empty). */
  readonly from: 'current' | 'previous' | 'none';
  /** Why files were refused (empty when all was well). */
  readonly refused: readonly string[];
}

export interface SaveReport {
  readonly ok: boolean;
  readonly ms: number;
  readonly errors: readonly string[];
}

const KINDS: Record<string, string> = {
  tracker: 'hitwarden.ip-tracker',
  store: 'hitwarden.memory-store',
  counter: 'hitwarden.hit-counter',
  'long-counter': 'hitwarden.hit-counter',
  'deny-cache': 'hitwarden.deny-cache',
  service: 'hitwarden.service',
};

/** The kind in a file's header: the engine's image format (`meta.format`). */
const kindOf = (name: string) => KINDS[name] ?? `hitwarden.${name}`;

export class ServiceState {
  readonly dir: string;
  readonly restored: Restored[] = [];
  saves = 0;
  failedSaves = 0;
  lastSave: SaveReport | undefined;
  readonly #logger: FastifyBaseLogger | undefined;
  #engines: Saveable[] = [];
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<SaveReport> | undefined;

  constructor(dir: string, logger: FastifyBaseLogger | undefined) {
    this.dir = dir;
    this.#logger = logger;
  }

  /** Makes the folder (and days/) if needed. */
  async open(): Promise<void> {
    await mkdir(join(this.dir, 'days'), { recursive: true });
  }

  /** Restores one engine from its file, or leaves it empty; never throws for a bad file. */
  async restore(engine: Saveable): Promise<Restored> {
    this.#engines.push(engine);
    const file = join(this.dir, `${engine.name}.state`);
    const latest = await loadLatest(file, kindOf(engine.name));
    const refused = latest.refused.map((error) => error.message);
    let from = latest.from;
    if (latest.state !== undefined) {
      try {
        // Read from the file for this engine alone: its tables may be adopted, not copied.
        engine.loadState(latest.state.image, { adopt: true });
      } catch (error) {
        if (!(error instanceof SnapshotError)) throw error;
        refused.push(`${file}: ${error.message}`);
        from = 'none';
      }
    }
    const restored: Restored = { engine: engine.name, from, refused };
    this.restored.push(restored);
    for (const reason of refused)
      this.#logger?.error({ engine: engine.name, reason }, 'saved state refused');
    if (refused.length > 0) {
      this.#logger?.error(
        { engine: engine.name, from },
        from === 'previous'
          ? 'started from the previous generation of the saved state'
          : 'started EMPTY: no saved state could be loaded',
      );
    } else if (from === 'current') {
      this.#logger?.info({ engine: engine.name, file }, 'state restored');
    }
    return restored;
  }

  /** Saves every engine now (one save at a time; a save asked for during one joins it). */
  save(): Promise<SaveReport> {
    this.#saving ??= this.#saveAll().finally(() => {
      this.#saving = undefined;
    });
    return this.#saving;
  }

  /** Saves every `seconds` (the timer never keeps the process alive). */
  saveEvery(seconds: number): void {
    this.#timer = setInterval(() => {
      void this.save();
    }, seconds * 1000);
    this.#timer.unref();
  }

  /** Stops the timer and saves one last time. */
  async close(): Promise<SaveReport> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#saving;
    return this.save();
  }

  async #saveAll(): Promise<SaveReport> {
    const started = performance.now();
    const errors: string[] = [];
    for (const engine of this.#engines) {
      const exported = await engine.exportState();
      try {
        await saveState(
          join(this.dir, `${engine.name}.state`),
          kindOf(engine.name),
          exported.image,
        );
      } catch (error) {
        if (!(error instanceof StateFileError)) throw error;
        errors.push(error.message);
        this.#logger?.error({ engine: engine.name, reason: error.message }, 'state save failed');
      } finally {
        exported.release();
      }
    }
    this.saves++;
    if (errors.length > 0) this.failedSaves++;
    const report = { ok: errors.length === 0, ms: performance.now() - started, errors };
    this.lastSave = report;
    return report;
  }
}

/** The service's own counts that no engine keeps (the requests the tracker counted this
 *  period, the top list's denominator), as a Saveable. */
export function serviceCounts(read: () => number, write: (requests: number) => void): Saveable {
  return {
    name: 'service',
    exportState: () => ({
      image: { meta: { format: KINDS.service!, version: 1, trackerRequests: read() }, arrays: {} },
      release: () => {},
    }),
    loadState: (image) => {
      const requests = image.meta.trackerRequests;
      if (typeof requests !== 'number' || !Number.isSafeInteger(requests) || requests < 0) {
        throw new SnapshotError('meta.trackerRequests', 'must be a whole number ≥ 0');
      }
      write(requests);
    },
  };
}

/** An engine's snapshot seam under the name of its file. */
export function saveable(
  name: string,
  engine: {
    exportState(): StateExport | Promise<StateExport>;
    loadState(image: StateImage, options?: LoadStateOptions): void;
  },
): Saveable {
  return {
    name,
    exportState: () => engine.exportState(),
    loadState: (image, options) => engine.loadState(image, options),
  };
}
