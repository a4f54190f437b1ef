import { LogReadError } from '../errors.js';
import { type AnalysisOptions, type AnalysisResult, LogAnalysis } from './analysis.js';
import { looksCombined, parseCombined, parseCommon } from './clf.js';
import { type JsonField, jsonLineParser } from './jsonl.js';
import { LineSplitter } from './line-splitter.js';
import { type LogInput, logChunks } from './log-input.js';
import { type LineParser, LogLine } from './log-line.js';

/*
 * One run of `hitwarden analyze`: the logs read in order as one stream, each cut into lines,
 * each line parsed by its file's format and counted. A malformed line is counted and the run
 * goes on; a file that cannot be read to its end (a gzip stream cut short) keeps what was read
 * and the run goes on with the next.
 */

export type LogFormat = 'auto' | 'combined' | 'common' | 'jsonl';

export interface RunOptions extends AnalysisOptions {
  readonly format: LogFormat;
  readonly jsonFields: Readonly<Record<JsonField, readonly string[]>>;
  /** Told of progress: bytes read from disk or stdin so far, lines so far. */
  readonly onProgress?: (rawBytes: number, lines: number) => void;
  readonly maxLineBytes?: number;
}

/** Picks a format from a file's first line: `{` is JSON lines; else combined when the line
 *  has the two quoted fields after the size, common otherwise. */
export function detectFormat(text: string, start: number, end: number): Exclude<LogFormat, 'auto'> {
  let i = start;
  while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (text.charCodeAt(i) === 123) return 'jsonl';
  const probe = new LogLine();
  if (looksCombined(text, start, end, probe)) return 'combined';
  return parseCommon(text, start, end, Buffer.alloc(0), probe) === undefined
    ? 'common'
    : 'combined';
}

export async function analyzeLogs(
  inputs: readonly LogInput[],
  options: RunOptions,
): Promise<AnalysisResult> {
  const analysis = new LogAnalysis(options);
  const parsers: Record<Exclude<LogFormat, 'auto'>, LineParser> = {
    combined: parseCombined,
    common: parseCommon,
    jsonl: jsonLineParser(options.jsonFields),
  };
  const line = analysis.line;
  let file = '';
  let parser: LineParser | undefined;
  const splitter = new LineSplitter(
    {
      line(text, start, end, bytes, number) {
        analysis.lines++;
        if (parser === undefined) {
          // Blank lines before the first line of a file say nothing of its format.
          if (start === end) return analysis.malformed(file, number, 'empty line');
          parser =
            parsers[options.format === 'auto' ? detectFormat(text, start, end) : options.format];
        }
        const reason = parser(text, start, end, bytes, line);
        if (reason === undefined) analysis.counted();
        else analysis.malformed(file, number, reason);
      },
      tooLong(number) {
        analysis.lines++;
        analysis.malformed(file, number, 'line too long');
      },
    },
    options.maxLineBytes,
  );
  let raw = 0;
  const onRaw = (bytes: number) => {
    raw += bytes;
  };
  try {
    for (const input of inputs) {
      file = input.name;
      parser = undefined;
      analysis.fileStarted(file);
      try {
        for await (const chunk of logChunks(input, onRaw)) {
          splitter.push(chunk);
          options.onProgress?.(raw, analysis.lines);
        }
      } catch (error) {
        if (!(error instanceof LogReadError)) throw error;
        analysis.readFailed(file, error.message);
      }
      splitter.end();
    }
    await analysis.settled();
    return analysis.result();
  } finally {
    await analysis.close();
  }
}
