import { describe, expect, it } from 'vitest';
import { SlidingWindowLimit } from '../../../src/server/rate-limit.js';

const T = 1_800_000_000_000;

describe('SlidingWindowLimit', () => {
  it('allows `limit` events in a window, then says how many seconds until the oldest expires', () => {
    const limit = new SlidingWindowLimit(3, 60_000);
    expect([limit.take(T), limit.take(T + 10_000), limit.take(T + 20_000)]).toEqual([0, 0, 0]);
    expect(limit.take(T + 20_000)).toBe(40);
    expect(limit.take(T + 59_500)).toBe(1);
    // The first event left the window: one slot again, and only one.
    expect(limit.take(T + 60_000)).toBe(0);
    expect(limit.take(T + 60_000)).toBe(10);
  });

  it('counts refusals as nothing: waiting clients do not push the window back', () => {
    const limit = new SlidingWindowLimit(1, 60_000);
    expect(limit.take(T)).toBe(0);
    for (let i = 1; i <= 5; i++) expect(limit.take(T + i * 1_000)).toBe(60 - i);
    expect(limit.take(T + 60_000)).toBe(0);
  });

  it('never answers less than a second to wait', () => {
    const limit = new SlidingWindowLimit(1, 500);
    expect(limit.take(T)).toBe(0);
    expect(limit.take(T + 1)).toBe(1);
  });
});
