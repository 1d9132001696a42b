// The Alertmanager -> Gotify bridge. Alertmanager 0.25 cannot shape a webhook's body, so its
// webhook (payload version 4) comes to the exporter (server/gotify-route.ts) and leaves here as
// one Gotify message per alert or, with `?per=group`, one per webhook (one per Alertmanager group,
// as its email).
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { runPool } from '../concurrency/worker-pool.js';
import type { GotifyConfig } from '../config/gotify.js';
import { log } from '../log.js';
import type { NotificationCounters } from '../metrics/exporter-metrics.js';

const CHANNEL = 'gotify';
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

/** What one Gotify message stands for: each alert of a webhook, or the whole webhook (group). */
export type MessagesPer = 'alert' | 'group';
export const MESSAGES_PER: readonly MessagesPer[] = ['alert', 'group'];

/** The body of Gotify's `POST /message`. */
export interface GotifyMessage {
  title: string;
  message: string;
  priority: number;
  extras: {
    'client::display': { contentType: 'text/markdown' };
    /** Opened when the notification is tapped: the alert's release notes link, if any. */
    'client::notification'?: { click: { url: string } };
  };
}

/** One alert as a Gotify message: summary as title, description and update command as Markdown. */
export function gotifyMessage(alert: Alert, priorities: Record<string, number>): GotifyMessage {
  const headline =
    alert.annotations.summary?.trim() || alert.labels.alertname || 'Alertmanager alert';
  const message = markdown(
    `${alert.status === 'resolved' ? '[RESOLVED] ' : ''}${headline}`,
    alertText(alert, headline, true),
    priority(alert, priorities),
  );
  const release = alert.annotations.release_url?.trim();
  if (release && /^https?:\/\//i.test(release)) {
    message.extras['client::notification'] = { click: { url: release } };
  }
  return message;
}

/**
 * A whole webhook (one Alertmanager group) as one Gotify message: a group of one alert reads as
 * that alert's message; a larger one is titled by the common summary (or the group's alertname)
 * and the counts, and lists the firing alerts, then the resolved ones, as the email does.
 */
export function groupMessage(
  webhook: AlertmanagerWebhook,
  priorities: Record<string, number>,
): GotifyMessage {
  const [only, ...more] = webhook.alerts;
  if (only && more.length === 0) return gotifyMessage(only, priorities);
  const firing = webhook.alerts.filter((a) => a.status === 'firing');
  const resolved = webhook.alerts.filter((a) => a.status === 'resolved');
  const headline =
    webhook.commonAnnotations?.summary?.trim() ||
    webhook.groupLabels?.alertname ||
    webhook.commonLabels?.alertname ||
    'Alertmanager alerts';
  const counts =
    firing.length === 0
      ? `[RESOLVED] ${headline} (${resolved.length})`
      : `${headline} (${firing.length} firing${resolved.length > 0 ? `, ${resolved.length} resolved` : ''})`;
  const sections = [
    ...firing.map((a) => alertText(a, a.labels.alertname ?? headline, true)),
    ...resolved.map((a) => `**[RESOLVED]** ${alertText(a, a.labels.alertname ?? headline, false)}`),
  ];
  const ranked = firing.length > 0 ? firing : resolved;
  return markdown(
    counts,
    sections.join('\n\n---\n\n') || headline,
    ranked.length > 0
      ? Math.max(...ranked.map((a) => priority(a, priorities)))
      : (priorities.info ?? 0),
  );
}

// The description and (if `command`) the update command; the labels when the alert has neither,
// for Gotify refuses a message without text.
function alertText(alert: Alert, fallback: string, command: boolean): string {
  const { annotations, labels } = alert;
  const parts: string[] = [];
  const description = annotations.description?.trim();
  if (description) parts.push(description);
  const update = command ? annotations.update_command?.trim() : undefined;
  if (update) parts.push(`Update with:\n\n${codeBlock(update)}`);
  if (parts.length === 0) {
    parts.push(
      Object.entries(labels)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ') || fallback,
    );
  }
  return parts.join('\n\n');
}

// Own properties only: a severity such as `__proto__` or `constructor` is no priority name.
function priority(alert: Alert, priorities: Record<string, number>): number {
  const severity = alert.labels.severity ?? '';
  const named = Object.hasOwn(priorities, severity) ? priorities[severity] : undefined;
  return named ?? (Object.hasOwn(priorities, 'info') ? priorities.info : undefined) ?? 0;
}

function markdown(title: string, message: string, priority: number): GotifyMessage {
  return {
    title,
    message,
    priority,
    extras: { 'client::display': { contentType: 'text/markdown' } },
  };
}

// A fence longer than any run of backticks inside, so the command cannot end the block.
function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}sh\n${text}\n${fence}`;
}

/** How one delivery ended: delivered, or why not after how many attempts. */
export type Delivery = { ok: true } | { ok: false; attempts: number; error: string };

/** Posts messages to one Gotify server with a timeout per request and bounded retries. */
export class GotifyClient {
  readonly #config: GotifyConfig;
  readonly #agent: Agent;

  constructor(config: GotifyConfig) {
    this.#config = config;
    this.#agent = new Agent({
      connect: { timeout: config.timeout },
      headersTimeout: config.timeout,
      bodyTimeout: config.timeout,
    });
  }

  /** Delivers one message, retrying network errors, timeouts, 429 and 5xx with back-off. */
  async deliver(message: GotifyMessage): Promise<Delivery> {
    const attempts = this.#config.retries + 1;
    let error = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 2));
      const outcome = await this.#post(message);
      if (outcome.ok) return { ok: true };
      error = outcome.error;
      if (!outcome.retry) return { ok: false, attempts: attempt, error };
    }
    return { ok: false, attempts, error };
  }

  async #post(
    message: GotifyMessage,
  ): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
    const signal = AbortSignal.timeout(this.#config.timeout);
    try {
      const res = await request(`${this.#config.endpoint}/message`, {
        method: 'POST',
        dispatcher: this.#agent,
        signal,
        headers: { 'content-type': 'application/json', 'x-gotify-key': this.#config.token },
        body: JSON.stringify(message),
      });
      const body = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      const retry = res.statusCode === 429 || res.statusCode >= 500;
      return { ok: false, retry, error: `Gotify answered ${res.statusCode}${gotifyReason(body)}` };
    } catch (err) {
      const error = signal.aborted
        ? `no answer within ${this.#config.timeout / 1000}s`
        : networkError(err);
      return { ok: false, retry: true, error };
    }
  }

  /** Lets deliveries in flight end, then closes the connections. */
  close(): Promise<void> {
    return this.#agent.close();
  }
}

// Gotify's errors are {"error": "...", "errorCode": N, "errorDescription": "..."}.
function gotifyReason(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    const description = (parsed as { errorDescription?: unknown }).errorDescription;
    return typeof description === 'string' ? `: ${description.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

// The error's code (ECONNREFUSED, UND_ERR_SOCKET, ...): never the URL, which may hold credentials.
function networkError(err: unknown): string {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  return `cannot reach Gotify (${typeof code === 'string' ? code : String(name ?? 'error')})`;
}

/** What the bridge delivers with: the gotify section, a client, and the counters it feeds. */
export interface GotifyBridge {
  config: GotifyConfig;
  client: Pick<GotifyClient, 'deliver'>;
  notifications: NotificationCounters;
}

/** How many alerts a webhook carried, and how many of them Gotify took or not. */
export interface DeliverySummary {
  alerts: number;
  sent: number;
  failed: number;
}

/**
 * Sends the webhook's alerts as Gotify messages, one per alert or one for the whole webhook
 * (`per`), counting and logging each message that fails. The summary counts alerts: those of an
 * undelivered message count as failed.
 */
export async function deliverAlerts(
  webhook: AlertmanagerWebhook,
  bridge: GotifyBridge,
  per: MessagesPer = 'alert',
): Promise<DeliverySummary> {
  const { config, client, notifications } = bridge;
  const { alerts } = webhook;
  const batches = per === 'group' ? (alerts.length > 0 ? [alerts] : []) : alerts.map((a) => [a]);
  let sent = 0;
  // A few at a time, in order: a large group must not flood Gotify.
  await runPool(batches, CONCURRENT_DELIVERIES, async (batch) => {
    const [first] = batch as [Alert, ...Alert[]];
    const message =
      per === 'group'
        ? groupMessage(webhook, config.priorities)
        : gotifyMessage(first, config.priorities);
    const delivery = await client.deliver(message);
    if (delivery.ok) {
      sent += batch.length;
      notifications.sent(CHANNEL);
      return;
    }
    notifications.failed(CHANNEL);
    log('warn', 'gotify: message not delivered', {
      alertname: first.labels.alertname,
      status: per === 'group' ? webhook.status : first.status,
      ...(per === 'group' ? { alerts: batch.length } : { fingerprint: first.fingerprint }),
      attempts: delivery.attempts,
      error: delivery.error,
    });
  });
  return { alerts: alerts.length, sent, failed: alerts.length - sent };
}
