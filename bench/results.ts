/*
 * Where every benchmark writes its figures: bench/results/<name>.json (the raw rounds) and
 * <name>.md (the summary), replaced by each full run; their history is git's. BENCH_RESULTS_DIR
 * sends them elsewhere (a smoke run that must not touch the committed figures).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function resultsDirectory(): string {
  return process.env.BENCH_RESULTS_DIR || fileURLToPath(new URL('./results/', import.meta.url));
}

export interface ResultFiles {
  json: string;
  markdown: string;
}

/**
 * Writes `<name>.json` and `<name>.md`. `indent` is the JSON's (the tracker's raw file is large,
 * and keeps 1).
 */
export function writeResults(
  name: string,
  data: unknown,
  markdown: string,
  indent = 2,
): ResultFiles {
  const directory = resultsDirectory();
  mkdirSync(directory, { recursive: true });
  const files = { json: join(directory, `${name}.json`), markdown: join(directory, `${name}.md`) };
  writeFileSync(files.json, `${JSON.stringify(data, null, indent)}\n`);
  writeFileSync(files.markdown, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return files;
}

/** The machine a figure was measured on, recorded beside it. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}
