/*
 * Re-renders a tracker benchmark summary from its raw results, without running anything:
 *   node --import tsx bench/tracker/render.ts [bench/results/tracker.json]
 * Writes the .md beside the .json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type BenchMeta, type BenchRun, renderMarkdown } from './report.js';

const jsonPath = process.argv[2] ?? 'bench/results/tracker.json';
const { meta, runs } = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
  meta: BenchMeta;
  runs: BenchRun[];
};
const mdPath = jsonPath.replace(/\.json$/, '.md');
writeFileSync(mdPath, renderMarkdown(meta, runs));
console.log(`wrote ${mdPath}`);
