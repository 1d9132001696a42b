// The snoozes the status page shows and makes, and the end of "until a newer digest" snoozes:
// Alertmanager's alerts carry no digest, so the exporter expires such a silence itself once the
// registry's digest for the image is no longer the one it was snoozed at.
import { log } from '../log.js';
import { byCodeUnit } from '../order.js';
import { AlertmanagerError, type SilenceClient } from './client.js';
import {
  CREATED_BY,
  equalMatcher,
  pinnedDigest,
  type Silence,
  type SnoozeChoice,
  type SnoozeTarget,
  snoozeSilence,
} from './silence.js';

/** How often the snoozes are compared with the registry's digests, between page views. */
const KEEP_INTERVAL_MS = 60_000;

/** What the page shows: the snoozes in force, or why Alertmanager could not be asked. */
export type SnoozeList = { silences: Silence[]; error?: undefined } | { error: string };

const sameImage = (a: SnoozeTarget, provider: string | undefined, image: string | undefined) =>
  a.image === image && (provider === undefined || a.provider === provider);

/** Snoozes of the watched images, through one Alertmanager. */
export class Snoozer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: SilenceClient,
    /** The watched images now, with the registry's digest of each. */
    private readonly targets: () => SnoozeTarget[],
  ) {}

  /** The target of `provider` and `image` in the current state, if watched. */
  target(provider: string, image: string): SnoozeTarget | undefined {
    return this.targets().find((t) => t.provider === provider && t.image === image);
  }

  /** Whether the page shows this silence: made here, or aimed at a watched image. */
  private shown(silence: Silence, targets: SnoozeTarget[]): boolean {
    if (silence.status.state === 'expired') return false;
    if (silence.createdBy === CREATED_BY) return true;
    const image = equalMatcher(silence, 'image');
    return targets.some((t) => sameImage(t, equalMatcher(silence, 'provider'), image));
  }

  /** The silences in force that the page shows, after ending those whose digest moved. */
  async list(): Promise<SnoozeList> {
    try {
      const targets = this.targets();
      const all = (await this.client.list()).filter((s) => this.shown(s, targets));
      const ended = await this.endMoved(all, targets);
      const silences = all
        .filter((s) => !ended.has(s.id))
        .sort((a, b) => byCodeUnit(a.endsAt, b.endsAt));
      return { silences };
    } catch (err) {
      if (err instanceof AlertmanagerError) return { error: err.message };
      throw err;
    }
  }

  /** Creates the silence for `target`; resolves to its id. */
  snooze(target: SnoozeTarget, choice: SnoozeChoice): Promise<string> {
    return this.client.create(snoozeSilence(target, choice));
  }

  /**
   * Expires the silence if the page would show it; false when it would not (unknown id, or a
   * silence of something this exporter does not watch: not the page's to end).
   */
  async expire(id: string): Promise<boolean> {
    const silence = await this.client.get(id);
    if (!silence || !this.shown(silence, this.targets())) return false;
    await this.client.expire(id);
    return true;
  }

  // Ends the "until a newer digest" snoozes whose image's registry digest moved; returns their ids.
  private async endMoved(silences: Silence[], targets: SnoozeTarget[]): Promise<Set<string>> {
    const ended = new Set<string>();
    for (const silence of silences) {
      const pinned = pinnedDigest(silence);
      if (!pinned) continue;
      const target = targets.find((t) =>
        sameImage(t, equalMatcher(silence, 'provider'), equalMatcher(silence, 'image')),
      );
      // An image not watched now (a container removed for a moment) keeps its snooze.
      if (!target?.remoteDigest || target.remoteDigest === pinned) continue;
      await this.client.expire(silence.id);
      ended.add(silence.id);
      log('info', 'snooze ended: the registry has a newer digest', {
        image: target.image,
        silence: silence.id,
        digest: target.remoteDigest,
      });
    }
    return ended;
  }

  /** Compares the snoozes with the digests every minute until `stop`. */
  start(): void {
    this.timer = setInterval(() => {
      this.list().then(
        (result) => {
          if (result.error) log('warn', 'could not read the snoozes', { error: result.error });
        },
        (err: unknown) => log('error', 'could not read the snoozes', { error: err }),
      );
    }, KEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
