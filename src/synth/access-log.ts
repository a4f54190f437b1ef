import { Ipv4Space, Ipv6Space } from './addresses.js';
import { Sfc32, splitMix32 } from './prng.js';
import { ZipfSampler } from './zipf.js';

/*
 * A synthetic day of an nginx combined access log, for `hitwarden gen-log`, the analyze tests
 * and `npm run bench:analyze`: Zipf(1.0) clients over IPv4 and IPv6 on a handful of routes,
 * a diurnal rate curve (quiet at night, busiest in the evening), and brute-force attackers
 * bursting POST /login answered 401. The same seed gives the same bytes on every machine.
 *
 * Beside the text it keeps the ground truth — every client's count, every route's, the status
 * classes, each attacker's failure times, and the most failed logins any legitimate client
 * has in any 60 s — so a test can check `analyze` exactly. Legitimate clients fail a login
 * now and then but never more than `LEGIT_FAILURES_PER_MINUTE` times in 60 s (the generator
 * makes a login succeed rather than break that), so a bans file whose limit is above it trips
 * for attackers only.
 */

export interface AccessLogOptions {
  /** Lines in all, attackers' included. */
  readonly lines: number;
  readonly seed: number;
  /** Brute-force attackers. */
  readonly attackers: number;
  /** Share of clients (and attackers) on IPv6, 0–1. */
  readonly ipv6Share: number;
  /** Epoch ms of the day's start (UTC midnight of 2026-12-01 by default). */
  readonly start?: number;
}

/** The ground truth of a generated log (the `--truth` file). */
export interface AccessLogTruth {
  readonly lines: number;
  readonly seed: number;
  /** Epoch ms of the first and the last line. */
  readonly start: number;
  readonly end: number;
  readonly distinctClients: number;
  /** Every client (canonical text) → its lines. */
  readonly counts: Record<string, number>;
  /** `METHOD /path` (no query string) → its lines. */
  readonly routes: Record<string, number>;
  readonly status: Record<string, number>;
  /** Each attacker and the time of each of its failed logins (epoch ms). */
  readonly attackers: { readonly ip: string; readonly failureTimes: number[] }[];
  /** The most POST /login 401s of any non-attacker in any 60 s. */
  readonly legitMaxFailuresPerMinute: number;
}

export const DEFAULT_START = Date.UTC(2026, 11, 1);
/** The most failed logins a legitimate client makes in any 60 s. */
export const LEGIT_FAILURES_PER_MINUTE = 3;

const DAY_MS = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.11.0',
  'python-requests/2.32.3',
  // A user agent with quotes in it, escaped the way nginx and Apache write them.
  'Mozilla/5.0 (compatible; \\"QuoteBot\\"/1.0; +https://example.com/bot)',
];
const ATTACKER_AGENTS = ['python-requests/2.32.3', 'Go-http-client/1.1', 'hydra/9.5'];
const REFERERS = [
  '-',
  '-',
  'https://www.google.com/',
  'https://shop.example.com/',
  'https://shop.example.com/search?q=lamp',
];
const WORDS = ['lamp', 'desk', 'chair', 'mug', 'shelf', 'rug', 'clock', 'vase'];
const JUNK = ['/wp-login.php', '/.env', '/admin/config.php', '/xmlrpc.php', '/.git/config'];

/** Minutes of the day, for the diurnal curve's cumulative table. */
const MINUTES = 1440;

/** Relative rate at minute m: lowest around 04:00, highest around 20:00. */
function rateAt(minute: number): number {
  return 1 + 0.75 * Math.sin(2 * Math.PI * (minute / MINUTES - 0.33));
}

interface Request {
  method: string;
  target: string;
  route: string;
  status: number;
  bytes: number;
}

export class AccessLogGenerator {
  readonly options: AccessLogOptions;
  readonly #random: Sfc32;
  readonly #v4: Ipv4Space;
  readonly #v6: Ipv6Space;
  readonly #clients: ZipfSampler;
  readonly #products: ZipfSampler;
  readonly #pool: number;
  readonly #start: number;
  /** Cumulative share of the day's lines by the end of each minute. */
  readonly #cdf = new Float64Array(MINUTES);
  /** Attackers' failed logins, in time order: [time, attacker]. */
  readonly #attacks: [number, number][] = [];
  readonly #attackerIps: string[] = [];
  readonly #addressText = new Map<number, string>();
  /** Recent failed-login times of legitimate clients, by client rank. */
  readonly #legitFailures = new Map<number, number[]>();
  readonly #counts = new Map<string, number>();
  readonly #routes = new Map<string, number>();
  readonly #status: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  #legitMax = 0;
  #firstTime = Number.NaN;
  #lastTime = Number.NaN;
  #clfSecond = Number.NaN;
  #clfText = '';

  constructor(options: AccessLogOptions) {
    this.options = options;
    this.#random = new Sfc32(options.seed);
    this.#v4 = new Ipv4Space(options.seed);
    this.#v6 = new Ipv6Space(options.seed);
    this.#start = options.start ?? DEFAULT_START;
    // About one distinct client per ten lines, as on a site with returning visitors.
    this.#pool = Math.max(100, Math.floor(options.lines / 10));
    this.#clients = new ZipfSampler(this.#pool, 1, this.#random);
    this.#products = new ZipfSampler(500, 1, this.#random);
    let sum = 0;
    for (let m = 0; m < MINUTES; m++) sum += rateAt(m);
    let running = 0;
    for (let m = 0; m < MINUTES; m++) {
      running += rateAt(m);
      this.#cdf[m] = running / sum;
    }
    this.#planAttacks();
  }

  /** The log, in pieces of about `chunkBytes` characters, in time order. */
  *text(chunkBytes = 1 << 20): Generator<string> {
    const { lines } = this.options;
    const normal = lines - this.#attacks.length;
    let parts: string[] = [];
    let size = 0;
    let a = 0;
    for (let i = 0; i < normal; i++) {
      const time = this.#timeOf(i, normal);
      while (a < this.#attacks.length && this.#attacks[a]![0] <= time) {
        const [at, attacker] = this.#attacks[a++]!;
        const line = this.#attackLine(at, attacker);
        parts.push(line);
        size += line.length;
      }
      const line = this.#normalLine(time);
      parts.push(line);
      size += line.length;
      if (size >= chunkBytes) {
        yield parts.join('');
        parts = [];
        size = 0;
      }
    }
    while (a < this.#attacks.length) {
      const [at, attacker] = this.#attacks[a++]!;
      parts.push(this.#attackLine(at, attacker));
    }
    if (parts.length > 0) yield parts.join('');
  }

  /** The ground truth; complete once `text()` has run to its end. */
  truth(): AccessLogTruth {
    const failures = new Map<number, number[]>();
    for (const [time, attacker] of this.#attacks) {
      const list = failures.get(attacker) ?? [];
      list.push(time);
      failures.set(attacker, list);
    }
    return {
      lines: this.options.lines,
      seed: this.options.seed,
      start: this.#firstTime,
      end: this.#lastTime,
      distinctClients: this.#counts.size,
      counts: Object.fromEntries(this.#counts),
      routes: Object.fromEntries(this.#routes),
      status: { ...this.#status },
      attackers: this.#attackerIps.map((ip, j) => ({ ip, failureTimes: failures.get(j) ?? [] })),
      legitMaxFailuresPerMinute: this.#legitMax,
    };
  }

  /** Each attacker: one burst somewhere in the day, 1–3 attempts a second for up to 10 min;
   *  the attackers' lines are at most a tenth of the log. */
  #planAttacks(): void {
    const { attackers, lines, ipv6Share } = this.options;
    const budget = Math.floor(lines / 10);
    const each = attackers === 0 ? 0 : Math.min(1200, Math.floor(budget / attackers));
    for (let j = 0; j < attackers; j++) {
      const index = this.#pool + j; // beyond every client's index: a distinct address
      const v6 = this.#random.nextFloat() < ipv6Share;
      this.#attackerIps.push(v6 ? this.#v6.text(index) : this.#v4.text(index));
      const perSecond = 1 + this.#random.nextBelow(3);
      const attempts = Math.max(0, Math.round(each * (0.5 + this.#random.nextFloat() / 2)));
      // Whole seconds, as the log writes them.
      const begin =
        this.#start +
        60_000 +
        Math.floor((this.#random.nextFloat() * (DAY_MS - 2 * 3_600_000)) / 1000) * 1000;
      for (let k = 0; k < attempts; k++) {
        this.#attacks.push([begin + Math.floor(k / perSecond) * 1000, j]);
      }
    }
    this.#attacks.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  }

  /** The time of normal line `i` of `n`: the diurnal curve's inverse at (i + ½) / n, in whole
   *  seconds, so times never go back. */
  #timeOf(i: number, n: number): number {
    const u = (i + 0.5) / n;
    let low = 0;
    let high = MINUTES - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.#cdf[mid]! < u) low = mid + 1;
      else high = mid;
    }
    const before = low === 0 ? 0 : this.#cdf[low - 1]!;
    const within = (u - before) / (this.#cdf[low]! - before);
    return this.#start + Math.floor((low + within) * 60) * 1000;
  }

  #clientText(rank: number): string {
    let text = this.#addressText.get(rank);
    if (text === undefined) {
      // Whether a client is on IPv6 is a fixed property of its rank, spread over all ranks.
      const v6 =
        splitMix32(rank ^ this.options.seed) < Math.round(this.options.ipv6Share * 0x1_0000_0000);
      text = v6 ? this.#v6.text(rank - 1) : this.#v4.text(rank - 1);
      this.#addressText.set(rank, text);
    }
    return text;
  }

  #request(rank: number, time: number): Request {
    const random = this.#random;
    const roll = random.nextFloat();
    if (roll < 0.2)
      return {
        method: 'GET',
        target: '/',
        route: 'GET /',
        status: 200,
        bytes: 5120 + random.nextBelow(2048),
      };
    if (roll < 0.55) {
      const id = this.#products.sample();
      const query = random.nextFloat() < 0.2 ? '?ref=mail' : '';
      return {
        method: 'GET',
        target: `/products/${id}${query}`,
        route: `GET /products/${id}`,
        status: 200,
        bytes: 8000 + random.nextBelow(4000),
      };
    }
    if (roll < 0.7) {
      const word = WORDS[random.nextBelow(WORDS.length)]!;
      return {
        method: 'GET',
        target: `/search?q=${word}&page=${1 + random.nextBelow(3)}`,
        route: 'GET /search',
        status: 200,
        bytes: 3000 + random.nextBelow(3000),
      };
    }
    if (roll < 0.85) {
      const cached = random.nextFloat() < 0.5;
      return {
        method: 'GET',
        target: '/static/app.js',
        route: 'GET /static/app.js',
        status: cached ? 304 : 200,
        bytes: cached ? 0 : 48_213,
      };
    }
    if (roll < 0.92) {
      const failed = random.nextFloat() < 0.1 && this.#mayFail(rank, time);
      return {
        method: 'POST',
        target: '/login',
        route: 'POST /login',
        status: failed ? 401 : 200,
        bytes: failed ? 31 : 412,
      };
    }
    if (roll < 0.97) {
      const error = random.nextFloat() < 0.03;
      return {
        method: 'GET',
        target: `/api/items?page=${random.nextBelow(20)}`,
        route: 'GET /api/items',
        status: error ? 502 : 200,
        bytes: error ? 150 : 1800,
      };
    }
    const junk = JUNK[random.nextBelow(JUNK.length)]!;
    return { method: 'GET', target: junk, route: `GET ${junk}`, status: 404, bytes: 153 };
  }

  /** Whether a legitimate client may fail a login at `time` and stay within the bound. */
  #mayFail(rank: number, time: number): boolean {
    const recent = (this.#legitFailures.get(rank) ?? []).filter((t) => t > time - 60_000);
    if (recent.length >= LEGIT_FAILURES_PER_MINUTE) return false;
    recent.push(time);
    this.#legitFailures.set(rank, recent);
    if (recent.length > this.#legitMax) this.#legitMax = recent.length;
    return true;
  }

  #normalLine(time: number): string {
    const rank = this.#clients.sample();
    const ip = this.#clientText(rank);
    const request = this.#request(rank, time);
    const agent = AGENTS[splitMix32(rank * 7 + 1) % AGENTS.length]!;
    const referer = REFERERS[this.#random.nextBelow(REFERERS.length)]!;
    return this.#line(ip, time, request, referer, agent);
  }

  #attackLine(time: number, attacker: number): string {
    const ip = this.#attackerIps[attacker]!;
    const request: Request = {
      method: 'POST',
      target: '/login',
      route: 'POST /login',
      status: 401,
      bytes: 31,
    };
    return this.#line(ip, time, request, '-', ATTACKER_AGENTS[attacker % ATTACKER_AGENTS.length]!);
  }

  #line(ip: string, time: number, request: Request, referer: string, agent: string): string {
    this.#counts.set(ip, (this.#counts.get(ip) ?? 0) + 1);
    this.#routes.set(request.route, (this.#routes.get(request.route) ?? 0) + 1);
    this.#status[`${Math.floor(request.status / 100)}xx`]!++;
    if (Number.isNaN(this.#firstTime)) this.#firstTime = time;
    this.#lastTime = time;
    const size = request.bytes === 0 ? '-' : String(request.bytes);
    return `${ip} - - [${this.#clf(time)}] "${request.method} ${request.target} HTTP/1.1" ${request.status} ${size} "${referer}" "${agent}"\n`;
  }

  /** The access-log time of `ms`, made once a second. */
  #clf(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#clfSecond) {
      const d = new Date(second * 1000);
      const two = (n: number) => String(n).padStart(2, '0');
      this.#clfText = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
      this.#clfSecond = second;
    }
    return this.#clfText;
  }
}
