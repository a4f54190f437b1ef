import { AdminSession } from './admin.js';
import { ApiError, api } from './api.js';
import { BanForm, errorText, say } from './ban-form.js';
import { BansPanel } from './bans-panel.js';
import type { ConfigBody, Snapshot } from './contract.js';
import { byId, setText } from './dom.js';
import { formatClock, formatCount } from './format.js';
import { RatesChart } from './rates-chart.js';
import { SeriesWindow } from './series-window.js';
import { LiveStream, type StreamState } from './stream.js';
import { TopTable } from './top-table.js';
import { TripsPanel } from './trips-panel.js';

/*
 * The dashboard: /api/config once (and again after a reconnect: the service may have been
 * restarted with another config), then everything live from /api/stream. Between snapshots
 * only the ban countdowns move, against the server's clock as the last snapshot told it.
 */

const SERIES_SECONDS = 300;

let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;

const facts = {
  total: byId('fact-total', HTMLElement),
  size: byId('fact-size', HTMLElement),
  bans: byId('fact-bans', HTMLElement),
  store: byId('fact-store', HTMLElement),
  version: byId('fact-version', HTMLElement),
  updated: byId('fact-updated', HTMLElement),
};
const admin = new AdminSession(byId('admin-token', HTMLInputElement));
const top = new TopTable(byId('top-body', HTMLTableSectionElement), byId('top-empty', HTMLElement));
const series = new SeriesWindow(SERIES_SECONDS);
const chart = new RatesChart(
  byId('chart', HTMLElement),
  byId('chart-legend', HTMLElement),
  byId('chart-empty', HTMLElement),
  SERIES_SECONDS,
);
const trips = new TripsPanel(
  byId('trips-list', HTMLOListElement),
  byId('trips-empty', HTMLElement),
);
const bansMessage = byId('bans-message', HTMLElement);
const bans = new BansPanel(
  byId('bans-body', HTMLTableSectionElement),
  byId('bans-empty', HTMLElement),
  byId('bans-more', HTMLElement),
  serverNow,
  (token, button) => void lift(token, button),
  false,
);
const form = new BanForm(
  {
    form: byId('ban-form', HTMLFormElement),
    fields: byId('ban-fields', HTMLFieldSetElement),
    address: byId('ban-address', HTMLInputElement),
    metric: byId('ban-metric', HTMLSelectElement),
    tier: byId('ban-tier', HTMLSelectElement),
    submit: byId('ban-submit', HTMLButtonElement),
    message: byId('ban-message', HTMLElement),
  },
  admin,
  (ban) => {
    bans.banned(ban);
    setText(facts.bans, formatCount(bans.count));
  },
);

const connection = byId('connection', HTMLElement);
const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
};

function showState(state: StreamState): void {
  document.body.dataset.stream = state;
  connection.dataset.state = state;
  setText(connection, STATE_TEXT[state]);
}

function applyConfig(config: ConfigBody): void {
  form.configure(config);
  bans.setLiftEnabled(config.admin);
  setText(facts.store, config.store === 'redis' ? 'Redis store' : 'memory store');
  setText(facts.version, `v${config.version}${config.demo ? ' · demo traffic' : ''}`);
}

/** The kept day shown instead of the live top list, when one is picked. */
let shownDay: string | undefined;
const dayPicker = byId('top-day-picker', HTMLElement);
const daySelect = byId('top-day', HTMLSelectElement);
const topHint = byId('top-hint', HTMLElement);

/** Fills the day picker from /api/days; it shows only when the service keeps days. */
async function loadDays(): Promise<void> {
  let body: Awaited<ReturnType<typeof api.days>>;
  try {
    body = await api.days();
  } catch {
    return; // an older service, or a blip: the picker stays as it is
  }
  dayPicker.hidden = !body.kept || body.days.length === 0;
  const current = daySelect.value;
  daySelect.replaceChildren(
    new Option('live', ''),
    ...body.days.map((day) => new Option(day, day)),
  );
  daySelect.value = body.days.includes(current) ? current : '';
}

async function showDay(day: string): Promise<void> {
  if (day === '') {
    shownDay = undefined;
    setText(topHint, 'this period, top 100');
    topHint.title = '';
    return; // the next snapshot fills the table
  }
  try {
    const kept = await api.day(day);
    shownDay = day;
    const total = kept.top.reduce((sum, row) => sum + row.count, 0);
    top.update({
      time: Date.parse(kept.end),
      total,
      size: kept.addresses,
      rows: kept.top
        .slice(0, 100)
        .map((row) => ({ ...row, share: total > 0 ? row.count / total : 0, banned: false })),
    });
    setText(topHint, `kept day ${kept.day}`);
    topHint.title = `${formatCount(kept.addresses)} addresses that day; shares are of its top list`;
  } catch (error) {
    setText(
      topHint,
      error instanceof ApiError ? `day ${day}: ${error.message}` : `day ${day}: not available`,
    );
  }
}

daySelect.addEventListener('change', () => void showDay(daySelect.value));
void loadDays();
// A day is kept at each rollover: look again now and then.
setInterval(() => void loadDays(), 60_000);

function onSnapshot(snapshot: Snapshot, first: boolean): void {
  clockOffset = snapshot.time - Date.now();
  if (shownDay === undefined) top.update(snapshot.top);
  if (first) series.clear();
  chart.update(series, series.merge(snapshot.series));
  bans.update(snapshot.bans, snapshot.time);
  trips.add(snapshot.trips);
  setText(facts.total, formatCount(snapshot.top.total));
  setText(facts.size, formatCount(snapshot.top.size));
  setText(facts.bans, formatCount(bans.count));
  setText(facts.updated, formatClock(snapshot.time));
}

/**
 * After a drop: the first snapshot of the new connection carries the full series, but the
 * trips made while the page was away are only in /api/trips, and the config may have
 * changed. The series is fetched too, so a stream that reconnects without a full first
 * snapshot (a proxy that buffers) still draws the whole window.
 */
async function catchUp(): Promise<void> {
  try {
    const [config, full, recent] = await Promise.all([
      api.config(),
      api.series(SERIES_SECONDS),
      api.trips(50),
    ]);
    applyConfig(config);
    chart.update(series, series.merge(full));
    trips.replace(recent.trips);
  } catch {
    // The stream will drop again and the next reconnect retries.
  }
}

async function lift(token: string, button: HTMLButtonElement): Promise<void> {
  const adminToken = admin.require();
  if (adminToken === undefined) {
    say(bansMessage, 'Enter the admin token (in the ban form) to lift a ban.', 'error');
    return;
  }
  button.disabled = true;
  try {
    await api.lift(adminToken, token);
    bans.lifted(token);
    setText(facts.bans, formatCount(bans.count));
    say(bansMessage, `Lifted every ban on ${token}.`, 'ok');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) admin.refused();
    say(bansMessage, errorText(error), 'error');
    button.disabled = false;
  }
}

async function loadConfig(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      applyConfig(await api.config());
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
}

showState('connecting');
const stream = new LiveStream('/api/stream', {
  snapshot: onSnapshot,
  state: showState,
  reconnected: () => void catchUp(),
});
void loadConfig();
void api
  .trips(50)
  .then((body) => trips.add(body.trips))
  .catch(() => undefined);
stream.start();
setInterval(() => bans.tick(), 250);
