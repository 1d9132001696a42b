// Gotify, a channel of the Alertmanager bridge (bridge.ts): the shared push text as Gotify's
// `POST /message` body, Markdown, with the release notes opened when a message of one alert is
// tapped.
import { Agent, request } from 'undici';
import type { GotifyConfig } from '../config/gotify.js';
import type { NotificationCounters } from '../metrics/exporter-metrics.js';
import {
  type Alert,
  type AlertmanagerWebhook,
  type Attempt,
  type Delivery,
  type DeliverySummary,
  deliverThrough,
  type MessagesPer,
  networkError,
  retryable,
  withRetries,
} from './bridge.js';
import {
  alertText,
  groupPriority,
  groupText,
  type PushText,
  releaseLink,
  severityPriority,
} from './push-text.js';

export {
  type Alert,
  type AlertmanagerWebhook,
  AlertmanagerWebhookSchema,
  type Delivery,
  type DeliverySummary,
  MESSAGES_PER,
  type MessagesPer,
} from './bridge.js';

const CHANNEL = 'gotify';
// Gotify's own default for a message that names no priority.
const NO_PRIORITY = 0;

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
  const message = markdown(alertText(alert), severityPriority(alert, priorities, NO_PRIORITY));
  const release = releaseLink(alert);
  if (release) message.extras['client::notification'] = { click: { url: release } };
  return message;
}

/**
 * A whole webhook (one Alertmanager group) as one Gotify message (push-text.ts's groupText),
 * at the highest priority of its firing alerts.
 */
export function groupMessage(
  webhook: AlertmanagerWebhook,
  priorities: Record<string, number>,
): GotifyMessage {
  const [only, ...more] = webhook.alerts;
  if (only && more.length === 0) return gotifyMessage(only, priorities);
  return markdown(groupText(webhook), groupPriority(webhook, priorities, NO_PRIORITY));
}

function markdown({ title, message }: PushText, priority: number): GotifyMessage {
  return {
    title,
    message,
    priority,
    extras: { 'client::display': { contentType: 'text/markdown' } },
  };
}

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
  deliver(message: GotifyMessage): Promise<Delivery> {
    return withRetries(this.#config.retries, () => this.#post(message));
  }

  async #post(message: GotifyMessage): Promise<Attempt> {
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
      return {
        ok: false,
        retry: retryable(res.statusCode),
        error: `Gotify answered ${res.statusCode}${gotifyReason(body)}`,
      };
    } catch (err) {
      const error = signal.aborted
        ? `no answer within ${this.#config.timeout / 1000}s`
        : networkError('Gotify', err);
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

/** What the bridge delivers with: the gotify section, a client, and the counters it feeds. */
export interface GotifyBridge {
  config: GotifyConfig;
  client: { deliver(message: GotifyMessage): Promise<Delivery> };
  notifications: NotificationCounters;
}

/**
 * Sends the webhook's alerts as Gotify messages, one per alert or one for the whole webhook
 * (`per`), counting and logging each message that fails.
 */
export function deliverAlerts(
  webhook: AlertmanagerWebhook,
  bridge: GotifyBridge,
  per: MessagesPer = 'alert',
): Promise<DeliverySummary> {
  const { config, client, notifications } = bridge;
  return deliverThrough(
    {
      name: CHANNEL,
      alertMessage: (alert) => gotifyMessage(alert, config.priorities),
      groupMessage: (hook) => groupMessage(hook, config.priorities),
      client,
      notifications,
    },
    webhook,
    per,
  );
}
