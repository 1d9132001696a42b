import { beforeEach, describe, expect, it } from 'vitest';
import {
  concurrencyCeiling,
  INITIAL_LIMIT,
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

  it('starts at a small limit, and a release twice frees one slot only', async () => {
    const gate = new RegistryGate();
    const held = await Promise.all(
      Array.from({ length: INITIAL_LIMIT }, () => gate.acquire('r.example')),
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

describe('RegistryGate adaptive limit', () => {
  const R = 'r.example';
  const recorder = () => {
    const seen: number[] = [];
    const gate = new RegistryGate({ onLimit: (_r, limit) => seen.push(limit) });
    return { gate, seen };
  };
  // One window at the current limit: that many requests in flight at once, each answered in
  // `latencyMs` (with the headers given), then released.
  const window = async (
    gate: RegistryGate,
    latencyMs: number,
    ceiling = 10,
    extra: { remaining?: number; allowance?: number } = {},
  ) => {
    const n = gate.limitOf(R, ceiling);
    const held = await Promise.all(Array.from({ length: n }, () => gate.acquire(R, ceiling)));
    const epoch = gate.epochOf(R);
    for (const release of held) {
      gate.answered(R, { epoch, latencyMs, ...extra });
      release();
    }
  };

  it('doubles while fast answers keep coming, up to the ceiling (watch.workers)', async () => {
    const { gate, seen } = recorder();
    expect(gate.limitOf(R, 10)).toBe(INITIAL_LIMIT);
    await window(gate, 50);
    expect(gate.limitOf(R, 10)).toBe(8);
    await window(gate, 50);
    await window(gate, 50);
    expect(gate.limitOf(R, 10)).toBe(10);
    expect(seen).toEqual([4, 8, 10]);
  });

  it('after the first push-back grows by one per fast window', async () => {
    const gate = new RegistryGate({ firstBackoffMs: 0 });
    await window(gate, 50);
    expect(gate.limitOf(R)).toBe(8);
    gate.rateLimited(R, 0, gate.epochOf(R));
    expect(gate.limitOf(R)).toBe(4);
    await window(gate, 50);
    expect(gate.limitOf(R)).toBe(5);
    await window(gate, 50);
    expect(gate.limitOf(R)).toBe(6);
  });

  it('does not grow on answers that never filled the limit', async () => {
    const gate = new RegistryGate();
    for (let i = 0; i < 20; i++) {
      const release = await gate.acquire(R);
      gate.answered(R, { epoch: gate.epochOf(R), latencyMs: 5 });
      release();
    }
    expect(gate.limitOf(R)).toBe(INITIAL_LIMIT);
  });

  it('halves on a 429, once for all the requests sent at the old limit', async () => {
    const gate = new RegistryGate({ firstBackoffMs: 0 });
    await window(gate, 50);
    const sentAt8 = gate.epochOf(R);
    gate.rateLimited(R, 0, sentAt8);
    gate.rateLimited(R, 0, sentAt8);
    gate.rateLimited(R, 0, sentAt8);
    expect(gate.limitOf(R)).toBe(4);
    gate.rateLimited(R, 0, gate.epochOf(R));
    expect(gate.limitOf(R)).toBe(2);
    gate.rateLimited(R, 0, gate.epochOf(R));
    gate.rateLimited(R, 0, gate.epochOf(R));
    expect(gate.limitOf(R)).toBe(1);
  });

  it('halves when RateLimit-Remaining is near zero', async () => {
    const gate = new RegistryGate();
    await window(gate, 50, 10, { remaining: 80, allowance: 100 });
    expect(gate.limitOf(R)).toBe(8);
    await window(gate, 50, 10, { remaining: 4, allowance: 100 });
    expect(gate.limitOf(R)).toBe(4);
    await window(gate, 50, 10, { remaining: 1 });
    expect(gate.limitOf(R)).toBe(2);
  });

  it('halves after two windows markedly slower than the baseline, not on jitter', async () => {
    const gate = new RegistryGate();
    await window(gate, 50);
    expect(gate.limitOf(R)).toBe(8);
    // 90 ms against a 50 ms baseline: slower, but not twice as slow.
    await window(gate, 90);
    expect(gate.limitOf(R)).toBe(10);
    // One slow window alone (a hiccup) holds the limit; a second in a row halves it.
    await window(gate, 400);
    expect(gate.limitOf(R)).toBe(10);
    await window(gate, 50);
    await window(gate, 400);
    expect(gate.limitOf(R)).toBe(10);
    await window(gate, 400);
    expect(gate.limitOf(R)).toBe(5);
    // A local registry: 1 ms then 8 ms is eight times slower but within the 100 ms margin.
    const local = new RegistryGate();
    await window(local, 1);
    await window(local, 8);
    expect(local.limitOf(R)).toBe(10);
  });

  it('at one in flight takes a lasting slowdown as the new baseline and grows again', async () => {
    const gate = new RegistryGate();
    await window(gate, 20);
    // 8, then two slow windows at each of 8, 4 and 2.
    for (let i = 0; i < 6; i++) await window(gate, 1_000);
    expect(gate.limitOf(R)).toBe(1);
    await window(gate, 1_000);
    await window(gate, 1_000);
    expect(gate.limitOf(R)).toBe(1);
    await window(gate, 1_000);
    expect(gate.limitOf(R)).toBe(2);
  });

  it("keeps a regopt's maxConcurrent as a hard cap, and the limit within watch.workers", async () => {
    expect(concurrencyCeiling({ workers: 10 })).toBe(10);
    expect(concurrencyCeiling({ workers: 10, maxConcurrent: 3 })).toBe(3);
    expect(concurrencyCeiling({ workers: 2, maxConcurrent: 6 })).toBe(2);
    const gate = new RegistryGate();
    expect(gate.limitOf(R, 3)).toBe(3);
    for (let i = 0; i < 5; i++) await window(gate, 10, 3);
    expect(gate.limitOf(R, 3)).toBe(3);
    const workers = new RegistryGate();
    for (let i = 0; i < 5; i++) await window(workers, 10, 6);
    expect(workers.limitOf(R, 6)).toBe(6);
  });
});
