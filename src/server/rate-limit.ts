/** A sliding-window limit: at most `limit` events in any `windowMs`. */
export class SlidingWindowLimit {
  private events: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Takes one slot and returns 0, or returns the seconds until a slot frees up. */
  take(now = Date.now()): number {
    this.events = this.events.filter((t) => now - t < this.windowMs);
    if (this.events.length < this.limit) {
      this.events.push(now);
      return 0;
    }
    return Math.max(1, Math.ceil((this.events[0]! + this.windowMs - now) / 1000));
  }
}
