import { endianness } from 'node:os';
import { StateFileError } from '../errors.js';
import { crc32c } from './crc32c.js';
import type { StateArray, StateImage, StateMeta } from './state-image.js';

/*
 * The one file format of hitwarden's saved state: a fixed header, then the payload — a JSON
 * layout (the engine's `meta` and where each table lies) and the tables' bytes as they are in
 * memory, each aligned to 8 bytes, so a 20M-address tracker is written without turning a
 * slot into text and read back with one copy.
 *
 *   offset  size  field
 *        0     8  magic "HITWARDN"
 *        8     4  format version (u32, 1)
 *       12     4  header length (u32: 48 + the kind, padded to 8)
 *       16     8  creation time (f64, epoch ms)
 *       24     8  payload length (f64, an integer)
 *       32     4  CRC-32C of the payload
 *       36     2  kind length (u16)          38  2  reserved, 0
 *       40     4  CRC-32C of the header      44  4  reserved, 0
 *       48     k  kind (ASCII, e.g. hitwarden.ip-tracker), zero-padded to 8
 *
 * All numbers little-endian. Both checksums must hold before anything is parsed, so a torn or
 * bit-rotted file is refused whole, never half-loaded; the header's own checksum tells a
 * damaged header from a damaged payload in the message.
 */

export const STATE_MAGIC = 'HITWARDN';
export const STATE_FORMAT_VERSION = 1;
const FIXED_HEADER = 48;
const MAX_KIND = 256;

/** Element types by the name the layout records. */
const TYPES = {
  u8: Uint8Array,
  i8: Int8Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  f64: Float64Array,
} as const;
type TypeName = keyof typeof TYPES;

function typeName(array: StateArray): TypeName {
  if (array instanceof Uint8Array) return 'u8';
  if (array instanceof Int8Array) return 'i8';
  if (array instanceof Uint16Array) return 'u16';
  if (array instanceof Int32Array) return 'i32';
  if (array instanceof Uint32Array) return 'u32';
  return 'f64';
}

interface LayoutEntry {
  name: string;
  type: TypeName;
  length: number;
  /** From the payload's start. */
  offset: number;
}

/** A zeroed table of `length` elements on a `SharedArrayBuffer` of its own. */
function sharedTable(type: TypeName, length: number): StateArray {
  const buffer = new SharedArrayBuffer(length * TYPES[type].BYTES_PER_ELEMENT);
  switch (type) {
    case 'u8':
      return new Uint8Array(buffer);
    case 'i8':
      return new Int8Array(buffer);
    case 'u16':
      return new Uint16Array(buffer);
    case 'i32':
      return new Int32Array(buffer);
    case 'u32':
      return new Uint32Array(buffer);
    case 'f64':
      return new Float64Array(buffer);
  }
}

/** A state ready to write: the header and the payload's pieces, in order. */
export interface EncodedState {
  readonly header: Uint8Array;
  /** The payload: the layout, then each table (views of the engine's own memory), with the
   *  padding between them. */
  readonly parts: readonly Uint8Array[];
  readonly payloadLength: number;
}

export interface DecodedState {
  readonly kind: string;
  readonly version: number;
  readonly createdAt: number;
  readonly image: StateImage;
}

/** The checksum runs in steps of this many bytes (~15 µs each once compiled), and lets the
 *  event loop run once a run of steps has taken `CRC_SLICE_MS`. A bound in bytes alone was
 *  not one in time: before V8 has compiled `crc32c` the first megabyte took 6–13 ms, and
 *  even a first step of 64 KiB ~5 ms. */
const CRC_STEP_BYTES = 16 << 10;
const CRC_SLICE_MS = 1;

const pad8 = (n: number) => (8 - (n % 8)) % 8;

function checkHost(file: string): void {
  if (endianness() !== 'LE') {
    throw new StateFileError(file, 'io', 'state files are little-endian; this host is big-endian');
  }
}

/**
 * Lays out `image` as a file of `kind` made at `createdAt`. The checksum is computed in
 * slices of about a millisecond with the event loop let run between them (`yieldToLoop`), so
 * a state of hundreds of megabytes costs the caller no long pause.
 */
export async function encodeState(
  kind: string,
  image: StateImage,
  createdAt: number,
  yieldToLoop: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<EncodedState> {
  checkHost('state');
  const entries: LayoutEntry[] = [];
  const tables: Uint8Array[] = [];
  const names = Object.keys(image.arrays);
  // The layout's length depends on the offsets it records: lay the tables out after a
  // generous guess and grow the guess until the JSON fits before them.
  let reserve = 256 + JSON.stringify(image.meta).length * 3 + names.length * 96;
  let layoutBytes: Buffer;
  for (;;) {
    entries.length = 0;
    tables.length = 0;
    let offset = 4 + reserve;
    offset += pad8(offset);
    for (const name of names) {
      const array = image.arrays[name]!;
      entries.push({ name, type: typeName(array), length: array.length, offset });
      tables.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      offset += array.byteLength + pad8(array.byteLength);
    }
    layoutBytes = Buffer.from(JSON.stringify({ meta: image.meta, arrays: entries }), 'utf8');
    if (layoutBytes.length <= reserve) break;
    reserve = layoutBytes.length * 2;
  }
  const lead = new Uint8Array(entries.length === 0 ? 4 + layoutBytes.length : entries[0]!.offset);
  new DataView(lead.buffer).setUint32(0, layoutBytes.length, true);
  lead.set(layoutBytes, 4);
  const parts: Uint8Array[] = [lead];
  let payloadLength = lead.length;
  for (let i = 0; i < tables.length; i++) {
    parts.push(tables[i]!);
    payloadLength += tables[i]!.length;
    const padding = pad8(tables[i]!.length);
    if (padding > 0 && i < tables.length - 1) {
      parts.push(new Uint8Array(padding));
      payloadLength += padding;
    }
  }
  let crc = 0;
  let sliceStart = performance.now();
  for (const part of parts) {
    for (let at = 0; at < part.length; at += CRC_STEP_BYTES) {
      crc = crc32c(part.subarray(at, Math.min(part.length, at + CRC_STEP_BYTES)), crc);
      if (performance.now() - sliceStart >= CRC_SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  }
  return { header: header(kind, createdAt, payloadLength, crc), parts, payloadLength };
}

function header(
  kind: string,
  createdAt: number,
  payloadLength: number,
  payloadCrc: number,
): Uint8Array {
  const kindBytes = Buffer.from(kind, 'latin1');
  if (kindBytes.length === 0 || kindBytes.length > MAX_KIND || !/^[\x21-\x7e]+$/.test(kind)) {
    throw new StateFileError(kind, 'kind', 'a state kind is 1 to 256 printable ASCII characters');
  }
  const length = FIXED_HEADER + kindBytes.length + pad8(kindBytes.length);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set(Buffer.from(STATE_MAGIC, 'latin1'), 0);
  view.setUint32(8, STATE_FORMAT_VERSION, true);
  view.setUint32(12, length, true);
  view.setFloat64(16, createdAt, true);
  view.setFloat64(24, payloadLength, true);
  view.setUint32(32, payloadCrc, true);
  view.setUint16(36, kindBytes.length, true);
  bytes.set(kindBytes, FIXED_HEADER);
  view.setUint32(40, headerCrc(bytes), true);
  return bytes;
}

/** The header's checksum: over its bytes with the checksum's own four taken as zero. */
function headerCrc(bytes: Uint8Array): number {
  // A copy whatever `bytes` is (a Buffer's slice() is a view, not a copy).
  const copy = new Uint8Array(bytes);
  copy.fill(0, 40, 44);
  return crc32c(copy);
}

/**
 * Where a state's bytes come from: a file being read (`src/persist/saved-state.ts`) or bytes
 * already in memory (`bytesSource`). Reading is by position so that a table's bytes go
 * straight into the typed array it becomes.
 */
export interface StateSource {
  /** Bytes in all. */
  readonly length: number;
  /** Fills the whole of `into` with the bytes from `position` on (never past `length`). */
  read(into: Uint8Array, position: number): Promise<void>;
}

/** The bytes of a state already in memory, as a source. */
export function bytesSource(bytes: Uint8Array): StateSource {
  return {
    length: bytes.length,
    read: async (into, position) => {
      into.set(bytes.subarray(position, position + into.length));
    },
  };
}

/** Bytes read (and checksummed) per step: a table arrives in slices this big, the next one
 *  read while the last is checksummed. */
export const READ_SLICE_BYTES = 4 << 20;

/**
 * Reads a whole state back into its image, refusing — with a `StateFileError` that says which
 * and why — anything that is not exactly a state of `kind` this build can read: another file
 * (`magic`), another format version (`version`), another engine's state (`kind`), a file cut
 * short (`truncated`), or a checksum or layout that does not hold (`corrupt`).
 *
 * Each table is read straight into a typed array of its own on a `SharedArrayBuffer` — one
 * copy from the file, none after, and memory V8 does not count as external pressure
 * (`src/shared-arrays.ts`) — so an engine can adopt it (`LoadStateOptions.adopt`). The
 * payload's checksum runs along as the slices arrive and must hold before anything is
 * returned; when the layout itself does not parse, the checksum still decides the message, so
 * a damaged file is always reported as one.
 */
export async function readState(
  source: StateSource,
  file: string,
  kind: string,
): Promise<DecodedState> {
  checkHost(file);
  const head = new Uint8Array(Math.min(source.length, FIXED_HEADER + MAX_KIND + 8));
  await source.read(head, 0);
  const header = checkHeader(head, source.length, file, kind);
  const payload = new ChecksummedPayload(source, header.headerLength, header.payloadLength);
  const corrupt = async (why: string) => {
    await payload.skipTo(header.payloadLength);
    return payload.crc !== header.payloadCrc
      ? checksumMismatch(file)
      : new StateFileError(file, 'corrupt', `corrupt layout (${why})`);
  };
  const lead = new Uint8Array(4);
  await payload.into(lead);
  const layoutLength = new DataView(lead.buffer).getUint32(0, true);
  if (4 + layoutLength > header.payloadLength)
    throw await corrupt('its length runs past the payload');
  const layoutBytes = new Uint8Array(layoutLength);
  await payload.into(layoutBytes);
  const layout = parseLayout(layoutBytes, header.payloadLength);
  if (typeof layout === 'string') throw await corrupt(layout);
  const arrays: Record<string, StateArray> = Object.create(null);
  for (const entry of layout.entries) {
    await payload.skipTo(entry.offset);
    const table = sharedTable(entry.type, entry.length);
    await payload.into(new Uint8Array(table.buffer));
    arrays[entry.name] = table;
  }
  await payload.skipTo(header.payloadLength);
  if (payload.crc !== header.payloadCrc) throw checksumMismatch(file);
  return {
    kind,
    version: header.version,
    createdAt: header.createdAt,
    image: { meta: layout.meta, arrays },
  };
}

/** `readState` of bytes in memory. */
export function decodeState(bytes: Uint8Array, file: string, kind: string): Promise<DecodedState> {
  return readState(bytesSource(bytes), file, kind);
}

const checksumMismatch = (file: string) =>
  new StateFileError(file, 'corrupt', 'corrupt payload (checksum mismatch)');

interface CheckedHeader {
  readonly version: number;
  readonly createdAt: number;
  readonly headerLength: number;
  readonly payloadLength: number;
  readonly payloadCrc: number;
}

/** Checks the header in `head` (the file's first bytes) of a file of `length` bytes. */
function checkHeader(head: Uint8Array, length: number, file: string, kind: string): CheckedHeader {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const cutShort = () =>
    new StateFileError(
      file,
      'truncated',
      `cut short: ${length} bytes, less than the ${FIXED_HEADER}-byte header`,
    );
  const start = Buffer.from(head.subarray(0, 8)).toString('latin1');
  if (length < 8 && STATE_MAGIC.startsWith(start)) throw cutShort();
  if (start !== STATE_MAGIC) {
    throw new StateFileError(
      file,
      'magic',
      'not a hitwarden state file (no HITWARDN magic at its start)',
    );
  }
  if (length < FIXED_HEADER) throw cutShort();
  const version = view.getUint32(8, true);
  const headerLength = view.getUint32(12, true);
  const kindLength = view.getUint16(36, true);
  if (
    headerLength !== FIXED_HEADER + kindLength + pad8(kindLength) ||
    kindLength === 0 ||
    kindLength > MAX_KIND
  ) {
    throw new StateFileError(file, 'corrupt', 'corrupt header (its lengths do not agree)');
  }
  if (length < headerLength) {
    throw new StateFileError(
      file,
      'truncated',
      `cut short inside its header (${length} of ${headerLength} bytes)`,
    );
  }
  if (headerCrc(head.subarray(0, headerLength)) !== view.getUint32(40, true)) {
    throw new StateFileError(file, 'corrupt', 'corrupt header (checksum mismatch)');
  }
  if (version !== STATE_FORMAT_VERSION) {
    throw new StateFileError(
      file,
      'version',
      `format version ${version}; this version of hitwarden reads version ${STATE_FORMAT_VERSION}`,
    );
  }
  const fileKind = Buffer.from(head.subarray(FIXED_HEADER, FIXED_HEADER + kindLength)).toString(
    'latin1',
  );
  if (fileKind !== kind) {
    throw new StateFileError(file, 'kind', `holds a ${fileKind} state, not a ${kind} one`);
  }
  const payloadLength = view.getFloat64(24, true);
  if (!Number.isSafeInteger(payloadLength) || payloadLength < 4) {
    throw new StateFileError(file, 'corrupt', 'corrupt header (payload length)');
  }
  const end = headerLength + payloadLength;
  if (length < end) {
    throw new StateFileError(
      file,
      'truncated',
      `cut short: ${length} bytes of the ${end} its header promises`,
    );
  }
  if (length > end) {
    throw new StateFileError(
      file,
      'corrupt',
      `${length - end} bytes past the end its header gives`,
    );
  }
  return {
    version,
    createdAt: view.getFloat64(16, true),
    headerLength,
    payloadLength,
    payloadCrc: view.getUint32(32, true),
  };
}

/** The layout's meta and tables, or why it does not hold. */
function parseLayout(
  bytes: Uint8Array,
  payloadLength: number,
): { meta: { readonly [key: string]: StateMeta }; entries: LayoutEntry[] } | string {
  let layout: unknown;
  try {
    layout = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return 'not JSON';
  }
  const { meta, arrays } = (layout ?? {}) as { meta?: unknown; arrays?: unknown };
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || !Array.isArray(arrays)) {
    return 'no meta or arrays';
  }
  const names = new Set<string>();
  let previousEnd = 4 + bytes.length;
  for (const entry of arrays as LayoutEntry[]) {
    const Type = entry !== null && typeof entry === 'object' ? TYPES[entry.type] : undefined;
    if (
      Type === undefined ||
      !Object.hasOwn(TYPES, entry.type) ||
      typeof entry.name !== 'string' ||
      names.has(entry.name) ||
      !Number.isSafeInteger(entry.length) ||
      !Number.isSafeInteger(entry.offset) ||
      entry.length < 0 ||
      entry.offset < previousEnd ||
      entry.offset % 8 !== 0
    ) {
      return `table ${JSON.stringify(entry?.name ?? null)}`;
    }
    const end = entry.offset + entry.length * Type.BYTES_PER_ELEMENT;
    if (end > payloadLength) return `table ${JSON.stringify(entry.name)} runs past the payload`;
    names.add(entry.name);
    previousEnd = end;
  }
  return { meta: meta as { readonly [key: string]: StateMeta }, entries: arrays as LayoutEntry[] };
}

/**
 * The payload read front to back, its CRC-32C kept as it goes. `into` fills an array from
 * where the last read ended, a slice at a time, the next slice read while the last one is
 * checksummed; `skipTo` reads (and checksums) the padding up to an offset.
 */
class ChecksummedPayload {
  crc = 0;
  /** From the payload's start. */
  #at = 0;
  readonly #source: StateSource;
  readonly #start: number;
  readonly #length: number;

  constructor(source: StateSource, start: number, length: number) {
    this.#source = source;
    this.#start = start;
    this.#length = length;
  }

  async into(target: Uint8Array): Promise<void> {
    const slices = Math.ceil(target.length / READ_SLICE_BYTES);
    const sliceAt = (k: number) =>
      target.subarray(k * READ_SLICE_BYTES, Math.min(target.length, (k + 1) * READ_SLICE_BYTES));
    const base = this.#start + this.#at;
    let pending = slices === 0 ? undefined : this.#source.read(sliceAt(0), base);
    for (let k = 0; k < slices; k++) {
      await pending;
      pending =
        k + 1 < slices
          ? this.#source.read(sliceAt(k + 1), base + (k + 1) * READ_SLICE_BYTES)
          : undefined;
      this.crc = crc32c(sliceAt(k), this.crc);
    }
    this.#at += target.length;
  }

  async skipTo(offset: number): Promise<void> {
    const end = Math.min(offset, this.#length);
    while (this.#at < end)
      await this.into(new Uint8Array(Math.min(end - this.#at, READ_SLICE_BYTES)));
  }
}
