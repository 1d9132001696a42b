import { beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONCURRENT,
  MAX_PAUSE_MS,
  RegistryGate,
} from '../../../src/registry/limiter.js';

describe('RegistryGate concurrency', () => {
  it('lets at most max requests to one registry through, the rest in arrival order', async () => {
    const gate = new RegistryGate();
    const order: number[] = [];
    let inFlight = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const take = async (n: number) => {
      const release = await gate.acquire('r.example', 2);
      inFlight++;
      most = Math.max(most, inFlight);
      order.push(n);
      releases.push(() => {
        inFlight--;
        release();
      });
    };
    const all = [1, 2, 3, 4, 5].map(take);
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    while (releases.length > 0) releases.shift()!();
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('keeps registries apart: a full registry does not hold up another', async () => {
    const gate = new RegistryGate();
    await gate.acquire('slow.example', 1);
    let waiting = true;
    void gate.acquire('slow.example', 1).then(() => {
      waiting = false;
    });
    const other = await gate.acquire('fast.example', 1);
    expect(typeof other).toBe('function');
    await Promise.resolve();
    expect(waiting).toBe(true);
  });

  it('defaults to a small cap, and a release twice frees one slot only', async () => {
    const gate = new RegistryGate();
    const held = await Promise.all(
      Array.from({ length: DEFAULT_MAX_CONCURRENT }, () => gate.acquire('r.example')),
    );
    let extra = 0;
    void gate.acquire('r.example').then(() => extra++);
    void gate.acquire('r.example').then(() => extra++);
    held[0]!();
    held[0]!();
    await new Promise((r) => setImmediate(r));
    expect(extra).toBe(1);
  });
});

describe('RegistryGate back-off after 429', () => {
  let now = 1_000_000;
  beforeEach(() => {
    now = 1_000_000;
  });
  const gate = () => new RegistryGate({ now: () => now });

  it('pauses the registry for Retry-After, capped at 60 s', () => {
    const g = gate();
    expect(g.rateLimited('r.example', 5)).toBe(5_000);
    expect(g.pauseLeft('r.example')).toBe(5_000);
    now += 2_000;
    expect(g.pauseLeft('r.example')).toBe(3_000);
    expect(g.rateLimited('r.example', 3_600)).toBe(MAX_PAUSE_MS);
    expect(g.pauseLeft('other.example')).toBe(0);
  });

  it('without Retry-After backs off 1 s, 2 s, 4 s, ... and starts again after an answer', () => {
    const g = gate();
    expect([1, 2, 3, 4].map(() => g.rateLimited('r.example'))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    g.answered('r.example');
    expect(g.rateLimited('r.example')).toBe(1_000);
    for (let i = 0; i < 10; i++) g.rateLimited('r.example');
    expect(g.rateLimited('r.example')).toBe(MAX_PAUSE_MS);
  });

  it('never shortens a pause already in force', () => {
    const g = gate();
    g.rateLimited('r.example', 30);
    g.rateLimited('r.example', 1);
    expect(g.pauseLeft('r.example')).toBe(30_000);
  });
});
