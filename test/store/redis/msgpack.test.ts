import { describe, expect, it } from 'vitest';
import { unpackNumbers } from '../../../src/store/redis/msgpack.js';

describe('unpackNumbers: the decide script reply', () => {
  it('reads every integer and float encoding a Lua array of numbers packs to', () => {
    const bytes = Buffer.from([
      0x9c, // fixarray of 12
      0x00,
      0x7f,
      0xff, // -1
      0xe0, // -32
      0xcc,
      0xc8, // 200
      0xcd,
      0x01,
      0x00, // 256
      0xce,
      0x00,
      0x01,
      0x11,
      0x70, // 70000
      0xcf,
      0x00,
      0x00,
      0x01,
      0x9a,
      0xb6,
      0x97,
      0xe8,
      0x7b, // 1764000000123
      0xd0,
      0x80, // -128
      0xd1,
      0xff,
      0x38, // -200
      0xd2,
      0xff,
      0xfe,
      0xee,
      0x90, // -70000
      0xcb,
      0x3f,
      0xf8,
      0,
      0,
      0,
      0,
      0,
      0, // 1.5
    ]);
    expect(unpackNumbers(bytes)).toEqual([
      0, 127, -1, -32, 200, 256, 70000, 1764000000123, -128, -200, -70000, 1.5,
    ]);
  });

  it('reads array16 headers and rejects what is not an array of numbers', () => {
    const long = Buffer.concat([Buffer.from([0xdc, 0x00, 0x20]), Buffer.alloc(32, 0x05)]);
    expect(unpackNumbers(long)).toEqual(new Array(32).fill(5));
    expect(() => unpackNumbers(Buffer.from('OK'))).toThrow(/expected an array/);
    expect(() => unpackNumbers(Buffer.from([0x91, 0xa1, 0x61]))).toThrow(/expected a number/);
    expect(() => unpackNumbers(Buffer.from([0x92, 0x01]))).toThrow(/cut short/);
    expect(() => unpackNumbers(Buffer.from([0x91, 0x01, 0x02]))).toThrow(/trailing/);
  });

  it('reads every integer width and float64, and arrays of 16-bit and 32-bit length', () => {
    const values = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    values.push(1.5, -3, 31_622_400_000);
    expect(unpackNumbers(packNumbers(values))).toEqual(values);
    const long = Array.from({ length: 70_000 }, (_, i) => i);
    expect(unpackNumbers(packNumbers(long))).toEqual(long);
  });
});

/**
 * The test's encoder: numbers as a MessagePack array, every encoding cmsgpack may answer with
 * (non-negative safe integers in the shortest unsigned one, anything else a float64).
 */
function packNumbers(values: readonly number[]): Buffer {
  const out = Buffer.alloc(5 + 9 * values.length);
  let at = 0;
  if (values.length < 16) {
    out[at++] = 0x90 | values.length;
  } else if (values.length < 0x10000) {
    out[at++] = 0xdc;
    out.writeUInt16BE(values.length, at);
    at += 2;
  } else {
    out[at++] = 0xdd;
    out.writeUInt32BE(values.length, at);
    at += 4;
  }
  for (const value of values) {
    if (!Number.isSafeInteger(value) || value < 0) {
      out[at++] = 0xcb;
      out.writeDoubleBE(value, at);
      at += 8;
    } else if (value < 0x80) {
      out[at++] = value;
    } else if (value < 0x100) {
      out[at++] = 0xcc;
      out[at++] = value;
    } else if (value < 0x10000) {
      out[at++] = 0xcd;
      out.writeUInt16BE(value, at);
      at += 2;
    } else if (value < 0x100000000) {
      out[at++] = 0xce;
      out.writeUInt32BE(value, at);
      at += 4;
    } else {
      out[at++] = 0xcf;
      out.writeBigUInt64BE(BigInt(value), at);
      at += 8;
    }
  }
  return out.subarray(0, at);
}
