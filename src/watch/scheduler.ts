import { Cron } from 'croner';
import { log } from '../log.js';

// setTimeout's longest delay (about 24.8 days); a longer one fires at once, with a warning.
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerOptions {
  /** Cron, 5 or 6 fields (seconds first); '' means no schedule. */
  schedule: string;
  /** Upper bound of the random delay before each scheduled run, in ms. */
  jitterMs: number;
  tick: () => void;
}

/**
 * Fires `tick` on the cron schedule, each time after a random delay up to the jitter, so that
 * many exporters on one schedule do not reach the registry in the same second.
 */
export class Scheduler {
  private cron: Cron | undefined;
  private pending = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: SchedulerOptions) {}

  start(): void {
    if (!this.opts.schedule) return;
    const jitterMs = Math.min(this.opts.jitterMs, MAX_TIMER_MS);
    if (jitterMs < this.opts.jitterMs) {
      log('warn', 'watch.jitter is longer than 24 days; using 24 days', { jitterMs });
    }
    this.cron = new Cron(this.opts.schedule, () => {
      const delay = Math.floor(Math.random() * jitterMs);
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        this.opts.tick();
      }, delay);
      this.pending.add(timer);
    });
    log('info', 'schedule set', { schedule: this.opts.schedule, next: this.next()?.toISOString() });
  }

  /** When the next run is due, if there is a schedule. */
  next(): Date | undefined {
    return this.cron?.nextRun() ?? undefined;
  }

  stop(): void {
    this.cron?.stop();
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
