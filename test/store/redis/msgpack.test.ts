import { describe, expect, it } from 'vitest';
import { packNumbers, unpackNumbers } from '../../../src/store/redis/msgpack.js';

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

  it('packNumbers writes what unpackNumbers (and cmsgpack) reads, shortest encoding first', () => {
    const values = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    values.push(1.5, -3, 31_622_400_000);
    expect(unpackNumbers(packNumbers(values))).toEqual(values);
    expect(packNumbers([1, 2, 3])).toEqual(Buffer.from([0x93, 1, 2, 3]));
    const long = Array.from({ length: 70_000 }, (_, i) => i);
    expect(unpackNumbers(packNumbers(long))).toEqual(long);
  });
});
