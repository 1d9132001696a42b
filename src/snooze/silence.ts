// A snooze is an Alertmanager silence (API v2) of the alerts about one image's update: what the
// status page offers, the silence it posts, and how a silence is read back.

/** Who the silences are made by, in Alertmanager's `createdBy`. */
export const CREATED_BY = 'diun-exporter';

/**
 * The alerts that say "this image has an update" (prometheus/rules/diun-exporter.rules.yml).
 * Not DiunImageCheckFailing (a snooze must not hide that the check is broken) nor
 * DiunNewerVersionAvailable (a newer tag is another update than the digest being snoozed).
 */
export const SNOOZED_ALERTS = ['DiunContainerUpdateAvailable', 'DiunUpdatePendingTooLong'];

const DAY_MS = 86_400_000;

/**
 * A "until a newer digest" snooze still ends: the exporter expires it when the registry's digest
 * moves, and this bounds a silence whose exporter is gone.
 */
export const UNTIL_DIGEST_MAX_DAYS = 90;

/** The buttons of the page: form value, label, and how long the silence lasts. */
export const SNOOZE_CHOICES = [
  { value: '1d', label: '1 day', days: 1 },
  { value: '7d', label: '7 days', days: 7 },
  { value: 'digest', label: 'until a newer digest', days: UNTIL_DIGEST_MAX_DAYS },
] as const;

export type SnoozeChoice = (typeof SNOOZE_CHOICES)[number];

/** The choice a form value names, or undefined. */
export function snoozeChoice(value: unknown): SnoozeChoice | undefined {
  return SNOOZE_CHOICES.find((c) => c.value === value);
}

/** One matcher of a silence, as API v2 has it. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}

/** The body of `POST /api/v2/silences`. */
export interface PostableSilence {
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** A silence as `GET /api/v2/silences` answers (the fields read here). */
export interface Silence extends PostableSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

const equal = (name: string, value: string): Matcher => ({
  name,
  value,
  isRegex: false,
  isEqual: true,
});

/**
 * Matchers that catch exactly the update alerts of one image of one provider, on every
 * container: the alerts carry `provider` and `image` as the metrics do.
 */
export function snoozeMatchers(provider: string, image: string): Matcher[] {
  return [
    { name: 'alertname', value: SNOOZED_ALERTS.join('|'), isRegex: true, isEqual: true },
    equal('provider', provider),
    equal('image', image),
  ];
}

const DIGEST_NOTE = 'until the registry has a newer digest than ';
// An OCI digest: algorithm, colon, encoded hash.
const DIGEST = /[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+/;
const PINNED = new RegExp(`${DIGEST_NOTE}(${DIGEST.source})`);

/** What to snooze: the image as the page shows it, and the digest its registry has now. */
export interface SnoozeTarget {
  provider: string;
  image: string;
  remoteDigest: string | null;
}

/** The silence a press of `choice` on `target`'s row posts, starting at `now`. */
export function snoozeSilence(
  target: SnoozeTarget,
  choice: SnoozeChoice,
  now = Date.now(),
): PostableSilence {
  const base = `Snoozed from the diun-exporter status page: ${target.image}`;
  const comment =
    choice.value === 'digest' && target.remoteDigest
      ? `${base}, ${DIGEST_NOTE}${target.remoteDigest} (at most ${choice.days} days)`
      : `${base}, for ${choice.label}`;
  return {
    matchers: snoozeMatchers(target.provider, target.image),
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + choice.days * DAY_MS).toISOString(),
    createdBy: CREATED_BY,
    comment,
  };
}

/** The digest a "until a newer digest" snooze of ours waits to move past, if it is one. */
export function pinnedDigest(silence: PostableSilence): string | undefined {
  if (silence.createdBy !== CREATED_BY) return undefined;
  return PINNED.exec(silence.comment)?.[1];
}

/** The value of the silence's `name="value"` matcher, if it has one. */
export function equalMatcher(silence: PostableSilence, name: string): string | undefined {
  return silence.matchers.find((m) => m.name === name && !m.isRegex && m.isEqual !== false)?.value;
}
