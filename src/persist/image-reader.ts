import { quoteInput, SnapshotError } from '../errors.js';
import type { StateArray, StateImage, StateMeta } from './state-image.js';

/*
 * The checks every engine runs on an image before it changes anything: the envelope
 * (`format`, `version`), each meta field's type and range, each array's element type and
 * length. A failed check is a `SnapshotError` whose path names the part (`meta.topN`,
 * `arrays.v4Slots`), so a hand-edited or buggy image is refused with a reason, never half
 * loaded. The engines' own consistency checks (a table's slots reachable, a ring in time
 * order) come after these and use the same paths.
 */

type ArrayType<T extends StateArray> = {
  new (length: number): T;
  readonly name: string;
};

export interface NumberRule {
  /** Whole numbers only. @default false */
  integer?: boolean;
  min?: number;
  max?: number;
}

export class ImageReader {
  readonly meta: { readonly [key: string]: StateMeta };
  readonly #arrays: { readonly [name: string]: StateArray };

  /** Checks the envelope: an object with `meta` and `arrays`, `meta.format === format` and
   *  `meta.version === version`. */
  constructor(image: unknown, format: string, version: number) {
    if (image === null || typeof image !== 'object') {
      throw new SnapshotError('image', `must be an object, got ${quoteInput(image)}`);
    }
    const { meta, arrays } = image as Partial<StateImage>;
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
      throw new SnapshotError('meta', `must be an object, got ${quoteInput(meta)}`);
    }
    if (arrays === null || typeof arrays !== 'object' || Array.isArray(arrays)) {
      throw new SnapshotError('arrays', `must be an object, got ${quoteInput(arrays)}`);
    }
    this.meta = meta;
    this.#arrays = arrays;
    if (meta.format !== format) {
      throw new SnapshotError(
        'meta.format',
        `must be ${quoteInput(format)}, got ${quoteInput(meta.format)}`,
      );
    }
    if (meta.version !== version) {
      throw new SnapshotError(
        'meta.version',
        `must be ${version} (this version of hitwarden reads no other), got ${quoteInput(meta.version)}`,
      );
    }
  }

  /** A finite number under `rule`. */
  number(key: string, rule: NumberRule = {}): number {
    return checkNumber(`meta.${key}`, this.field(key), rule);
  }

  boolean(key: string): boolean {
    const value = this.field(key);
    if (typeof value !== 'boolean') {
      throw new SnapshotError(`meta.${key}`, `must be a boolean, got ${quoteInput(value)}`);
    }
    return value;
  }

  /** The raw value; `undefined` when absent (an own property only). */
  field(key: string): StateMeta | undefined {
    return Object.hasOwn(this.meta, key) ? this.meta[key] : undefined;
  }

  /** The array `name`, of exactly the type `type` (and `length` elements when given). */
  array<T extends StateArray>(name: string, type: ArrayType<T>, length?: number): T {
    const value = Object.hasOwn(this.#arrays, name) ? this.#arrays[name] : undefined;
    if (!(value instanceof type)) {
      throw new SnapshotError(
        `arrays.${name}`,
        `must be a ${type.name}, got ${value === undefined ? 'nothing' : describe(value)}`,
      );
    }
    if (length !== undefined && value.length !== length) {
      throw new SnapshotError(
        `arrays.${name}`,
        `must hold ${length} elements, holds ${value.length}`,
      );
    }
    return value;
  }

  /** Whether the image has an array called `name`. */
  hasArray(name: string): boolean {
    return Object.hasOwn(this.#arrays, name);
  }
}

/** A finite number under `rule`, or a SnapshotError at `path`. */
export function checkNumber(path: string, value: unknown, rule: NumberRule = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SnapshotError(path, `must be a finite number, got ${quoteInput(value)}`);
  }
  if (rule.integer === true && !Number.isInteger(value)) {
    throw new SnapshotError(path, `must be a whole number, got ${quoteInput(value)}`);
  }
  if (rule.min !== undefined && value < rule.min) {
    throw new SnapshotError(path, `must be at least ${rule.min}, got ${quoteInput(value)}`);
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new SnapshotError(path, `must be at most ${rule.max}, got ${quoteInput(value)}`);
  }
  return value;
}

/** A JSON object (not an array), or a SnapshotError at `path`. */
export function checkObject(path: string, value: unknown): { readonly [key: string]: StateMeta } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SnapshotError(path, `must be an object, got ${quoteInput(value)}`);
  }
  return value as { readonly [key: string]: StateMeta };
}

/** A JSON array, or a SnapshotError at `path`. */
export function checkArray(path: string, value: unknown): readonly StateMeta[] {
  if (!Array.isArray(value)) {
    throw new SnapshotError(path, `must be an array, got ${quoteInput(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return quoteInput(value);
}

/** Copies `source` into a typed array made by `make` (e.g. a shared one), element for element. */
export function copyInto<T extends StateArray>(make: (length: number) => T, source: T): T {
  const copy = make(source.length);
  copy.set(source as never);
  return copy;
}
