import { describe, expect, it } from 'vitest';
import { interleave, runPool } from '../../../src/watch/pool.js';

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runPool', () => {
  it('keeps at most `limit` items in flight and works each item once', async () => {
    const items = ['a', 'b', 'c', 'd', 'e'];
    const started: string[] = [];
    const release = new Map<string, () => void>();
    let inFlight = 0;
    let most = 0;
    const done = runPool(items, 2, async (item) => {
      started.push(item);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise<void>((resolve) => release.set(item, resolve));
      inFlight -= 1;
    });

    await settle();
    expect(started).toEqual(['a', 'b']);
    release.get('b')!();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    for (const item of items) {
      release.get(item)?.();
      await settle();
    }
    for (const item of items) release.get(item)!();
    await done;
    expect(started).toEqual(items);
    expect(most).toBe(2);
  });

  it('runs one at a time for a limit below 1, and finishes at once with nothing to do', async () => {
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    await runPool([1, 2, 3], 0, async (n) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await settle();
      order.push(n);
      inFlight -= 1;
    });
    expect(order).toEqual([1, 2, 3]);
    expect(most).toBe(1);
    await expect(runPool([], 4, async () => {})).resolves.toBeUndefined();
  });
});

describe('interleave', () => {
  it('lets groups take turns, keeping the order within each group', () => {
    const items = ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'c2'];
    expect(interleave(items, (s) => s[0]!)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4']);
    expect(interleave([], (s: string) => s)).toEqual([]);
  });
});
