import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countOption, flag, option } from '../args.js';
import { machine as host, writeResults } from '../results.js';
import { median, spread } from '../stats.js';

/*
 * npm run bench:analyze [-- --lines 2000000 --rounds 3 --only hitwarden]
 * npm run bench:analyze -- --quick     smoke run: 200k lines, 1 round (results in analyze-quick.*)
 *
 * `hitwarden analyze` as a user runs it (the built CLI, its own process) on one generated
 * combined log (`hitwarden gen-log`, seed 1, cached under the system's temp folder), beside
 * the tools a user reaches for, in the same run, contestants taking turns round by round:
 * GoAccess (`--log-format=COMBINED -o report.json`), the sort pipeline and the awk hash that
 * only count addresses, and a plain Node script (readline + one regex + a Map). Wall time
 * gives lines/s; GNU time's maximum resident set gives the peak memory — for a pipeline, that
 * of its largest process. Results: bench/results/analyze.md and analyze.json.
 */

const quick = flag('quick');
const lines = countOption('lines', quick ? 200_000 : 2_000_000);
const rounds = countOption('rounds', quick ? 1 : 3);
const only = option('only', '');
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'dist/cli/main.js');
const bans = join(root, 'examples/analyze-bans.yaml');
const strict = join(root, 'examples/analyze-bans-strict.yaml');
const peer = join(root, 'bench/analyze/readline-peer.mjs');

const cache = join(tmpdir(), 'hitwarden-bench-analyze');
mkdirSync(cache, { recursive: true });
const log = join(cache, `gen-${lines}-seed1.log`);
const gz = `${log}.gz`;
const sh = (command: string) =>
  spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
if (!existsSync(log)) {
  console.log(`generating ${log} (${lines.toLocaleString('en-US')} lines)`);
  if (
    sh(
      `node ${bin} gen-log --lines ${lines} --seed 1 --attackers 20 > ${log}.tmp && mv ${log}.tmp ${log}`,
    ).status !== 0
  ) {
    throw new Error('gen-log failed');
  }
}
if (!existsSync(gz)) sh(`gzip -c ${log} > ${gz}.tmp && mv ${gz}.tmp ${gz}`);
const bytes = statSync(log).size;

interface Contestant {
  name: string;
  command: string;
  /** Lines the command reads (twice the log for the flatness check). */
  lines: number;
  needs?: string;
}
const analyze = `node ${bin} analyze`;
const goaccessReport = join(cache, 'report.json');
const contestants: Contestant[] = [
  {
    name: 'hitwarden analyze --bans',
    command: `${analyze} ${log} --output json --bans ${bans}`,
    lines,
  },
  {
    name: 'hitwarden analyze --bans --compare',
    command: `${analyze} ${log} --output json --bans ${bans} --compare ${strict}`,
    lines,
  },
  {
    name: 'hitwarden analyze --bans (gzip)',
    command: `${analyze} ${gz} --output json --bans ${bans}`,
    lines,
  },
  { name: 'hitwarden analyze (reports only)', command: `${analyze} ${log} --output json`, lines },
  {
    name: 'hitwarden analyze --bans, the log twice',
    command: `${analyze} ${log} ${log} --output json --bans ${bans}`,
    lines: 2 * lines,
  },
  {
    name: 'hitwarden analyze --bans --threads 1',
    command: `${analyze} ${log} --output json --bans ${bans} --threads 1`,
    lines,
  },
  {
    name: 'GoAccess',
    command: `goaccess ${log} --log-format=COMBINED -o ${goaccessReport}`,
    lines,
    needs: 'goaccess',
  },
  {
    name: 'awk | sort | uniq -c | sort -rn',
    command: `awk '{print $1}' ${log} | sort | uniq -c | sort -rn | head -100`,
    lines,
  },
  {
    name: 'awk hash | sort -rn',
    command: `awk '{c[$1]++} END {for (k in c) print c[k], k}' ${log} | sort -rn | head -100`,
    lines,
  },
  { name: 'Node readline + regex + Map', command: `node ${peer} ${log}`, lines },
  { name: 'Node readline + regex + Map (gzip)', command: `node ${peer} ${gz}`, lines },
].filter((c) => only === '' || c.name.includes(only));

const available = contestants.filter((c) => {
  if (c.needs === undefined || spawnSync('sh', ['-c', `command -v ${c.needs}`]).status === 0)
    return true;
  console.log(
    `skipping ${c.name}: ${c.needs} is not installed (Debian: apt-get install ${c.needs})`,
  );
  return false;
});

interface Sample {
  seconds: number;
  rssMB: number;
}
const samples = new Map<string, Sample[]>(available.map((c) => [c.name, []]));
const failed = new Map<string, string>();
const rssFile = join(cache, 'rss.txt');
for (let round = 0; round < rounds; round++) {
  for (const c of available) {
    if (failed.has(c.name)) continue;
    const start = performance.now();
    const result = spawnSync(
      '/usr/bin/time',
      ['-f', '%M', '-o', rssFile, 'sh', '-c', `${c.command} > /dev/null`],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const seconds = (performance.now() - start) / 1000;
    if (result.status !== 0) {
      failed.set(c.name, result.stderr.trim().split('\n').slice(-3).join(' / '));
      console.log(`${c.name}: failed (${failed.get(c.name)}); left out`);
      continue;
    }
    const rssMB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
    samples.get(c.name)!.push({ seconds, rssMB });
    console.log(
      `round ${round + 1}  ${c.name.padEnd(42)} ${(c.lines / seconds / 1e6).toFixed(2)}M lines/s  ${rssMB.toFixed(0)} MB  (load ${loadavg()[0]!.toFixed(2)})`,
    );
  }
}

const rows = available
  .filter((c) => samples.get(c.name)!.length > 0)
  .map((c) => {
    const s = samples.get(c.name)!;
    const rates = s.map((x) => c.lines / x.seconds);
    return {
      name: c.name,
      command: c.command,
      lines: c.lines,
      rates,
      median: median(rates),
      ...spread(rates),
      rssMB: median(s.map((x) => x.rssMB)),
      seconds: s.map((x) => x.seconds),
    };
  });
const byName = (name: string) => rows.find((r) => r.name === name);
const awkHash = byName('awk hash | sort -rn');
const goaccess = byName('GoAccess');
const fmt = (rate: number) => `${(rate / 1e6).toFixed(2)}M`;
const ratio = (r: { median: number }, base: { median: number } | undefined) =>
  base === undefined ? '–' : `${(r.median / base.median).toFixed(2)}×`;
const table = [
  '| contestant | lines/s (median) | range | × awk hash | × GoAccess | peak RSS (MB) |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name.replaceAll('|', '\\|')} | ${fmt(r.median)} | ${fmt(r.min)}–${fmt(r.max)} | ${ratio(r, awkHash)} | ${ratio(r, goaccess)} | ${r.rssMB.toFixed(0)} |`,
  ),
].join('\n');
const machine = host();
const markdown = `# bench:analyze — hitwarden analyze beside the usual tools

\`npm run bench:analyze -- --lines ${lines} --rounds ${rounds}\` on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}.
One generated combined log (\`hitwarden gen-log --lines ${lines} --seed 1 --attackers 20\`, ${(bytes / 1e6).toFixed(0)} MB, and its gzip), each contestant
run ${rounds} times, taking turns round by round. lines/s is the log's lines over the wall time of the whole command (start-up
included); peak RSS is GNU time's maximum resident set (for a pipeline, its largest process). \`awk\` is ${spawnSync('sh', ['-c', 'readlink -f $(command -v awk)'], { encoding: 'utf8' }).stdout.trim()}.

${table}

- hitwarden runs every report (top clients, routes with peaks over 60/600/3600 s, status classes, malformed lines) and,
  with \`--bans\`, the BanHammer replay of examples/analyze-bans.yaml (\`--compare\`: and of analyze-bans-strict.yaml);
  the awk and Node peers only count addresses. "the log twice" reads the same log two times over (same clients,
  twice the lines): its peak RSS beside the single read shows memory flat in the log's length.
${failed.size === 0 ? '' : `- Left out after failing: ${[...failed].map(([n, e]) => `${n} (${e})`).join('; ')}\n`}`;
const files = writeResults(
  quick ? 'analyze-quick' : 'analyze',
  { machine, lines, rounds, bytes, rows },
  markdown,
);
console.log(`\n${table}\n\nwritten: ${files.markdown}`);
