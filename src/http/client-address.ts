import { ConfigError, quoteInput } from '../errors.js';
import type { AddressFamily } from '../ip/address.js';
import { CidrSet } from '../ip/cidr-set.js';
import { formatIPv4, formatIPv6 } from '../ip/format.js';
import { parseAddress } from '../ip/parse.js';

/*
 * Who is the client of a request: the token every engine counts it under.
 *
 * The rule (issue 15): the client is the socket's peer, unless that peer is a trusted proxy;
 * then X-Forwarded-For is read from right to left (several header lines are one list, in
 * order), trusted entries skipped, and the first untrusted entry is the client. When every
 * entry is trusted, the left-most one is. The header is never read when the peer is not
 * trusted: anyone can send it, only a trusted proxy's word counts.
 *
 * A malformed entry ends the walk, and the client is the last trusted hop before it — the
 * proxy that forwarded the garbage. Only an address can ever become a token, so a header
 * cannot mint one per request ("x1", "x2", …) to escape its bans, and cannot name a token that
 * is not an address. Empty list members (`a,,b`, a trailing comma) are skipped, as the HTTP
 * list syntax allows (RFC 9110 §5.6.1); they carry nothing.
 *
 * An entry may be written `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or
 * `[2001:db8::1]:443`, with spaces or tabs around it; an IPv6 zone (`fe80::1%eth0`) is dropped,
 * since it names an interface of the receiving host, not the client.
 *
 * Tokens: IPv4 (also IPv4-mapped IPv6, which a dual-stack socket reports: `::ffff:1.2.3.4` is
 * `1.2.3.4`) in dotted-quad; IPv6 as its /ipv6Subnet prefix in RFC 5952 text with the length
 * (`2001:db8:1:2::/64`), so a host cannot step out of its bans by rotating through the 2^64
 * addresses its provider gives it. With `ipv6Subnet: false` (or 128) the token is the whole
 * canonical address, no suffix: one host, one address.
 *
 * This runs on every request, so the walk reads the header with charCodeAt from the right, and
 * only the entries it looks at become strings (usually one or two); addresses are parsed into
 * a reused Uint32Array and range checks read typed arrays (CidrSet). No regular expression.
 */

/** Options a middleware passes through from its user. */
export interface ClientAddressOptions {
  /**
   * The proxies whose `X-Forwarded-For` is believed: CIDR ranges or bare addresses, IPv4 and
   * IPv6 (`['10.0.0.0/8', '2001:db8::/32', '127.0.0.1']`). Empty, the header is ignored.
   * Warning: a range that holds addresses clients can reach you from lets them name any
   * client they like.
   * @default []
   */
  readonly trustProxy?: readonly string[] | undefined;
  /**
   * IPv6 clients are grouped by this prefix length (1 to 128); `false` keeps the whole address.
   * @default 64
   */
  readonly ipv6Subnet?: number | false | undefined;
}

const CHAR_SPACE = 32;
const CHAR_TAB = 9;
const CHAR_COMMA = 44;
const CHAR_COLON = 58;
const CHAR_PERCENT = 37;
const CHAR_OPEN = 91; // [
const CHAR_CLOSE = 93; // ]
const CHAR_0 = 48;
const CHAR_9 = 57;

/** The default /64: what an IPv6 subscriber is handed at the least (RFC 6177). */
export const DEFAULT_IPV6_SUBNET = 64;

/**
 * Compiled once from the options (a bad one throws `ConfigError` then, never on a request);
 * `resolve` is then called per request.
 *
 * ```ts
 * const clients = new ClientAddress({ trustProxy: ['10.0.0.0/8'] }, 'hitwarden');
 * clients.resolve('10.0.0.5', '203.0.113.7, 10.0.0.9'); // '203.0.113.7'
 * clients.resolve('198.51.100.1', '203.0.113.7'); // '198.51.100.1': the peer is not trusted
 * ```
 */
export class ClientAddress {
  /** The prefix length IPv6 tokens are cut to; 128 keeps whole addresses. */
  readonly ipv6Subnet: number;
  readonly #trusted: CidrSet | undefined;
  /**
   * The last resolved client's address, whole (not cut to the subnet): `family` 4 or 6, and
   * the words in `words` as `parseAddress` leaves them. Valid until the next `resolve`; lets
   * the caller check the client against a `CidrSet` (`set.has(c.family, c.words)`) without
   * parsing its token again — an IPv6 prefix token is not an address `CidrSet.hasText` knows.
   */
  readonly words = new Uint32Array(4);
  #family: AddressFamily = 4;
  // The entry being parsed; copied to `words` when it is the best candidate so far.
  readonly #scratch = new Uint32Array(4);
  // The last token and the words it was made from (the /ipv6Subnet prefix for IPv6): a
  // client's requests tend to come in runs (keep-alive, a hot attacker), and the text is most
  // of a resolve's cost: measured on this 2-core machine, ~0.7 µs for an IPv6 client and
  // ~0.13 µs for an IPv4 one without the cache, ~0.14 and ~0.03 µs on a repeat.
  readonly #cachedWords = new Uint32Array(4);
  #cachedFamily: AddressFamily | 0 = 0;
  #cachedToken = '';

  /**
   * @param options `trustProxy` and `ipv6Subnet`, as the user gave them.
   * @param path How errors name the options' owner: `hitwarden` gives
   *   `hitwarden.trustProxy[2]`; each adapter passes its own (`hitwarden/express`, …).
   */
  constructor(options: ClientAddressOptions = {}, path = 'hitwarden') {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError(path, `expected an options object, got ${quoteInput(options)}`);
    }
    const { trustProxy, ipv6Subnet } = options;
    if (trustProxy !== undefined) {
      if (!Array.isArray(trustProxy)) {
        throw new ConfigError(
          `${path}.trustProxy`,
          `expected an array of CIDR strings such as ["10.0.0.0/8"], got ${quoteInput(trustProxy)}`,
        );
      }
      this.#trusted =
        trustProxy.length === 0 ? undefined : CidrSet.from(trustProxy, `${path}.trustProxy`);
    }
    if (ipv6Subnet === undefined) {
      this.ipv6Subnet = DEFAULT_IPV6_SUBNET;
    } else if (ipv6Subnet === false) {
      this.ipv6Subnet = 128;
    } else if (
      typeof ipv6Subnet === 'number' &&
      Number.isInteger(ipv6Subnet) &&
      ipv6Subnet >= 1 &&
      ipv6Subnet <= 128
    ) {
      this.ipv6Subnet = ipv6Subnet;
    } else {
      throw new ConfigError(
        `${path}.ipv6Subnet`,
        `expected a prefix length from 1 to 128, or false for whole addresses, got ${quoteInput(ipv6Subnet)}`,
      );
    }
  }

  /** Family of the last resolved client (see `words`). */
  get family(): AddressFamily {
    return this.#family;
  }

  /**
   * The client token of one request, or undefined when the socket has no address (it was
   * destroyed, or it is not an IP socket).
   *
   * @param remoteAddress `req.socket.remoteAddress`
   * @param forwardedFor `req.headers['x-forwarded-for']`: Node joins repeated lines with
   *   ", "; an array (`headersDistinct`, raw lines) is read as those lines in order.
   */
  resolve(
    remoteAddress: string | undefined,
    forwardedFor: string | readonly string[] | undefined,
  ): string | undefined {
    if (remoteAddress === undefined) return undefined;
    const peer = this.#parseEntry(remoteAddress, 0, remoteAddress.length);
    if (peer === 0) return undefined;
    this.#keep(peer);
    const trusted = this.#trusted;
    if (trusted !== undefined && forwardedFor !== undefined && trusted.has(peer, this.words)) {
      if (typeof forwardedFor === 'string') {
        this.#walk(forwardedFor, trusted);
      } else {
        for (let line = forwardedFor.length - 1; line >= 0; line--) {
          if (this.#walk(forwardedFor[line]!, trusted)) break;
        }
      }
    }
    return this.#token();
  }

  /**
   * Reads one header line right to left. Returns true when the walk is over (an untrusted or
   * a malformed entry); false when every entry was trusted (or empty) and the walk goes on to
   * the line before. `words` holds the best candidate: the last trusted hop, or the client.
   */
  #walk(header: string, trusted: CidrSet): boolean {
    let end = header.length;
    while (end >= 0) {
      let start = end - 1;
      while (start >= 0 && header.charCodeAt(start) !== CHAR_COMMA) start--;
      // The entry is header[start + 1, end).
      let from = start + 1;
      let to = end;
      while (from < to && isSpace(header.charCodeAt(from))) from++;
      while (to > from && isSpace(header.charCodeAt(to - 1))) to--;
      end = start;
      if (from === to) continue; // an empty list member
      const family = this.#parseEntry(header, from, to);
      if (family === 0) return true; // malformed: the last trusted hop stands
      if (!trusted.has(family, this.#scratch)) {
        this.#keep(family);
        return true;
      }
      this.#keep(family);
    }
    return false;
  }

  /** Parses `text[from, to)` as an entry (port, brackets, zone allowed) into the scratch. */
  #parseEntry(text: string, from: number, to: number): AddressFamily | 0 {
    const out = this.#scratch;
    if (text.charCodeAt(from) === CHAR_OPEN) {
      // [v6] or [v6]:port
      let close = from + 1;
      while (close < to && text.charCodeAt(close) !== CHAR_CLOSE) close++;
      if (close === to) return 0;
      if (
        close + 1 !== to &&
        !(text.charCodeAt(close + 1) === CHAR_COLON && isPort(text, close + 2, to))
      ) {
        return 0;
      }
      const family = parseSix(text, from + 1, close, out);
      return family;
    }
    // Whole entry first: a bare IPv6 address is full of colons.
    const whole = from === 0 && to === text.length ? text : text.slice(from, to);
    const family = parseAddress(whole, out);
    if (family !== 0) return family;
    // A zone with characters the parser's alphabet lacks: cut it and try again.
    const percent = whole.indexOf('%');
    if (percent > 0 && percent < whole.length - 1 && whole.lastIndexOf(':', percent) !== -1) {
      return parseAddress(whole.slice(0, percent), out);
    }
    // IPv4 with a port: exactly one colon.
    const colon = whole.indexOf(':');
    if (
      colon > 0 &&
      whole.indexOf(':', colon + 1) === -1 &&
      isPort(whole, colon + 1, whole.length)
    ) {
      // The part before the colon has none, so only a dotted quad can parse.
      return parseAddress(whole.slice(0, colon), out);
    }
    return 0;
  }

  #keep(family: AddressFamily): void {
    this.#family = family;
    const words = this.words;
    const scratch = this.#scratch;
    words[0] = scratch[0]!;
    if (family === 6) {
      words[1] = scratch[1]!;
      words[2] = scratch[2]!;
      words[3] = scratch[3]!;
    }
  }

  #token(): string {
    const words = this.words;
    const cached = this.#cachedWords;
    if (this.#family === 4) {
      const word = words[0]!;
      if (this.#cachedFamily !== 4 || cached[0] !== word) {
        this.#cachedFamily = 4;
        cached[0] = word;
        this.#cachedToken = formatIPv4(word);
      }
      return this.#cachedToken;
    }
    const prefix = this.ipv6Subnet;
    let same = this.#cachedFamily === 6;
    for (let i = 0; i < 4; i++) {
      const keep = prefix - 32 * i;
      const word =
        keep >= 32 ? words[i]! : keep <= 0 ? 0 : (words[i]! & ~(0xffff_ffff >>> keep)) >>> 0;
      if (cached[i] !== word) same = false;
      cached[i] = word;
    }
    if (!same) {
      this.#cachedFamily = 6;
      this.#cachedToken = prefix === 128 ? formatIPv6(cached) : `${formatIPv6(cached)}/${prefix}`;
    }
    return this.#cachedToken;
  }
}

function isSpace(c: number): boolean {
  return c === CHAR_SPACE || c === CHAR_TAB;
}

/** A decimal port, 0 to 65535, in `text[from, to)`. */
function isPort(text: string, from: number, to: number): boolean {
  if (to <= from || to - from > 5) return false;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) return false;
    value = value * 10 + (c - CHAR_0);
  }
  return value <= 65535;
}

/** Parses the inside of brackets: IPv6 text only (IPv4-mapped counts), a zone allowed. */
function parseSix(text: string, from: number, to: number, out: Uint32Array): AddressFamily | 0 {
  let end = to;
  for (let i = from; i < to; i++) {
    if (text.charCodeAt(i) === CHAR_PERCENT) {
      if (i === to - 1) return 0;
      end = i;
      break;
    }
  }
  const inside = text.slice(from, end);
  if (inside.indexOf(':') === -1) return 0; // `[1.2.3.4]` is not how IPv4 is written
  return parseAddress(inside, out);
}
