import { parentPort, workerData } from 'node:worker_threads';
import { HitwardenError } from '../errors.js';
import { type BatchData, LineBatch } from './line-batch.js';
import type { LogInput } from './log-input.js';
import { LogReader, type ReaderOptions } from './log-reader.js';
import type { WorkerMessage } from './run.js';

/*
 * The log reader on a thread of its own (see run.ts): it reads, gunzips, parses and settles
 * everything that needs only the lines, and posts the counted lines in batches to the main
 * thread, which counts them in the engines and posts each batch back to be refilled. At most
 * `IN_FLIGHT` batches are out at once, so a reader faster than the engines waits instead of
 * filling memory.
 */

const IN_FLIGHT = 8;

const { inputs, options } = workerData as { inputs: LogInput[]; options: ReaderOptions };
const port = parentPort!;
let out = 0;
let wake: (() => void) | undefined;
let lastProgress = 0;

const post = (message: WorkerMessage, transfer?: ArrayBuffer[]) =>
  port.postMessage(message, transfer);

const reader = new LogReader(options, (batch) => {
  const [data, buffers] = batch.data();
  post({ type: 'batch', data }, buffers);
  out++;
  if (out < IN_FLIGHT) return undefined;
  return new Promise<void>((resolve) => {
    wake = resolve;
  });
});

port.on('message', (data: BatchData) => {
  reader.recycle(new LineBatch(data));
  out--;
  const waiting = wake;
  wake = undefined;
  waiting?.();
});

try {
  const summary = await reader.read(inputs, () => {
    const now = performance.now();
    if (now - lastProgress < 100) return;
    lastProgress = now;
    post({ type: 'progress', rawBytes: reader.rawBytes, lines: reader.lines });
  });
  post({ type: 'done', summary });
} catch (error) {
  post({
    type: 'failed',
    message: error instanceof Error ? error.message : String(error),
    code: error instanceof HitwardenError ? error.code : undefined,
    stack: error instanceof Error ? error.stack : undefined,
  });
}
port.close();
