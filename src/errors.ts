/** The `code` of every hitwarden error, for a `switch` that the compiler checks. */
export type HitwardenErrorCode =
  | 'HITWARDEN_INVALID_IP'
  | 'HITWARDEN_CONFIG'
  | 'HITWARDEN_STORE'
  | 'HITWARDEN_INVALID_TIME'
  | 'HITWARDEN_SNAPSHOT'
  | 'HITWARDEN_INVALID_KEY'
  | 'HITWARDEN_CAPACITY'
  | 'HITWARDEN_LOG_READ'
  | 'HITWARDEN_STATE_FILE';

/**
 * Every error hitwarden throws on purpose. Callers can branch on the class (or on `code`,
 * which survives serialisation across processes) instead of matching message text.
 */
export class HitwardenError extends Error {
  readonly code: HitwardenErrorCode;

  constructor(code: HitwardenErrorCode, message: string, options?: ErrorOptions) {
    super(bounded(message), options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Longest message a hitwarden error carries: past it the text is cut, so no input, however
 *  large, can make a multi-megabyte message (a 1 MB metric name in a config path, say). */
export const MAX_MESSAGE_LENGTH = 1000;

/** Quotes user input for an error message: strings as JSON so control characters show, cut
 *  so a multi-megabyte string does not become a multi-megabyte message; other values by
 *  what they are (numbers as written, so `NaN` and `-1` show), never by calling into them. */
export function quoteInput(value: unknown, maxLength = 80): string {
  switch (typeof value) {
    case 'string': {
      const shown = value.length > maxLength ? `${value.slice(0, maxLength)}…` : value;
      const quoted = JSON.stringify(shown);
      return value.length > maxLength ? `${quoted} (${value.length} characters)` : quoted;
    }
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return String(value);
    case 'bigint':
      return 'a BigInt';
    case 'symbol':
      return 'a symbol';
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}

/** `text` cut to `MAX_MESSAGE_LENGTH` characters. */
function bounded(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : text;
}

/** An address that is not an IPv4 or IPv6 address in text form. */
export class InvalidIpError extends HitwardenError {
  /** The rejected input, as given. */
  readonly input: unknown;

  constructor(input: unknown, reason?: string) {
    super(
      'HITWARDEN_INVALID_IP',
      `Invalid IP address ${quoteInput(input)}${reason ? `: ${reason}` : ''}`,
    );
    this.input = input;
  }
}

/** A configuration or option that breaks a rule; `path` names where, e.g.
 *  `bans.login_failed.thresholds[1].limit`. */
export class ConfigError extends HitwardenError {
  readonly path: string;

  constructor(path: string, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_CONFIG', `${path}: ${rule}`, options);
    this.path = bounded(path);
  }
}

/** A store (Redis, a snapshot file) failed; `cause` holds the underlying error. */
export class StoreError extends HitwardenError {
  constructor(message: string, options?: ErrorOptions) {
    super('HITWARDEN_STORE', message, options);
  }
}

/** A timestamp or a span that hitwarden cannot use: not a finite number, a negative span, a
 *  span longer than the strategy keeps. `field` names the argument, e.g. `lastSeconds`. */
export class InvalidTimeError extends HitwardenError {
  readonly field: string;
  /** The rejected value, as given. */
  readonly value: unknown;

  constructor(field: string, value: unknown, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_INVALID_TIME', `${field} = ${quoteInput(value)}: ${rule}`, options);
    this.field = field;
    this.value = value;
  }
}

/** A hit stamped further in the future than the tolerance allows: usually a skewed clock on
 *  the caller's side, or seconds passed where milliseconds are expected. */
export class FutureTimestampError extends InvalidTimeError {
  /** Epoch milliseconds of the refused timestamp and of the clock when it was refused. */
  readonly at: number;
  readonly now: number;

  constructor(at: number, now: number, toleranceSeconds: number) {
    super(
      'at',
      at,
      `${((at - now) / 1000).toFixed(3)} s ahead of the clock (${now}); at most ${toleranceSeconds} s is tolerated`,
    );
    this.at = at;
    this.now = now;
  }
}

/** A snapshot that cannot be restored: malformed, of another format version, or taken with
 *  another strategy. `path` names the offending part, e.g. `keys[3].data`. */
export class SnapshotError extends HitwardenError {
  readonly path: string;

  constructor(path: string, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_SNAPSHOT', `${path}: ${rule}`, options);
    this.path = bounded(path);
  }
}

/** A table is at its size limit and refuses to grow (or the system refused the memory to
 *  grow it); `limit` names the option that bounds it, e.g. `HitCounter.maxKeys`. */
export class CapacityError extends HitwardenError {
  readonly limit: string;

  constructor(limit: string, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_CAPACITY', `${limit}: ${rule}`, options);
    this.limit = bounded(limit);
  }
}

/** A log `hitwarden analyze` was given cannot be read: missing, unreadable, or a gzip stream
 *  that is corrupt or cut short. `file` names it (`-` for standard input). */
export class LogReadError extends HitwardenError {
  readonly file: string;

  constructor(file: string, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_LOG_READ', `${file}: ${rule}`, options);
    this.file = bounded(file);
  }
}

/** What is wrong with a state file: `magic` (not a hitwarden state file), `version` (another
 *  format version), `kind` (another engine's state), `truncated`, `corrupt` (a checksum or a
 *  layout that does not hold), or `io` (the file could not be read, written or renamed). */
export type StateFileProblem = 'magic' | 'version' | 'kind' | 'truncated' | 'corrupt' | 'io';

/** A state file that cannot be saved or loaded; `file` names it, `problem` says which way. */
export class StateFileError extends HitwardenError {
  readonly file: string;
  readonly problem: StateFileProblem;

  constructor(file: string, problem: StateFileProblem, rule: string, options?: ErrorOptions) {
    super('HITWARDEN_STATE_FILE', `${file}: ${rule}`, options);
    this.file = bounded(file);
    this.problem = problem;
  }
}
