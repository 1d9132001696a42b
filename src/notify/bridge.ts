// The Alertmanager -> push bridge, whatever the channel. Alertmanager 0.25 cannot shape a
// webhook's body, so its webhook (payload version 4) comes to the exporter
// (server/bridge-route.ts) and leaves as one push message per alert or, with `?per=group`, one
// per webhook (one per Alertmanager group, as its email). What a channel adds is in its own file
// (gotify.ts, ntfy.ts): how a message looks on its wire and how it is posted.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { runPool } from '../concurrency/worker-pool.js';
import { log } from '../log.js';
import type { NotificationCounters } from '../metrics/exporter-metrics.js';

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
  /** A whole webhook (one Alertmanager group) as a message. */
  groupMessage(webhook: AlertmanagerWebhook): M;
  client: { deliver(message: M): Promise<Delivery> };
  notifications: NotificationCounters;
}

/** How many alerts a webhook carried, and how many of them the push service took or not. */
export interface DeliverySummary {
  alerts: number;
  sent: number;
  failed: number;
}

/**
 * Sends the webhook's alerts through `channel`, one message per alert or one for the whole
 * webhook (`per`), counting and logging each message that fails. The summary counts alerts:
 * those of an undelivered message count as failed.
 */
export async function deliverThrough<M>(
  channel: PushChannel<M>,
  webhook: AlertmanagerWebhook,
  per: MessagesPer = 'alert',
): Promise<DeliverySummary> {
  const { name, client, notifications } = channel;
  const { alerts } = webhook;
  const batches = per === 'group' ? (alerts.length > 0 ? [alerts] : []) : alerts.map((a) => [a]);
  let sent = 0;
  // A few at a time, in order: a large group must not flood the push service.
  await runPool(batches, CONCURRENT_DELIVERIES, async (batch) => {
    const [first] = batch as [Alert, ...Alert[]];
    const message = per === 'group' ? channel.groupMessage(webhook) : channel.alertMessage(first);
    const delivery = await client.deliver(message);
    if (delivery.ok) {
      sent += batch.length;
      notifications.sent(name);
      return;
    }
    notifications.failed(name);
    log('warn', `${name}: message not delivered`, {
      alertname: first.labels.alertname,
      status: per === 'group' ? webhook.status : first.status,
      ...(per === 'group' ? { alerts: batch.length } : { fingerprint: first.fingerprint }),
      attempts: delivery.attempts,
      error: delivery.error,
    });
  });
  return { alerts: alerts.length, sent, failed: alerts.length - sent };
}
