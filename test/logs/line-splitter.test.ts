import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/logs/line-splitter.js';

type Seen = { number: number; line?: string; tooLong?: true };

/** The splitter's lines for `text` cut into chunks at `cuts`. */
function split(bytes: Buffer, cuts: number[], max: number): Seen[] {
  const seen: Seen[] = [];
  const splitter = new LineSplitter(
    {
      line(text, start, end, chunk, number) {
        // The text and the bytes must be the same line.
        expect(chunk.toString('latin1', start, end)).toBe(text.slice(start, end));
        seen.push({ number, line: text.slice(start, end) });
      },
      tooLong(number) {
        seen.push({ number, tooLong: true });
      },
    },
    max,
  );
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(at, cut));
    at = cut;
  }
  splitter.end();
  return seen;
}

/** The simple reading: split the whole text on \n, drop one \r before it. */
function oracle(bytes: Buffer, max: number): Seen[] {
  const text = bytes.toString('latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const cut = line.endsWith('\r') ? line.slice(0, -1) : line;
    return cut.length > max ? { number: i + 1, tooLong: true } : { number: i + 1, line: cut };
  });
}

const piece = fc.oneof(
  fc.constantFrom('\n', '\r\n', '\r', 'abc', '1.2.3.4 - -', '"q"', '\0', '\xff\xfe', 'é'),
  fc.string({ maxLength: 12 }),
);
const logText = fc
  .array(piece, { maxLength: 40 })
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));

describe('LineSplitter', () => {
  it('gives the lines of a simple split, wherever one cut falls', () => {
    fc.assert(
      fc.property(logText, fc.integer({ min: 1, max: 30 }), (bytes, max) => {
        const expected = oracle(bytes, max);
        for (let cut = 0; cut <= bytes.length; cut++)
          expect(split(bytes, [cut], max)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the lines of a simple split for any chunking', () => {
    fc.assert(
      fc.property(
        logText,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 1, max: 30 }),
        (bytes, raw, max) => {
          const cuts = [...new Set(raw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          expect(split(bytes, cuts, max)).toEqual(oracle(bytes, max));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never holds more than the limit of a runaway line', () => {
    const seen: Seen[] = [];
    const splitter = new LineSplitter(
      {
        line: (_t, s, e, _b, n) => seen.push({ number: n, line: String(e - s) }),
        tooLong: (n) => seen.push({ number: n, tooLong: true }),
      },
      1000,
    );
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 100; i++) splitter.push(chunk);
    splitter.push(Buffer.from('\nok\n'));
    splitter.end();
    expect(seen).toEqual([
      { number: 1, tooLong: true },
      { number: 2, line: '2' },
    ]);
  });

  it('numbers lines from 1 in each file', () => {
    const numbers: number[] = [];
    const splitter = new LineSplitter({
      line: (_t, _s, _e, _b, n) => numbers.push(n),
      tooLong: () => {},
    });
    splitter.push(Buffer.from('a\nb\nlast without newline'));
    splitter.end();
    splitter.push(Buffer.from('c\n'));
    splitter.end();
    expect(numbers).toEqual([1, 2, 3, 1]);
  });
});
