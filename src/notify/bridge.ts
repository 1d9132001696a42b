// The Alertmanager -> push bridge, whatever the channel. Alertmanager 0.25 cannot shape a
// webhook's body, so its webhook (payload version 4) comes to the exporter
// (server/bridge-route.ts) and leaves as one push message per alert or, with `?per=group`, one
// per webhook (one per Alertmanager group, as its email), within two caps per channel (messages
// per webhook, and per minute: budget.ts) past which one summary message counts the rest. What a
// channel adds is in its own file (gotify.ts, ntfy.ts): how a message looks on its wire and how
// it is posted.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { runPool } from '../concurrency/worker-pool.js';
import { log } from '../log.js';
import type { NotificationCounters } from '../metrics/exporter-metrics.js';
import type { MessageBudget } from './budget.js';

const FIRST_BACKOFF_MS = 500;
const CONCURRENT_DELIVERIES = 4;

const labelSet = z.record(z.string(), z.string());

const AlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** Alertmanager's webhook body, version 4; fields this bridge does not use are let through. */
export const AlertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().optional(),
  groupLabels: labelSet.optional(),
  commonLabels: labelSet.optional(),
  commonAnnotations: labelSet.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(AlertSchema),
});

export type Alert = z.output<typeof AlertSchema>;
export type AlertmanagerWebhook = z.output<typeof AlertmanagerWebhookSchema>;

/** What one push message stands for: each alert of a webhook, or the whole webhook (group). */
export type MessagesPer = 'alert' | 'group';
export const MESSAGES_PER: readonly MessagesPer[] = ['alert', 'group'];

/** How one delivery ended: delivered, or why not after how many attempts. */
export type Delivery = { ok: true } | { ok: false; attempts: number; error: string };

/** One POST to a push service: delivered, or why not and whether another try may help. */
export type Attempt = { ok: true } | { ok: false; retry: boolean; error: string };

/**
 * Runs `post` until it succeeds, fails for good, or `retries` more tries failed; a try after a
 * failure waits 0.5 s, 1 s, 2 s, ... first.
 */
export async function withRetries(
  retries: number,
  post: () => Promise<Attempt>,
): Promise<Delivery> {
  const attempts = retries + 1;
  let error = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 2));
    const outcome = await post();
    if (outcome.ok) return { ok: true };
    error = outcome.error;
    if (!outcome.retry) return { ok: false, attempts: attempt, error };
  }
  return { ok: false, attempts, error };
}

/** Whether an HTTP status is worth another try: rate limited, or the server's own trouble. */
export function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** A failed request in words: the error's code (ECONNREFUSED, ...), never the URL. */
export function networkError(service: string, err: unknown): string {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  return `cannot reach ${service} (${typeof code === 'string' ? code : String(name ?? 'error')})`;
}

/** A channel of the bridge: how it makes a message and who delivers it; `M` is its wire form. */
export interface PushChannel<M> {
  /** The `channel` label of the notification counters, and the log's prefix. */
  name: string;
  /** One alert as a message. */
  alertMessage(alert: Alert): M;
  /** A whole webhook (one Alertmanager group) as a message listing at most `listed` alerts. */
  groupMessage(webhook: AlertmanagerWebhook, listed: number): M;
  /** The one message for alerts over the caps, given as the webhook with those alerts alone. */
  foldedMessage(folded: AlertmanagerWebhook): M;
  /** At most this many messages of their own (or alerts listed in a group message) per webhook. */
  perWebhook: number;
  /** The channel's messages in the last minute, shared by every webhook. */
  budget: MessageBudget;
  client: { deliver(message: M): Promise<Delivery> };
  notifications: NotificationCounters;
}

/**
 * How many alerts a webhook carried, how many of them went out in a message the push service
 * took (`sent`) or not (`failed`), and of those sent, how many were only counted in a summary
 * line, over the caps (`folded`, when any). With `retryAfterSeconds`, nothing was sent: the
 * channel's budget for the minute is spent, and the webhook should come again after that many
 * seconds.
 */
export interface DeliverySummary {
  alerts: number;
  sent: number;
  failed: number;
  folded?: number;
  retryAfterSeconds?: number;
}

// One message to send: the alerts it stands for, and how many of them it shows in full.
interface Planned<M> {
  alerts: Alert[];
  message: M;
  shown: number;
}

/**
 * Sends the webhook's alerts through `channel`, one message per alert or one for the whole
 * webhook (`per`), within the channel's caps: past `perWebhook` messages, or what is left of
 * the minute's budget, the other alerts are folded into one summary message. With no budget
 * left at all nothing is sent and the summary says when to come again. Each message that fails
 * is counted and logged; the alerts of an undelivered message count as failed.
 */
export async function deliverThrough<M>(
  channel: PushChannel<M>,
  webhook: AlertmanagerWebhook,
  per: MessagesPer = 'alert',
): Promise<DeliverySummary> {
  const { name, client, notifications } = channel;
  const { alerts } = webhook;
  const plan = per === 'group' ? planGroup(channel, webhook) : planAlerts(channel, webhook);
  if (plan === undefined) {
    const retryAfterSeconds = channel.budget.retryAfterSeconds();
    log('warn', `${name}: no message left for this minute; Alertmanager is asked to retry`, {
      alerts: alerts.length,
      perMinute: channel.budget.perMinute,
      retryAfterSeconds,
    });
    return { alerts: alerts.length, sent: 0, failed: 0, retryAfterSeconds };
  }
  let sent = 0;
  let folded = 0;
  // A few at a time, in order: a large group must not flood the push service.
  await runPool(plan, CONCURRENT_DELIVERIES, async (planned) => {
    const delivery = await client.deliver(planned.message);
    const [first] = planned.alerts as [Alert, ...Alert[]];
    if (delivery.ok) {
      sent += planned.alerts.length;
      folded += planned.alerts.length - planned.shown;
      notifications.sent(name);
      return;
    }
    notifications.failed(name);
    log('warn', `${name}: message not delivered`, {
      alertname: first.labels.alertname,
      status: planned.alerts.length > 1 ? webhook.status : first.status,
      ...(planned.alerts.length > 1
        ? { alerts: planned.alerts.length }
        : { fingerprint: first.fingerprint }),
      attempts: delivery.attempts,
      error: delivery.error,
    });
  });
  if (folded > 0) notifications.folded(name, folded);
  return {
    alerts: alerts.length,
    sent,
    failed: alerts.length - sent,
    ...(folded > 0 && { folded }),
  };
}

// One message of the whole group, listing at most `perWebhook` alerts; undefined when the
// minute's budget has none left.
function planGroup<M>(channel: PushChannel<M>, webhook: AlertmanagerWebhook) {
  if (webhook.alerts.length === 0) return [];
  if (channel.budget.take(1) === 0) return undefined;
  const { alerts } = webhook;
  const message = channel.groupMessage(webhook, channel.perWebhook);
  // A group of one reads as that alert, whatever the cap.
  const shown = alerts.length === 1 ? 1 : Math.min(alerts.length, channel.perWebhook);
  return [{ alerts, message, shown }] satisfies Planned<M>[];
}

// A message per alert up to `perWebhook` and the minute's budget, then one summary for the
// rest; undefined when the budget has none left.
function planAlerts<M>(
  channel: PushChannel<M>,
  webhook: AlertmanagerWebhook,
): Planned<M>[] | undefined {
  const { alerts } = webhook;
  if (alerts.length === 0) return [];
  const wanted = alerts.length <= channel.perWebhook ? alerts.length : channel.perWebhook + 1;
  const granted = channel.budget.take(wanted);
  if (granted === 0) return undefined;
  const own = granted >= alerts.length ? alerts : alerts.slice(0, granted - 1);
  const plan: Planned<M>[] = own.map((alert) => ({
    alerts: [alert],
    message: channel.alertMessage(alert),
    shown: 1,
  }));
  const rest = alerts.slice(own.length);
  if (rest.length > 0) {
    const message = channel.foldedMessage({ ...webhook, alerts: rest });
    plan.push({ alerts: rest, message, shown: 0 });
  }
  return plan;
}
