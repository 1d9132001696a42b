/**
 * Politeness towards each registry: at most `max` requests in flight to one registry at once,
 * and after a 429 a pause that every later request to that registry waits out (`Retry-After`,
 * else an exponential back-off), so a rate-limited registry is not hammered. State is kept per
 * registry, so one slow or rate-limited registry never holds up requests to another.
 */

/**
 * Requests in flight to one registry when its regopt sets no `maxConcurrent`. Small on purpose:
 * Docker Hub and GHCR answer bursts of parallel requests from one client with 429, and a check
 * costs one HEAD per image, so 4 at a time is fast enough for hundreds of images.
 */
export const DEFAULT_MAX_CONCURRENT = 4;
/** Longest pause honoured from a `Retry-After` or reached by the back-off. */
export const MAX_PAUSE_MS = 60_000;
/** The first pause after a 429 without `Retry-After`; doubled at each further 429 in a row. */
export const FIRST_BACKOFF_MS = 1_000;

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
}

export interface GateOptions {
  now?: () => number;
  firstBackoffMs?: number;
  maxPauseMs?: number;
}

export class RegistryGate {
  private readonly registries = new Map<string, RegistryState>();
  private readonly now: () => number;
  private readonly firstBackoffMs: number;
  private readonly maxPauseMs: number;

  constructor(opts: GateOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.firstBackoffMs = opts.firstBackoffMs ?? FIRST_BACKOFF_MS;
    this.maxPauseMs = opts.maxPauseMs ?? MAX_PAUSE_MS;
  }

  /**
   * Resolves, with the function that gives the slot back, once fewer than `max` requests to
   * `registry` are in flight. Waiters are served first come, first served.
   */
  async acquire(registry: string, max: number = DEFAULT_MAX_CONCURRENT): Promise<() => void> {
    const state = this.state(registry);
    const limit = Math.max(1, Math.floor(max));
    if (state.queue.length === 0 && state.inFlight < limit) {
      state.inFlight++;
    } else {
      await new Promise<void>((resolve) => state.queue.push({ max: limit, go: resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.inFlight--;
      this.wake(state);
    };
  }

  /** Milliseconds until `registry` may be asked again; 0 when it is not paused. */
  pauseLeft(registry: string): number {
    const state = this.registries.get(registry);
    return state ? Math.max(0, state.pausedUntil - this.now()) : 0;
  }

  /**
   * Records a 429 from `registry`: pauses it for `retryAfterSeconds` (capped), or for the next
   * back-off step (1 s, 2 s, 4 s, ...) when the registry said nothing. Returns the pause in ms.
   */
  rateLimited(registry: string, retryAfterSeconds?: number): number {
    const state = this.state(registry);
    state.strikes++;
    const pause = Math.min(
      this.maxPauseMs,
      retryAfterSeconds !== undefined
        ? retryAfterSeconds * 1000
        : this.firstBackoffMs * 2 ** (state.strikes - 1),
    );
    state.pausedUntil = Math.max(state.pausedUntil, this.now() + pause);
    return pause;
  }

  /** Records an answer other than 429: the next back-off starts again from its first step. */
  answered(registry: string): void {
    const state = this.registries.get(registry);
    if (state) state.strikes = 0;
  }

  private state(registry: string): RegistryState {
    let state = this.registries.get(registry);
    if (!state) {
      state = { inFlight: 0, queue: [], pausedUntil: 0, strikes: 0 };
      this.registries.set(registry, state);
    }
    return state;
  }

  private wake(state: RegistryState): void {
    for (let next = state.queue[0]; next && state.inFlight < next.max; next = state.queue[0]) {
      state.queue.shift();
      state.inFlight++;
      next.go();
    }
  }
}
