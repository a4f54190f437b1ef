import { describe } from 'vitest';
import { TumblingWindow } from '../../examples/counter/custom-strategy.js';
import { FixedWindow, Morris, SlidingLog, SlidingWindowCounter } from '../../src/index.js';
import { strategyContract } from './strategy-contract.js';

describe('FixedWindow contract', () =>
  strategyContract(() => new FixedWindow({ windowSeconds: 10 })));
describe('SlidingLog contract', () =>
  strategyContract(() => new SlidingLog({ maxWindowSeconds: 60 })));
describe('SlidingWindowCounter contract', () =>
  strategyContract(() => new SlidingWindowCounter({ windowSeconds: 30 })));
describe('Morris contract', () => strategyContract(() => new Morris({ base: 1.5 })));
describe('a user-written strategy (examples/counter/custom-strategy.ts)', () =>
  strategyContract(() => new TumblingWindow(60)));
