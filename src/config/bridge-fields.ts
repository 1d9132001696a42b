// Keys the bridge sections (`gotify:`, `ntfy:`) share: the push server's URL, a priority per
// severity, and secrets given either plain or as a *File key.
import { z } from 'zod';
import { evenWithOtherProblems, httpUrl, int, isUnset, requiredKey } from './fields.js';

export { notBoth } from './fields.js';

/** An optional http(s) URL of the push server, with no query string. */
export function serverUrl(service: string) {
  return httpUrl(`expected an http:// or https:// URL of the ${service} server`);
}

/** Reports an absent `endpoint`, naming what it must be. */
export function requiredEndpoint(service: string, example: string) {
  return requiredKey(
    'endpoint',
    `the http:// or https:// URL of the ${service} server, e.g. "${example}"`,
  );
}

/** An integer priority from min to max (a numeric string too, as from a variable). */
export function priority(min: number, max = Number.POSITIVE_INFINITY) {
  const error =
    max === Number.POSITIVE_INFINITY
      ? `expected integer >= ${min}`
      : `expected integer ${min} to ${max}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^[+-]?\d+$/.test(value) ? Number(value) : value),
    z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
  );
}

/** Priorities by severity label: the entries given, over `defaults`. */
export function priorities(item: z.ZodType<number>) {
  return z.preprocess(
    (value) => (value === null ? undefined : value),
    z.record(z.string().min(1), item).default({}),
  );
}

/**
 * The caps on what one channel sends: messages per Alertmanager webhook, and per minute over
 * every webhook; the alerts past them are counted in one summary message.
 */
export function messageCaps() {
  return { maxMessagesPerWebhook: int(1, 20), maxMessagesPerMinute: int(1, 60) };
}

/** A required secret reports its missing value under its plain key, naming both ways to give it. */
export function requiredSecret(plain: string, what: string) {
  return z.superRefine((section: Record<string, unknown>, ctx) => {
    const file = `${plain}File`;
    if (isUnset(section[plain]) && isUnset(section[file])) {
      ctx.addIssue({
        code: 'custom',
        path: [plain],
        message: `required: ${what}; set ${plain} or ${file}`,
      });
    }
  }, evenWithOtherProblems);
}
