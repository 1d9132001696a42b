// How many messages a channel of the bridge may still send: a sliding one-minute window, so a
// burst of webhooks (a restart of Alertmanager, a flood of alerts) cannot flood the push service.

const WINDOW_MS = 60_000;

/** Messages sent through one channel in the last minute, against `perMinute`. */
export class MessageBudget {
  // Send times (ms), oldest first; never more than `perMinute` of them.
  readonly #sent: number[] = [];

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes up to `wanted` messages from what the last minute left; says how many it took. */
  take(wanted: number): number {
    const now = this.#forgetOld();
    const granted = Math.max(0, Math.min(wanted, this.perMinute - this.#sent.length));
    for (let i = 0; i < granted; i++) this.#sent.push(now);
    return granted;
  }

  /** Whole seconds until the oldest message of the window leaves it (at least 1). */
  retryAfterSeconds(): number {
    const now = this.#forgetOld();
    const oldest = this.#sent[0];
    return oldest === undefined ? 1 : Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
  }

  #forgetOld(): number {
    const now = this.now();
    let old = 0;
    while (old < this.#sent.length && this.#sent[old]! <= now - WINDOW_MS) old++;
    this.#sent.splice(0, old);
    return now;
  }
}
