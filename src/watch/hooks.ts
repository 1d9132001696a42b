/**
 * What the metrics learn from the watcher as it goes (counters; gauges read the snapshot). One
 * interface for the run and the check within it, so a new hook is added here and nowhere else
 * on the way: whatever passes the hooks on spreads them.
 */
export interface WatchHooks {
  /** Each state row a run checks: `checked` always, `failed` too (with the reason). */
  checked(provider: string): void;
  failed(provider: string, reason: string): void;
  runStarted(): void;
  runSkipped(): void;
  /** The state file could not be written (the error is logged). */
  stateWriteFailed(): void;
}

/**
 * Hooks that count nothing, for a watcher or a check with no metrics (tests, scripts). Spread
 * it and override the hooks a test listens to, so a new hook needs no edit there.
 */
export const noHooks: WatchHooks = {
  checked() {},
  failed() {},
  runStarted() {},
  runSkipped() {},
  stateWriteFailed() {},
};
