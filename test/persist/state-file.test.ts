import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateFileError } from '../../src/errors.js';
import { crc32c } from '../../src/persist/crc32c.js';
import { decodeState, encodeState, STATE_FORMAT_VERSION } from '../../src/persist/state-file.js';
import type { StateArray, StateImage } from '../../src/persist/state-image.js';

const now = () => Promise.resolve();

async function fileOf(
  kind: string,
  image: StateImage,
  createdAt = 1_764_547_200_000,
): Promise<Uint8Array> {
  const encoded = await encodeState(kind, image, createdAt, now);
  return Buffer.concat([encoded.header, ...encoded.parts]);
}

const array: fc.Arbitrary<StateArray> = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((v) => Uint8Array.from(v)),
  fc.array(fc.integer({ min: -128, max: 127 }), { maxLength: 40 }).map((v) => Int8Array.from(v)),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((v) => Uint16Array.from(v)),
  fc.array(fc.integer(), { maxLength: 40 }).map((v) => Int32Array.from(v)),
  fc.array(fc.nat(), { maxLength: 40 }).map((v) => Uint32Array.from(v)),
  fc.array(fc.double(), { maxLength: 40 }).map((v) => Float64Array.from(v)),
);
const image: fc.Arbitrary<StateImage> = fc.record({
  meta: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
    maxKeys: 6,
  }) as fc.Arbitrary<StateImage['meta']>,
  arrays: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), array, { maxKeys: 5 }),
});

function expectSame(actual: StateImage, expected: StateImage): void {
  expect(actual.meta).toEqual(JSON.parse(JSON.stringify(expected.meta)));
  expect(Object.keys(actual.arrays)).toEqual(Object.keys(expected.arrays));
  for (const [name, values] of Object.entries(expected.arrays)) {
    const got = actual.arrays[name]!;
    expect(got.constructor).toBe(values.constructor);
    // Byte for byte: NaN payloads and -0 included.
    expect(
      Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(
        Buffer.from(values.buffer, values.byteOffset, values.byteLength),
      ),
    ).toBe(true);
  }
}

/** Decodes, returning the error's problem (or 'loaded'). */
async function outcome(bytes: Uint8Array, kind = 'test.kind'): Promise<string> {
  try {
    await decodeState(bytes, 'state.bin', kind);
    return 'loaded';
  } catch (error) {
    if (!(error instanceof StateFileError)) throw error;
    return error.problem;
  }
}

describe('the state file format', () => {
  it('reads back every image exactly', async () => {
    await fc.assert(
      fc.asyncProperty(image, fc.integer({ min: 0, max: 2 ** 42 }), async (state, createdAt) => {
        const decoded = await decodeState(
          await fileOf('test.kind', state, createdAt),
          'state.bin',
          'test.kind',
        );
        expect(decoded.kind).toBe('test.kind');
        expect(decoded.version).toBe(STATE_FORMAT_VERSION);
        expect(decoded.createdAt).toBe(createdAt);
        expectSame(decoded.image, state);
      }),
      { numRuns: 300 },
    );
  });

  const small: StateImage = {
    meta: { format: 'test', n: 3, when: 1_764_547_200_000 },
    arrays: { counts: Uint32Array.of(1, 2, 3, 0xffffffff), times: Float64Array.of(1.5, -0) },
  };

  it('refuses a file cut short at every length, saying so', async () => {
    const bytes = await fileOf('test.kind', small);
    for (let length = 0; length < bytes.length; length++) {
      expect(await outcome(bytes.subarray(0, length)), `length ${length}`).toBe('truncated');
    }
    expect(await outcome(bytes)).toBe('loaded');
  });

  it('refuses a flipped bit anywhere, never loading garbage', async () => {
    const bytes = await fileOf('test.kind', small);
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 3, 7]) {
        const copy = Uint8Array.from(bytes);
        copy[i]! ^= 1 << bit;
        const result = await outcome(copy);
        expect(['magic', 'corrupt', 'truncated'], `byte ${i} bit ${bit}: ${result}`).toContain(
          result,
        );
      }
    }
  });

  it('names a wrong magic, version or kind', async () => {
    const bytes = await fileOf('test.kind', small);
    const other = Uint8Array.from(bytes);
    other.set(Buffer.from('NOTMINE!'), 0);
    await expect(decodeState(other, 'x.bin', 'test.kind')).rejects.toThrow(
      /x\.bin: not a hitwarden state file/,
    );

    // A later format version, with a header whose checksum holds: the version is what fails.
    const later = Uint8Array.from(bytes);
    const view = new DataView(later.buffer);
    view.setUint32(8, STATE_FORMAT_VERSION + 1, true);
    const headerLength = view.getUint32(12, true);
    const forCrc = later.slice(0, headerLength);
    forCrc.fill(0, 40, 44);
    view.setUint32(40, crc32c(forCrc), true);
    await expect(decodeState(later, 'x.bin', 'test.kind')).rejects.toThrow(
      new StateFileError(
        'x.bin',
        'version',
        `format version ${STATE_FORMAT_VERSION + 1}; this version of hitwarden reads version ${STATE_FORMAT_VERSION}`,
      ),
    );
    expect(await outcome(bytes, 'hitwarden.ip-tracker')).toBe('kind');
    await expect(decodeState(bytes, 'x.bin', 'hitwarden.ip-tracker')).rejects.toThrow(
      /holds a test\.kind state, not a hitwarden\.ip-tracker one/,
    );
  });

  it('computes CRC-32C (the check value of the standard)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 255));
    expect(crc32c(bytes.subarray(333), crc32c(bytes.subarray(0, 333)))).toBe(crc32c(bytes));
  });

  it('CRC-32C of any bytes at any alignment, in any split, is the bit-at-a-time definition', () => {
    // The definition itself: reflected, polynomial 0x82F63B78, one bit per step.
    const oracle = (bytes: Uint8Array) => {
      let c = 0xffffffff;
      for (const byte of bytes) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 7 }),
        fc.nat(),
        (given, offset, cut) => {
          const backing = new Uint8Array(new SharedArrayBuffer(given.length + 8));
          const bytes = backing.subarray(offset, offset + given.length);
          bytes.set(given);
          const split = given.length === 0 ? 0 : cut % (given.length + 1);
          expect(crc32c(bytes)).toBe(oracle(given));
          expect(crc32c(bytes.subarray(split), crc32c(bytes.subarray(0, split)))).toBe(
            oracle(given),
          );
        },
      ),
    );
  });
});
