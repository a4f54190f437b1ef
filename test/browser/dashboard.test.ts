import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBrowser } from '../support/browser-suite.js';
import { ServiceProcess } from './service-process.js';

/*
 * The dashboard as a user meets it: the real service (`hitwarden serve` from dist/) on a free
 * port, the page in Debian's headless Chromium, traffic sent from here through the service's
 * trusted-proxy path (X-Forwarded-For from 127.0.0.1) so each simulated client is counted as
 * itself. Any console error or warning, page error, failed response or request that leaves
 * the service fails the suite; the only exceptions are the ones a step provokes on purpose
 * (a wrong admin token's 401, the refused connections while the service is down), each
 * allowed only while that step runs. Screenshots land in test/artifacts/ (ignored by git).
 */

const ADMIN_TOKEN = 'browser-test-admin-token';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
/** The service keeps its state (and a day, written here before it starts) in this folder. */
const STATE = mkdtempSync(join(tmpdir(), 'hitwarden-browser-state-'));
const KEPT_DAY = {
  day: '2026-11-30',
  start: '2026-11-30T00:00:00.000Z',
  end: '2026-12-01T00:00:00.000Z',
  addresses: 4242,
  top: [
    { ip: '192.0.2.10', count: 900 },
    { ip: '2001:db8::10', count: 100 },
  ],
};
const SERVE_ARGS = [
  '--state',
  STATE,
  '--admin-token',
  ADMIN_TOKEN,
  '--trust-proxy',
  '127.0.0.1',
  '--log-level',
  'warn',
];

describeWithBrowser('the dashboard in headless Chromium', (executablePath) => {
  let service: ServiceProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  /** Messages the running step provokes on purpose; anything else is a problem. */
  let expected: RegExp[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(join(STATE, 'days'), { recursive: true });
    writeFileSync(join(STATE, 'days', `${KEPT_DAY.day}.json`), JSON.stringify(KEPT_DAY));
    service = await ServiceProcess.start(['--port', '0', ...SERVE_ARGS]);
    browser = await chromium.launch({
      executablePath,
      // --no-sandbox: the tests run as root; the rest keep Chromium from calling home,
      // which this machine's closed network refuses noisily.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    page = await context.newPage();
    const origin = new URL(service.url).origin;
    const report = (what: string) => {
      if (!expected.some((pattern) => pattern.test(what))) problems.push(what);
    };
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        report(`console ${message.type()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => report(`page error: ${error.message}`));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol !== 'data:' && url.origin !== origin) report(`request outside: ${url}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) report(`response ${response.status()}: ${response.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    const code = await service?.stop();
    rmSync(STATE, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  /** Fails with everything unexpected the page said, then clears the list for the next step. */
  function expectNoProblems(): void {
    const seen = problems.splice(0);
    expect(seen, `the page logged:\n${seen.join('\n')}`).toEqual([]);
  }

  it('fills the top table and the chart from live traffic', async () => {
    await page.goto(`${service.url}/`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#connection').textContent()).toBe('live');

    // Three seconds of traffic: client k sends 13 - k requests a round, so the order of the
    // top list is known; the series ring samples once a second, so the chart gets points.
    await sendTraffic(service.url, 3000);
    await topClient(page).waitFor({ timeout: 15_000 });
    const rows = await visibleTopRows(page);
    expect(rows.slice(0, 3).map((row) => row.ip)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
    ]);
    const api = (await (await fetch(`${service.url}/api/top?n=100`)).json()) as {
      rows: { ip: string; count: number }[];
    };
    // The page shows a snapshot taken at most a second before this read, so never more.
    const first = api.rows.find((row) => row.ip === '198.51.100.1')!;
    expect(rows[0]!.count).toBeGreaterThan(0);
    expect(rows[0]!.count).toBeLessThanOrEqual(first.count);
    expect(rows[0]!.share).toMatch(/^\d+\.\d %$/);

    // The chart: a line per route with hits in it, and the legend says how many.
    // (Page-side code as text: this file is type-checked without the DOM's types.)
    await page.waitForFunction(
      `Number([...document.querySelectorAll('#chart-legend .legend-item')]
        .find((item) => item.querySelector('.legend-route')?.textContent === 'GET /hello')
        ?.querySelector('.legend-avg')?.textContent?.replace('avg ', '')) > 0`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-empty').isHidden()).toBe(true);
    const routes = await page.locator('#chart-legend .legend-route').allTextContents();
    expect(routes).toEqual(
      expect.arrayContaining(['GET /hello', 'GET /products/:id', 'POST /login']),
    );

    // The failed logins tripped login_failed for 203.0.113.50: a trip and a ban.
    await page.getByText('203.0.113.50').first().waitFor({ timeout: 15_000 });
    expect(
      await page.locator('#trips-list li', { hasText: '203.0.113.50' }).count(),
    ).toBeGreaterThan(0);
    expectNoProblems();
  });

  it('bans an address through the form, lists it with a live countdown, and lifts it', async () => {
    const target = '203.0.113.77';
    await page.locator('#ban-fields:not([disabled])').waitFor();
    await page.getByLabel('Address or token').fill(target);
    await page.getByLabel('Metric').selectOption('login_failed');
    await page.getByLabel('Tier').selectOption('1');

    // A wrong token first: refused, said so, and the token is dropped from memory.
    expected = [/401/];
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Ban now' }).click();
    await page.getByText('The admin token was refused').waitFor();
    expect(await page.getByLabel('Admin token').inputValue()).toBe('');
    expected = [];
    expect(problems).toEqual([]);

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Ban now' }).click();
    await page.getByText(`Banned ${target} on login_failed tier 1`).waitFor();
    const row = page.locator('#bans-body tr', { hasText: target });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual([target, 'login_failed', '1']);
    const countdown = row.locator('td.countdown');
    const before = await countdown.textContent();
    expect(before).toMatch(/^\d+ (s|m \d\d s)$/);
    // The service agrees, and the row survives the snapshots that follow.
    const status = (await (await fetch(`${service.url}/api/status/${target}`)).json()) as {
      banned: boolean;
    };
    expect(status.banned).toBe(true);
    await page.waitForTimeout(2200);
    expect(await row.count()).toBe(1);
    expect(await countdown.textContent()).not.toBe(before);
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png` });

    // The token stayed in the page's memory: nothing stored, no cookie.
    const stored = await page.evaluate(
      '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
    );
    expect(stored).toEqual({ local: 0, session: 0, cookie: '' });
    expect(await context.cookies()).toEqual([]);

    await page.getByRole('button', { name: `Lift the ban on ${target}` }).click();
    await page.getByText(`Lifted every ban on ${target}.`).waitFor();
    await row.waitFor({ state: 'detached' });
    await page.waitForTimeout(2200);
    expect(await row.count()).toBe(0);
    const after = (await (await fetch(`${service.url}/api/status/${target}`)).json()) as {
      banned: boolean;
    };
    expect(after.banned).toBe(false);
    expectNoProblems();
  });

  it('shows a kept day from the day picker, and goes back to live', async () => {
    const picker = page.locator('#top-day-picker');
    await picker.waitFor({ state: 'visible', timeout: 10_000 });
    await page.selectOption('#top-day', KEPT_DAY.day);
    await page
      .locator('#top-hint', { hasText: 'kept day 2026-11-30' })
      .waitFor({ timeout: 10_000 });
    // Snapshots keep coming; the kept day stays on screen through them.
    await page.waitForTimeout(1500);
    expect(await visibleTopRows(page)).toEqual([
      { ip: '192.0.2.10', count: 900, share: '90.0 %' },
      { ip: '2001:db8::10', count: 100, share: '10.0 %' },
    ]);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-kept-day.png` });
    await page.selectOption('#top-day', '');
    await topClient(page).waitFor({ timeout: 10_000 });
    expect(await page.locator('#top-hint').textContent()).toBe('this period, top 100');
    expectNoProblems();
  });

  it('says reconnecting… while the service is down and recovers when it is back', async () => {
    const port = service.port;
    // While the service is away the browser's reconnects are refused, and says so.
    // A request that comes while it drains (and saves its state) is answered 503.
    expected = [
      /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING/,
      /status of 503|response 503/,
    ];
    expect(await service.stop()).toBe(0);
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('#connection').textContent()).toBe('reconnecting…');
    await page.screenshot({ path: `${ARTIFACTS}dashboard-reconnecting.png` });

    service = await ServiceProcess.start(['--port', String(port), ...SERVE_ARGS]);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    expected = [];
    // The restarted service (its state restored from --state): the page follows it, new
    // traffic and all.
    await sendTraffic(service.url, 1500);
    await topClient(page).waitFor({ timeout: 15_000 });
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expectNoProblems();
  });
});

/** The first row of the top table once it is 198.51.100.1, the busiest test client. */
function topClient(page: Page) {
  return page
    .locator('#top-body tr:not([hidden])')
    .first()
    .locator('td.addr', { hasText: /^198\.51\.100\.1$/ });
}

interface TopRowText {
  ip: string;
  count: number;
  share: string;
}

async function visibleTopRows(page: Page): Promise<TopRowText[]> {
  return page.$$eval('#top-body tr:not([hidden])', (rows) =>
    rows.map((row) => {
      const cells = [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '');
      return { ip: cells[1]!, count: Number(cells[2]!.replaceAll(',', '')), share: cells[3]! };
    }),
  );
}

/**
 * Traffic for `ms` through the trusted-proxy path: twelve clients on the ordinary routes,
 * client k sending 13 - k requests a round, and one client failing eight logins (more than
 * the bundled config's first login_failed tier allows in a minute).
 */
async function sendTraffic(url: string, ms: number): Promise<void> {
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const failLogin = (ip: string) =>
    fetch(`${url}/login`, {
      method: 'POST',
      headers: { ...from(ip), 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'wrong' }),
    }).then((response) => response.body?.cancel());
  for (let i = 0; i < 8; i++) await failLogin('203.0.113.50');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const requests: Promise<unknown>[] = [];
    for (let k = 1; k <= 12; k++) {
      for (let j = 0; j < 13 - k; j++) {
        const path = j % 3 === 2 ? `/products/${k}` : '/hello';
        requests.push(
          fetch(`${url}${path}`, { headers: from(`198.51.100.${k}`) }).then((r) => r.text()),
        );
      }
    }
    await Promise.all(requests);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
