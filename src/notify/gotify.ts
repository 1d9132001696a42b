// The Alertmanager -> Gotify bridge. Alertmanager 0.25 cannot shape a webhook's body, so its
// webhook (payload version 4) comes to the exporter (server/gotify-route.ts) and leaves here as
// one Gotify message per alert.
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

/** The body of Gotify's `POST /message`. */
export interface GotifyMessage {
  title: string;
  message: string;
  priority: number;
  extras: { 'client::display': { contentType: 'text/markdown' } };
}

/** One alert as a Gotify message: summary as title, description and update command as Markdown. */
export function gotifyMessage(alert: Alert, priorities: Record<string, number>): GotifyMessage {
  const { annotations, labels } = alert;
  const headline = annotations.summary?.trim() || labels.alertname || 'Alertmanager alert';
  const parts: string[] = [];
  const description = annotations.description?.trim();
  if (description) parts.push(description);
  const command = annotations.update_command?.trim();
  if (command) parts.push(`Update with:\n\n${codeBlock(command)}`);
  // Gotify refuses a message without text.
  if (parts.length === 0) {
    parts.push(
      Object.entries(labels)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ') || headline,
    );
  }
  const severity = labels.severity ?? '';
  return {
    title: `${alert.status === 'resolved' ? '[RESOLVED] ' : ''}${headline}`,
    message: parts.join('\n\n'),
    priority: priorities[severity] ?? priorities.info ?? 0,
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

/** Sends each alert as one Gotify message, counting and logging each that fails. */
export async function deliverAlerts(
  alerts: Alert[],
  bridge: GotifyBridge,
): Promise<DeliverySummary> {
  const { config, client, notifications } = bridge;
  let sent = 0;
  // A few at a time, in order: a large group must not flood Gotify.
  await runPool(alerts, CONCURRENT_DELIVERIES, async (alert) => {
    const delivery = await client.deliver(gotifyMessage(alert, config.priorities));
    if (delivery.ok) {
      sent++;
      notifications.sent(CHANNEL);
      return;
    }
    notifications.failed(CHANNEL);
    log('warn', 'gotify: message not delivered', {
      alertname: alert.labels.alertname,
      status: alert.status,
      fingerprint: alert.fingerprint,
      attempts: delivery.attempts,
      error: delivery.error,
    });
  });
  return { alerts: alerts.length, sent, failed: alerts.length - sent };
}
