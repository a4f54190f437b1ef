import { describe, expectTypeOf, it } from 'vitest';
import { BanHammer, type Stats, type TokenStatus } from '../../src/index.js';

const bans = { m: { thresholds: [{ limit: 1, window: 60, action: [], action_duration: 60 }] } };

describe('BanHammer types', () => {
  it('types incr by returnRates', () => {
    expectTypeOf(new BanHammer(bans).incr).returns.resolves.toEqualTypeOf<boolean>();
    expectTypeOf(
      new BanHammer(bans, { returnRates: false }).incr,
    ).returns.resolves.toEqualTypeOf<boolean>();
    expectTypeOf(new BanHammer(bans, { returnRates: true }).incr).returns.resolves.toEqualTypeOf<
      [boolean, Stats]
    >();
    expectTypeOf(new BanHammer(bans).incrMany).returns.resolves.toEqualTypeOf<boolean[]>();
    expectTypeOf(
      new BanHammer(bans, { returnRates: true }).incrMany,
    ).returns.resolves.toEqualTypeOf<[boolean, Stats][]>();
    expectTypeOf(new BanHammer(bans).status).returns.resolves.toEqualTypeOf<TokenStatus>();
    expectTypeOf(new BanHammer(bans).now).returns.resolves.toExtend<Stats>();
  });
});
