import { describe, expect, it } from 'vitest';
import { runPool } from '../../../src/concurrency/worker-pool.js';

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

describe('runPool with groups', () => {
  const groups = { of: (s: string) => s[0]!, limit: (s: string) => (s[0] === 'a' ? 2 : 4) };

  it('lets groups take turns, keeping the order within each group', async () => {
    const started: string[] = [];
    await runPool(
      ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'c2'],
      1,
      async (s) => {
        started.push(s);
      },
      groups,
    );
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4']);
  });

  it('keeps a stalled group to its own limit while the others use the free slots', async () => {
    // Group a never answers until released (a registry 2 s away, or paused after a 429).
    const stalled: (() => void)[] = [];
    const started: string[] = [];
    const items = ['a1', 'a2', 'a3', 'a4', 'a5', ...Array.from({ length: 20 }, (_, i) => `b${i}`)];
    const done = runPool(
      items,
      6,
      async (s) => {
        started.push(s);
        if (s[0] === 'a') await new Promise<void>((r) => stalled.push(r));
        else await settle();
      },
      groups,
    );
    for (let i = 0; i < 50; i++) await settle();
    // Every b finished while group a held only its 2 slots.
    expect(started.filter((s) => s[0] === 'b')).toHaveLength(20);
    expect(started.filter((s) => s[0] === 'a')).toEqual(['a1', 'a2']);
    while (stalled.length > 0) {
      stalled.shift()!();
      for (let i = 0; i < 3; i++) await settle();
    }
    await done;
    expect(started.filter((s) => s[0] === 'a')).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('gives a slow group no more than its share while another has work', async () => {
    const wide = { of: (s: string) => s[0]!, limit: () => 10 };
    const stalled: (() => void)[] = [];
    const started: string[] = [];
    const items = [...Array.from({ length: 10 }, (_, i) => `a${i}`), 'b0', 'b1', 'b2', 'b3'];
    const done = runPool(
      items,
      10,
      async (s) => {
        started.push(s);
        if (s[0] === 'a') await new Promise<void>((r) => stalled.push(r));
        else await settle();
      },
      wide,
    );
    for (let i = 0; i < 20; i++) await settle();
    // Group a may take 10 by its own limit, but b has work: a holds half of the slots...
    expect(started.filter((s) => s[0] === 'b')).toHaveLength(4);
    // ...and once b is done, the free slots go to a.
    expect(started.filter((s) => s[0] === 'a')).toHaveLength(10);
    while (stalled.length > 0) stalled.shift()!();
    await done;
  });

  it('works every item and then rejects with the first failure', async () => {
    const seen: string[] = [];
    const run = runPool(
      ['a1', 'b1', 'a2', 'b2'],
      2,
      async (s) => {
        seen.push(s);
        if (s === 'a1') throw new Error('a1 failed');
      },
      groups,
    );
    await expect(run).rejects.toThrow('a1 failed');
    expect(seen.sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });
});
