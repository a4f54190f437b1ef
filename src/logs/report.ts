import { type Column, type Format, render } from '../cli/output.js';
import type { AnalysisResult } from './analysis.js';
import { type Comparison, compareReplays } from './compare.js';
import type { RouteReport } from './log-reader.js';
import type { TierTotal, Trip } from './replay.js';

/*
 * What `hitwarden analyze` prints. JSON is the whole result, with times in ISO 8601; a table
 * is a report for a person, section by section; CSV is one table with a `section` column, so
 * a spreadsheet or `grep '^route,'` can take the part it wants.
 */

export interface ReportOptions {
  /** Routes shown in the table (JSON and CSV hold them all). */
  readonly routes: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tripJson(trip: Trip) {
  return {
    time: iso(trip.time),
    token: trip.token,
    metric: trip.metric,
    threshold: trip.threshold,
    action: trip.action,
    shadow: trip.shadow,
  };
}

function tierJson(tier: TierTotal) {
  return {
    metric: tier.metric,
    threshold: tier.threshold,
    limit: tier.limit,
    window: tier.windowSeconds,
    duration: tier.durationSeconds,
    shadow: tier.shadow,
    action: tier.action,
    trips: tier.trips,
    tokens: tier.tokens.size,
  };
}

function comparisonJson(comparison: Comparison) {
  const differences = (list: Comparison['onlyFirst']) =>
    list.map((d) => ({
      token: d.token,
      time: iso(d.time),
      metric: d.metric,
      threshold: d.threshold,
    }));
  return {
    first: comparison.first,
    second: comparison.second,
    onlyFirst: differences(comparison.onlyFirst),
    onlySecond: differences(comparison.onlySecond),
    both: comparison.both,
  };
}

/** The comparison of the first two replays, when there are two. */
function comparisonOf(result: AnalysisResult): Comparison | undefined {
  const [first, second] = result.replays;
  return first !== undefined && second !== undefined ? compareReplays(first, second) : undefined;
}

/** The result as one JSON-safe value: `trips` and `tiers` are the first bans file's; with
 *  `--compare`, `compare` holds the second's and the differences. */
export function reportJson(result: AnalysisResult) {
  const [first, second] = result.replays;
  const comparison = comparisonOf(result);
  return {
    files: result.files,
    lines: result.lines,
    parsed: result.parsed,
    skipped: result.skipped,
    firstTime: iso(result.firstTime),
    lastTime: iso(result.lastTime),
    distinctClients: result.distinctClients,
    malformed: result.malformed,
    readErrors: result.readErrors,
    top: result.top,
    windows: result.windows,
    routes: result.routes,
    status: result.status,
    ...(first === undefined
      ? {}
      : { bans: first.file, trips: first.trips.map(tripJson), tiers: first.tiers.map(tierJson) }),
    ...(second === undefined || comparison === undefined
      ? {}
      : {
          compare: {
            bans: second.file,
            trips: second.trips.map(tripJson),
            tiers: second.tiers.map(tierJson),
            ...comparisonJson(comparison),
          },
        }),
  };
}

export function renderReport(
  result: AnalysisResult,
  format: Format,
  options: ReportOptions,
): string {
  if (format === 'json') return `${JSON.stringify(reportJson(result), null, 2)}\n`;
  if (format === 'csv') return csvReport(result);
  return tableReport(result, options);
}

const number = (n: number) => n.toLocaleString('en-US');

function peakColumns(windows: readonly number[]): Column<RouteReport>[] {
  return windows.map((w) => ({
    title: `peak/${w}s`,
    value: (route) => route.peaks[String(w)] ?? 0,
  }));
}

const tripColumns: Column<Trip>[] = [
  { title: 'time', value: (t) => iso(t.time) },
  { title: 'client', value: (t) => t.token },
  { title: 'metric', value: (t) => t.metric },
  { title: 'tier', value: (t) => t.threshold },
  { title: 'action', value: (t) => (t.shadow ? `${t.action} (shadow: not enforced)` : t.action) },
];

const tierColumns: Column<TierTotal>[] = [
  { title: 'metric', value: (t) => t.metric },
  { title: 'tier', value: (t) => t.threshold },
  { title: 'rule', value: (t) => `>${t.limit} in ${t.windowSeconds}s → ${t.durationSeconds}s ban` },
  { title: 'mode', value: (t) => (t.shadow ? 'shadow' : 'enforce') },
  { title: 'action', value: (t) => t.action },
  { title: 'trips', value: (t) => t.trips },
  { title: 'clients', value: (t) => t.tokens.size },
];

function tableReport(result: AnalysisResult, options: ReportOptions): string {
  const out: string[] = [];
  const span =
    result.firstTime === null
      ? 'no line counted'
      : `${iso(result.firstTime)} – ${iso(result.lastTime)}`;
  out.push(
    `${number(result.lines)} lines from ${result.files.join(', ')}: ${number(result.parsed)} counted, ${number(result.malformed.count)} malformed, ${number(result.skipped)} outside --since/--until`,
    `${span}; ${number(result.distinctClients)} distinct clients`,
    '',
    `Top ${result.top.length} clients`,
  );
  out.push(
    render(
      'table',
      result.top.map((entry, i) => ({ rank: i + 1, ...entry })),
      [
        { title: 'rank', value: (row) => row.rank },
        { title: 'client', value: (row) => row.ip },
        { title: 'requests', value: (row) => row.count },
      ],
      null,
    ),
  );
  const routes = result.routes.slice(0, options.routes);
  out.push(`Routes (${routes.length} of ${number(result.routes.length)}, most hits first)`);
  out.push(
    render(
      'table',
      routes,
      [
        { title: 'method', value: (r) => r.method },
        { title: 'path', value: (r) => r.path },
        { title: 'hits', value: (r) => r.count },
        ...peakColumns(result.windows),
      ],
      null,
    ),
  );
  out.push('Status classes');
  out.push(
    render(
      'table',
      Object.entries(result.status),
      [
        { title: 'class', value: ([name]) => name },
        { title: 'lines', value: ([, count]) => count },
      ],
      null,
    ),
  );
  if (result.malformed.count > 0) {
    const reasons = Object.entries(result.malformed.byReason)
      .map(([reason, count]) => `${reason} ${number(count)}`)
      .join(', ');
    out.push(`Malformed lines: ${number(result.malformed.count)} (${reasons}); the first:`);
    for (const m of result.malformed.first) out.push(`  ${m.file}:${m.line}: ${m.reason}`);
    out.push('');
  }
  for (const error of result.readErrors) out.push(`Read error: ${error.message}`, '');
  for (const replay of result.replays) {
    out.push(`Trips replaying ${replay.file} (${number(replay.trips.length)})`);
    out.push(render('table', replay.trips, tripColumns, null));
    out.push(`Per tier, ${replay.file}`);
    out.push(render('table', replay.tiers, tierColumns, null));
  }
  const comparison = comparisonOf(result);
  if (comparison !== undefined) {
    out.push(
      `Compared: ${number(comparison.both)} clients banned by both; ${number(comparison.onlyFirst.length)} by ${comparison.first} only, ${number(comparison.onlySecond.length)} by ${comparison.second} only`,
    );
    for (const [file, list] of [
      [comparison.first, comparison.onlyFirst],
      [comparison.second, comparison.onlySecond],
    ] as const) {
      out.push(`Banned by ${file} only`);
      out.push(
        render(
          'table',
          list,
          [
            { title: 'first ban', value: (d) => iso(d.time) },
            { title: 'client', value: (d) => d.token },
            { title: 'metric', value: (d) => d.metric },
            { title: 'tier', value: (d) => d.threshold },
          ],
          null,
        ),
      );
    }
  }
  return `${out.join('\n')}`;
}

/** One CSV row of the report; the columns a section does not use are empty. */
interface CsvRow {
  section: string;
  key: string;
  count?: number;
  time?: string | null;
  metric?: string;
  threshold?: number;
  action?: string;
  file?: string;
  peaks?: Readonly<Record<string, number>>;
}

function csvReport(result: AnalysisResult): string {
  const rows: CsvRow[] = [];
  for (const entry of result.top)
    rows.push({ section: 'client', key: entry.ip, count: entry.count });
  for (const route of result.routes) {
    rows.push({
      section: 'route',
      key: `${route.method} ${route.path}`,
      count: route.count,
      peaks: route.peaks,
    });
  }
  for (const [name, count] of Object.entries(result.status))
    rows.push({ section: 'status', key: name, count });
  for (const [reason, count] of Object.entries(result.malformed.byReason)) {
    rows.push({ section: 'malformed', key: reason, count });
  }
  for (const replay of result.replays) {
    for (const trip of replay.trips) {
      rows.push({
        section: trip.shadow ? 'shadow-trip' : 'trip',
        key: trip.token,
        time: iso(trip.time),
        metric: trip.metric,
        threshold: trip.threshold,
        action: trip.action,
        file: replay.file,
      });
    }
  }
  const comparison = comparisonOf(result);
  if (comparison !== undefined) {
    for (const [file, list] of [
      [comparison.first, comparison.onlyFirst],
      [comparison.second, comparison.onlySecond],
    ] as const) {
      for (const d of list) {
        rows.push({
          section: 'banned-only-by',
          key: d.token,
          time: iso(d.time),
          metric: d.metric,
          threshold: d.threshold,
          file,
        });
      }
    }
  }
  const columns: Column<CsvRow>[] = [
    { title: 'section', value: (r) => r.section },
    { title: 'key', value: (r) => r.key },
    { title: 'count', value: (r) => r.count ?? null },
    { title: 'time', value: (r) => r.time ?? null },
    { title: 'metric', value: (r) => r.metric ?? null },
    { title: 'threshold', value: (r) => r.threshold ?? null },
    { title: 'action', value: (r) => r.action ?? null },
    { title: 'file', value: (r) => r.file ?? null },
    ...result.windows.map((w) => ({
      title: `peak_${w}s`,
      value: (r: CsvRow) => r.peaks?.[String(w)] ?? null,
    })),
  ];
  return render('csv', rows, columns, null);
}
