import fc from 'fast-check';

/** Values a caller can pass by mistake (or on purpose): wrong types, non-finite and
 *  boundary numbers, numeric strings, objects that coerce to numbers or throw when coerced. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    0.5,
    -1,
    1,
    1_000,
    2 ** 31,
    2 ** 53,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('5', '1000', '', ' 60 ', '1e3'),
  fc.constantFrom(null, true, false, 10n, -(2n ** 70n), [], [5], {}, () => 1),
  fc.constant(Symbol('hostile')),
  fc.constant(new Date(0)),
  fc.constant({ valueOf: () => 1_000 }),
  fc.constant({
    valueOf: () => {
      throw new Error('valueOf called');
    },
    toString: () => {
      throw new Error('toString called');
    },
  }),
);

/** Runs `call`; returns the error it threw, or `undefined`. */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}
