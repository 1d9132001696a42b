/**
 * Politeness towards each registry: a limit on the requests in flight to one registry that
 * adapts to how it answers, and after a 429 a pause that every later request to that registry
 * waits out (`Retry-After`, else an exponential back-off), so a rate-limited registry is not
 * hammered. State is kept per registry, so one slow or rate-limited registry never holds up
 * requests to another.
 *
 * The limit moves as TCP's congestion window does (additive increase, multiplicative
 * decrease). It starts at INITIAL_LIMIT. Each window of answers (as many as the limit) that
 * came back fast while the limit was in full use raises it: doubled until the registry first
 * pushes back, then one more per window. It halves at once on a 429, on a `RateLimit-Remaining`
 * near zero, and after two windows in a row whose median latency is well above the registry's
 * baseline (the lowest window median seen). It never goes below 1 nor above the request's
 * ceiling: `watch.workers`, or the regopt's `maxConcurrent` when that is lower.
 */

import type { RequestOptions } from './types.js';

/** Requests in flight to a registry before it has answered anything. */
export const INITIAL_LIMIT = 4;
/** The ceiling when a request names none: `watch.workers`' default. */
export const DEFAULT_CEILING = 10;
/** Longest pause honoured from a `Retry-After` or reached by the back-off. */
export const MAX_PAUSE_MS = 60_000;
/** The first pause after a 429 without `Retry-After`; doubled at each further 429 in a row. */
export const FIRST_BACKOFF_MS = 1_000;
/**
 * A window is slow when its median latency is over SLOW_FACTOR times the baseline and at least
 * SLOW_MARGIN_MS above it: the margin keeps a few milliseconds of jitter on a fast local
 * registry from counting as a slowdown.
 */
export const SLOW_FACTOR = 2;
export const SLOW_MARGIN_MS = 100;
/** Slow windows in a row that lower the limit. */
export const SLOW_WINDOWS = 2;
/** `RateLimit-Remaining` at or under this share of `RateLimit-Limit` (and at least 1) is low. */
export const LOW_REMAINING_SHARE = 0.05;

/** The most requests in flight the limit may reach: `workers`, or `maxConcurrent` when lower. */
export function concurrencyCeiling(
  opts: Pick<RequestOptions, 'maxConcurrent' | 'workers'>,
): number {
  return Math.max(1, Math.min(opts.workers ?? DEFAULT_CEILING, opts.maxConcurrent ?? Infinity));
}

interface Waiter {
  max: number;
  go: () => void;
}

interface RegistryState {
  inFlight: number;
  queue: Waiter[];
  pausedUntil: number;
  /** 429s in a row, for the exponential back-off; reset by any other answer. */
  strikes: number;
  limit: number;
  /** The highest ceiling a request to this registry named. */
  ceiling: number;
  /** Bumped at each decrease: answers to requests sent before it say nothing of the new limit. */
  epoch: number;
  /** Doubling per window until the first decrease, then one more per window. */
  slowStart: boolean;
  baselineMs: number | undefined;
  /** Slow windows in a row so far. */
  slowWindows: number;
  window: { answers: number; latencies: number[]; saturated: boolean };
}

/** What one answer (other than 429) tells the gate. */
export interface AnswerSample {
  /** `epochOf()` when the request was sent. */
  epoch: number;
  /** Time to the answer; only requests of comparable cost (manifests) give one. */
  latencyMs?: number;
  /** `RateLimit-Remaining` and `RateLimit-Limit`, when the registry sent them. */
  remaining?: number;
  allowance?: number;
}

export interface GateOptions {
  now?: () => number;
  firstBackoffMs?: number;
  maxPauseMs?: number;
  /** Told the registry's limit when it is first asked and at every change. */
  onLimit?: (registry: string, limit: number) => void;
}

export class RegistryGate {
  private readonly registries = new Map<string, RegistryState>();
  private readonly now: () => number;
  private readonly firstBackoffMs: number;
  private readonly maxPauseMs: number;
  private readonly onLimit: ((registry: string, limit: number) => void) | undefined;

  constructor(opts: GateOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.firstBackoffMs = opts.firstBackoffMs ?? FIRST_BACKOFF_MS;
    this.maxPauseMs = opts.maxPauseMs ?? MAX_PAUSE_MS;
    this.onLimit = opts.onLimit;
  }

  /**
   * Resolves, with the function that gives the slot back, once fewer requests to `registry`
   * are in flight than its current limit (never more than `ceiling`). Waiters are served first
   * come, first served.
   */
  async acquire(registry: string, ceiling: number = DEFAULT_CEILING): Promise<() => void> {
    const now = this.tryAcquire(registry, ceiling);
    if (now) return now;
    const state = this.state(registry, ceiling);
    state.window.saturated = true;
    const max = Math.max(1, Math.floor(ceiling));
    await new Promise<void>((resolve) => state.queue.push({ max, go: resolve }));
    return this.releaser(state);
  }

  /**
   * `acquire` when a slot is free now: the function that gives it back, with no promise (every
   * request asks). Undefined when the request would have to wait; nothing is taken then.
   */
  tryAcquire(registry: string, ceiling: number = DEFAULT_CEILING): (() => void) | undefined {
    const state = this.state(registry, ceiling);
    const max = Math.max(1, Math.floor(ceiling));
    if (state.queue.length > 0 || state.inFlight >= Math.min(state.limit, max)) return undefined;
    state.inFlight++;
    if (state.inFlight >= state.limit) state.window.saturated = true;
    return this.releaser(state);
  }

  private releaser(state: RegistryState): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.inFlight--;
      this.wake(state);
    };
  }

  /** Requests allowed in flight to `registry` now, for a request whose ceiling is `ceiling`. */
  limitOf(registry: string, ceiling: number = DEFAULT_CEILING): number {
    return Math.min(this.state(registry, ceiling).limit, Math.max(1, Math.floor(ceiling)));
  }

  /** The registry's current epoch: pass it back with what the request's answer tells. */
  epochOf(registry: string): number {
    return this.registries.get(registry)?.epoch ?? 0;
  }

  /** Milliseconds until `registry` may be asked again; 0 when it is not paused. */
  pauseLeft(registry: string): number {
    const state = this.registries.get(registry);
    return state ? Math.max(0, state.pausedUntil - this.now()) : 0;
  }

  /**
   * Records a 429 from `registry`: pauses it for `retryAfterSeconds` (capped), or for the next
   * back-off step (1 s, 2 s, 4 s, ...) when the registry said nothing, and halves its limit
   * (once for the requests sent at the same limit). Returns the pause in ms.
   */
  rateLimited(registry: string, retryAfterSeconds?: number, epoch?: number): number {
    const state = this.state(registry);
    state.strikes++;
    const pause = Math.min(
      this.maxPauseMs,
      retryAfterSeconds !== undefined
        ? retryAfterSeconds * 1000
        : this.firstBackoffMs * 2 ** (state.strikes - 1),
    );
    state.pausedUntil = Math.max(state.pausedUntil, this.now() + pause);
    this.decrease(registry, state, epoch ?? state.epoch);
    return pause;
  }

  /**
   * Records an answer other than 429: the next back-off starts again from its first step, and
   * the answer counts towards the window that may raise the limit, or lowers it when the
   * registry says its allowance is nearly spent.
   */
  answered(registry: string, sample?: AnswerSample): void {
    const state = this.registries.get(registry);
    if (!state) return;
    state.strikes = 0;
    if (!sample || sample.epoch !== state.epoch) return;
    if (sample.remaining !== undefined && isLow(sample.remaining, sample.allowance)) {
      this.decrease(registry, state, sample.epoch);
      return;
    }
    const window = state.window;
    window.answers++;
    if (sample.latencyMs !== undefined) window.latencies.push(sample.latencyMs);
    if (window.answers >= state.limit) this.closeWindow(registry, state);
  }

  private closeWindow(registry: string, state: RegistryState): void {
    const { latencies, saturated } = state.window;
    state.window = { answers: 0, latencies: [], saturated: false };
    const typical = latencies.length > 0 ? median(latencies) : undefined;
    if (typical !== undefined) {
      const baseline = state.baselineMs ?? typical;
      if (typical > baseline * SLOW_FACTOR && typical - baseline >= SLOW_MARGIN_MS) {
        // One slow window may be a hiccup (of the registry, or of this process's event loop,
        // which every latency measured here includes): only a second in a row counts.
        state.slowWindows++;
        if (state.slowWindows < SLOW_WINDOWS) return;
        state.slowWindows = 0;
        // At one request in flight the latency is the registry's own, not our load: it becomes
        // the baseline, so a registry that got slower for good is not held at 1 for ever.
        if (state.limit <= 1) state.baselineMs = typical;
        else this.decrease(registry, state, state.epoch);
        return;
      }
      state.slowWindows = 0;
      state.baselineMs = Math.min(baseline, typical);
    }
    // A limit that was not in full use says nothing about whether the registry takes more.
    if (!saturated || state.limit >= state.ceiling) return;
    this.setLimit(registry, state, state.slowStart ? state.limit * 2 : state.limit + 1);
    this.wake(state);
  }

  private decrease(registry: string, state: RegistryState, epoch: number): void {
    // Requests sent before the last decrease answer for the old limit: one halving is enough.
    if (epoch !== state.epoch) return;
    state.epoch++;
    state.slowStart = false;
    state.window = { answers: 0, latencies: [], saturated: false };
    this.setLimit(registry, state, Math.floor(state.limit / 2));
  }

  private setLimit(registry: string, state: RegistryState, limit: number): void {
    const next = Math.max(1, Math.min(state.ceiling, limit));
    if (next === state.limit) return;
    state.limit = next;
    this.onLimit?.(registry, next);
  }

  private state(registry: string, ceiling?: number): RegistryState {
    let state = this.registries.get(registry);
    const max = Math.max(1, Math.floor(ceiling ?? DEFAULT_CEILING));
    if (!state) {
      state = {
        inFlight: 0,
        queue: [],
        pausedUntil: 0,
        strikes: 0,
        limit: Math.min(INITIAL_LIMIT, max),
        ceiling: max,
        epoch: 0,
        slowStart: true,
        baselineMs: undefined,
        slowWindows: 0,
        window: { answers: 0, latencies: [], saturated: false },
      };
      this.registries.set(registry, state);
      this.onLimit?.(registry, state.limit);
    } else if (ceiling !== undefined && max > state.ceiling) {
      state.ceiling = max;
    }
    return state;
  }

  private wake(state: RegistryState): void {
    for (
      let next = state.queue[0];
      next && state.inFlight < Math.min(state.limit, next.max);
      next = state.queue[0]
    ) {
      state.queue.shift();
      state.inFlight++;
      next.go();
    }
  }
}

function isLow(remaining: number, allowance: number | undefined): boolean {
  const floor = allowance !== undefined ? Math.floor(allowance * LOW_REMAINING_SHARE) : 0;
  return remaining <= Math.max(1, floor);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
