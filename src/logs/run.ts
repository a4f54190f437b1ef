import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type AnalysisOptions, type AnalysisResult, LogAnalysis } from './analysis.js';
import { type BatchData, LineBatch } from './line-batch.js';
import type { LogInput } from './log-input.js';
import { LogReader, type ReaderOptions, type ReaderSummary } from './log-reader.js';

/*
 * One run of `hitwarden analyze`: a log reader (log-reader.ts) feeding the engines
 * (analysis.ts). With `threads: 2` the reader runs on a worker thread — reading, gunzip,
 * parsing, top clients, routes and status classes on one core, the bans replays on the
 * other — and the two halves trade batches of lines (none without a bans file). With `threads: 1` the same reader runs
 * on the main thread and hands its batches straight over. Both give the same result.
 */

export type { LogFormat } from './log-reader.js';

export interface RunOptions extends Omit<ReaderOptions, 'batches'>, AnalysisOptions {
  /** 2: the reader on a worker thread; 1: everything on this one. @default 2 */
  readonly threads?: 1 | 2;
  /** Told of progress now and then: bytes read from files or stdin so far, lines so far. */
  readonly onProgress?: (rawBytes: number, lines: number) => void;
}

/** Messages from the reader's worker. */
export type WorkerMessage =
  | { readonly type: 'batch'; readonly data: BatchData }
  | { readonly type: 'progress'; readonly rawBytes: number; readonly lines: number }
  | { readonly type: 'done'; readonly summary: ReaderSummary }
  | {
      readonly type: 'failed';
      readonly message: string;
      readonly code: string | undefined;
      readonly stack: string | undefined;
    };

export async function analyzeLogs(
  inputs: readonly LogInput[],
  options: RunOptions,
): Promise<AnalysisResult> {
  const analysis = new LogAnalysis(options);
  try {
    // Standard input can only be read by the main thread's process.stdin.
    const threaded = (options.threads ?? 2) === 2 && !inputs.some((input) => input.name === '-');
    const summary = threaded
      ? await readInWorker(inputs, options, analysis)
      : await readHere(inputs, options, analysis);
    await analysis.settled();
    return analysis.result(summary);
  } finally {
    await analysis.close();
  }
}

async function readHere(
  inputs: readonly LogInput[],
  options: RunOptions,
  analysis: LogAnalysis,
): Promise<ReaderSummary> {
  let lastProgress = 0;
  const reader: LogReader = new LogReader(readerOptions(options), (batch) => {
    analysis.consume(batch);
    reader.recycle(batch);
  });
  return reader.read(inputs, () => {
    const now = performance.now();
    if (options.onProgress === undefined || now - lastProgress < 100) return;
    lastProgress = now;
    options.onProgress(reader.rawBytes, reader.lines);
  });
}

/** The options the reader needs, as plain data for `workerData`. */
function readerOptions(options: RunOptions): ReaderOptions {
  const { format, jsonFields, windows, since, until, malformedShown, maxRoutes, maxLineBytes } =
    options;
  return {
    format,
    top: options.top,
    batches: (options.replays?.length ?? 0) > 0,
    jsonFields,
    windows,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(malformedShown === undefined ? {} : { malformedShown }),
    ...(maxRoutes === undefined ? {} : { maxRoutes }),
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  };
}

/** The worker's script: the built one, or — running from the sources, as the tests do — a
 *  stub that registers tsx (a devDependency) and imports the TypeScript one. */
function workerScript(): URL {
  const built = new URL('./read-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  // tsx/esm/api's ESM entry, found from its package.json (require.resolve gives the CJS one).
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(tsxPackage)).href;
  const source = new URL('./read-worker.ts', import.meta.url).href;
  const stub = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(source)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(stub)}`);
}

function readInWorker(
  inputs: readonly LogInput[],
  options: RunOptions,
  analysis: LogAnalysis,
): Promise<ReaderSummary> {
  const worker = new Worker(workerScript(), {
    workerData: { inputs, options: readerOptions(options) },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, summary?: ReaderSummary) => {
      if (settled) return;
      settled = true;
      if (error !== undefined) {
        void worker.terminate();
        reject(error);
      } else resolve(summary!);
    };
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'batch': {
          const batch = new LineBatch(message.data);
          try {
            analysis.consume(batch);
          } catch (error) {
            finish(error as Error);
            return;
          }
          const [data, buffers] = batch.data();
          worker.postMessage(data, buffers);
          break;
        }
        case 'progress':
          options.onProgress?.(message.rawBytes, message.lines);
          break;
        case 'done':
          finish(undefined, message.summary);
          break;
        case 'failed': {
          const error = new Error(message.message);
          if (message.stack !== undefined) error.stack = message.stack;
          finish(message.code === undefined ? error : Object.assign(error, { code: message.code }));
          break;
        }
      }
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) =>
      finish(new Error(`the log reader's thread stopped (exit code ${code}) before it was done`)),
    );
  });
}
