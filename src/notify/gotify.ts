// Gotify, a channel of the Alertmanager bridge (bridge.ts): the shared push text as Gotify's
// `POST /message` body, Markdown, with the release notes opened when a message of one alert is
// tapped.
import type { GotifyConfig } from '../config/gotify.js';
import type { NotificationCounters } from '../metrics/exporter-metrics.js';
import {
  type Alert,
  type AlertmanagerWebhook,
  type Delivery,
  type DeliverySummary,
  deliverThrough,
  type MessagesPer,
} from './bridge.js';
import type { MessageBudget } from './budget.js';
import { jsonReason, PushClient } from './push-client.js';
import {
  alertText,
  foldedText,
  groupPriority,
  groupText,
  type PushText,
  releaseLink,
  severityPriority,
} from './push-text.js';

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
 * A whole webhook (one Alertmanager group) as one Gotify message (push-text.ts's groupText,
 * listing at most `listed` alerts), at the highest priority of its firing alerts.
 */
export function groupMessage(
  webhook: AlertmanagerWebhook,
  priorities: Record<string, number>,
  listed = Number.POSITIVE_INFINITY,
): GotifyMessage {
  const [only, ...more] = webhook.alerts;
  if (only && more.length === 0) return gotifyMessage(only, priorities);
  return markdown(groupText(webhook, listed), groupPriority(webhook, priorities, NO_PRIORITY));
}

/** The summary of alerts over the bridge's caps, at the highest priority among them. */
export function foldedMessage(
  folded: AlertmanagerWebhook,
  priorities: Record<string, number>,
): GotifyMessage {
  return markdown(foldedText(folded), groupPriority(folded, priorities, NO_PRIORITY));
}

function markdown({ title, message }: PushText, priority: number): GotifyMessage {
  return {
    title,
    message,
    priority,
    extras: { 'client::display': { contentType: 'text/markdown' } },
  };
}

/** Posts messages to one Gotify server (`POST /message`, the application token in a header). */
export class GotifyClient extends PushClient<GotifyMessage> {
  constructor(config: GotifyConfig) {
    super({
      service: 'Gotify',
      url: `${config.endpoint}/message`,
      headers: { 'x-gotify-key': config.token },
      timeout: config.timeout,
      retries: config.retries,
      // Gotify's errors are {"error": "...", "errorCode": N, "errorDescription": "..."}.
      reason: (_status, body) => jsonReason(body, 'errorDescription'),
    });
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
 * (`per`), within the section's caps (`budget` holds the channel's last minute), counting and
 * logging each message that fails.
 */
export function deliverAlerts(
  webhook: AlertmanagerWebhook,
  bridge: GotifyBridge,
  per: MessagesPer,
  budget: MessageBudget,
): Promise<DeliverySummary> {
  const { config, client, notifications } = bridge;
  return deliverThrough(
    {
      name: CHANNEL,
      alertMessage: (alert) => gotifyMessage(alert, config.priorities),
      groupMessage: (hook, listed) => groupMessage(hook, config.priorities, listed),
      foldedMessage: (folded) => foldedMessage(folded, config.priorities),
      perWebhook: config.maxMessagesPerWebhook,
      budget,
      client,
      notifications,
    },
    webhook,
    per,
  );
}
