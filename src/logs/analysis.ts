import type { BansFile } from '../banhammer/bans-file.js';
import type { LineBatch } from './line-batch.js';
import type { ReaderSummary } from './log-reader.js';
import { BansReplay, type TierTotal, type Trip } from './replay.js';
import { TokenCache } from './token-cache.js';

/*
 * The engines' half of `hitwarden analyze`: one bans replay per bans file, fed the counted
 * lines in batches from the log reader. They run on the main thread; the reader (with the
 * top clients) may run on another. Their state is bounded by the distinct tokens, never by
 * the log's length.
 */

export interface AnalysisOptions {
  /** Bans files to replay, each on its own BanHammer; the second is the `--compare`. */
  readonly replays?: readonly { readonly name: string; readonly file: BansFile }[];
  readonly runActions?: boolean;
}

export interface ReplayReport {
  readonly file: string;
  readonly trips: readonly Trip[];
  readonly tiers: readonly TierTotal[];
}

export interface AnalysisResult extends ReaderSummary {
  readonly replays: readonly ReplayReport[];
}

export class LogAnalysis {
  readonly #tokens = new TokenCache();
  /** The line's address, copied out of the batch: a view per line would be garbage. */
  readonly #address = new Uint32Array(4);
  readonly #replays: BansReplay[];
  /** The log's clock, as the line being counted has it. */
  #now = Number.NEGATIVE_INFINITY;

  constructor(options: AnalysisOptions) {
    const clock = () => this.#now;
    this.#replays = (options.replays ?? []).map(
      ({ name, file }) =>
        new BansReplay(name, file, clock, { runActions: options.runActions === true }),
    );
  }

  /** Counts a batch of lines. */
  consume(batch: LineBatch): void {
    const replays = this.#replays;
    for (const route of batch.newRoutes) for (const replay of replays) replay.routeAdded(route);
    const { family, words, time, status, route } = batch;
    const at = this.#address;
    for (let i = 0; i < batch.length; i++) {
      const f = family[i] as 4 | 6;
      const w = i * 4;
      at[0] = words[w]!;
      at[1] = words[w + 1]!;
      at[2] = words[w + 2]!;
      at[3] = words[w + 3]!;
      this.#now = time[i]!;
      for (let r = 0; r < replays.length; r++) {
        const replay = replays[r]!;
        if (replay.matches(route[i]!, status[i]!))
          replay.line(this.#tokens.textOf(f, at), route[i]!, status[i]!);
      }
    }
  }

  /** Lets the replays' deferred trip events come in; call before `result`. */
  async settled(): Promise<void> {
    for (const replay of this.#replays) await replay.settled();
  }

  async close(): Promise<void> {
    for (const replay of this.#replays) await replay.close();
  }

  result(summary: ReaderSummary): AnalysisResult {
    return {
      ...summary,
      replays: this.#replays.map((replay) => ({
        file: replay.name,
        trips: replay.trips,
        tiers: replay.tiers,
      })),
    };
  }
}
