import type { FastifyInstance } from 'fastify';
import { Ipv4Space } from '../synth/addresses.js';
import { Sfc32 } from '../synth/prng.js';
import { ZipfSampler } from '../synth/zipf.js';
import { DEMO_ACCOUNT } from './demo-routes.js';

/*
 * `--demo-traffic`: synthetic clients inside the process, sent through the real request path
 * with Fastify's `inject` and a `remoteAddress`, so the guard, the tracker, the hit counter
 * and the BanHammer see them as they would see the network (only the socket is missing).
 *
 * - Ordinary clients: Zipf(1) over a pool of addresses (src/synth), on /hello, /products/:id
 *   and /search, with a rare login (mostly right, sometimes a typo).
 * - Attackers: a few addresses brute-forcing POST /login, about two attempts a second. Each
 *   401 counts `login_failed`, so an attacker climbs the tiers of the bans config: banned, let
 *   go, banned longer. An attacker gives up after a few minutes and a new address takes its
 *   place, so the dashboard always has bans starting and ending.
 *
 * About 80 ordinary requests and 8 attempts a second: light enough for a laptop.
 */

export interface DemoTrafficOptions {
  /** Ordinary requests per second. @default 80 */
  rate?: number;
  /** Attackers at once. @default 4 */
  attackers?: number;
  /** Seconds an attacker keeps going before a new one replaces it. @default 360 */
  attackerLifeSeconds?: number;
  seed?: number;
}

const TICK_MS = 100;
const CLIENTS = 3000;
const PRODUCTS = 200;
const WORDS = ['shoes', 'lamp', 'coffee', 'bike', 'tent', 'phone', 'desk', 'kettle'];

interface Attacker {
  address: string;
  until: number;
}

export class DemoTraffic {
  readonly #app: FastifyInstance;
  readonly #random: Sfc32;
  readonly #clients: ZipfSampler;
  readonly #products: ZipfSampler;
  readonly #space: Ipv4Space;
  readonly #perTick: number;
  readonly #attackers: Attacker[] = [];
  readonly #attackerCount: number;
  readonly #lifeMs: number;
  #nextAttacker = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  /** Requests sent so far (for tests and logs). */
  sent = 0;

  constructor(app: FastifyInstance, options: DemoTrafficOptions = {}) {
    const seed = options.seed ?? 1;
    this.#app = app;
    this.#random = new Sfc32(seed);
    this.#clients = new ZipfSampler(CLIENTS, 1, this.#random);
    this.#products = new ZipfSampler(PRODUCTS, 1.1, this.#random);
    this.#space = new Ipv4Space(seed);
    this.#perTick = ((options.rate ?? 80) * TICK_MS) / 1000;
    this.#attackerCount = options.attackers ?? 4;
    this.#lifeMs = (options.attackerLifeSeconds ?? 360) * 1000;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const now = Date.now();
    for (let i = 0; i < this.#attackerCount; i++) {
      // Staggered, so the attackers do not all give up at once.
      this.#attackers.push(this.#newAttacker(now + (this.#lifeMs * (i + 1)) / this.#attackerCount));
    }
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Stops sending; resolves once the requests in flight have been answered. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  #tick(): void {
    // A service that falls behind is not sent more.
    if (this.#inFlight > 200) return;
    const now = Date.now();
    let count = Math.floor(this.#perTick);
    if (this.#random.nextFloat() < this.#perTick - count) count++;
    for (let i = 0; i < count; i++) this.#ordinary();
    for (let i = 0; i < this.#attackers.length; i++) {
      const attacker = this.#attackers[i]!;
      if (attacker.until <= now) this.#attackers[i] = this.#newAttacker(now + this.#lifeMs);
      if (this.#random.nextFloat() < 0.2) {
        this.#send(attacker.address, 'POST', '/login', {
          username: 'admin',
          password: `guess${this.#random.nextUint32() % 100_000}`,
        });
      }
    }
  }

  #ordinary(): void {
    const address = this.#space.text(this.#clients.sample() - 1);
    const pick = this.#random.nextFloat();
    if (pick < 0.35) this.#send(address, 'GET', '/hello');
    else if (pick < 0.75) this.#send(address, 'GET', `/products/${this.#products.sample()}`);
    else if (pick < 0.99) {
      const word = WORDS[this.#random.nextUint32() % WORDS.length]!;
      this.#send(address, 'GET', `/search?q=${word}`);
    } else {
      const typo = this.#random.nextFloat() < 0.3;
      this.#send(address, 'POST', '/login', {
        username: DEMO_ACCOUNT.username,
        password: typo ? 'hitwardne' : DEMO_ACCOUNT.password,
      });
    }
  }

  #newAttacker(until: number): Attacker {
    // TEST-NET-2 and -3 (RFC 5737): addresses that are nobody's.
    const n = this.#nextAttacker++;
    const net = n % 2 === 0 ? '198.51.100' : '203.0.113';
    return { address: `${net}.${(Math.floor(n / 2) % 254) + 1}`, until };
  }

  #send(remoteAddress: string, method: 'GET' | 'POST', url: string, payload?: object): void {
    this.#inFlight++;
    this.sent++;
    this.#app
      .inject({ method, url, remoteAddress, ...(payload === undefined ? {} : { payload }) })
      .catch(() => {
        // The service is closing; the demo stops with it.
      })
      .finally(() => {
        this.#inFlight--;
      });
  }
}
