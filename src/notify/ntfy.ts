// ntfy, a channel of the Alertmanager bridge (bridge.ts): the shared push text published as
// JSON to the server's root (https://docs.ntfy.sh/publish/#publish-as-json), Markdown on, with a
// priority from the severity, tags from the status and severity, and the release notes opened
// when the notification is tapped.
import type { NtfyAuth, NtfyConfig } from '../config/ntfy.js';
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
  rankedAlerts,
  releaseLink,
  severityPriority,
} from './push-text.js';

const CHANNEL = 'ntfy';
// ntfy's default priority, for a message that names none.
const DEFAULT_PRIORITY = 3;

/** The JSON body of an ntfy publish request (POST to the server's root URL). */
export interface NtfyMessage {
  topic: string;
  title: string;
  message: string;
  /** 1 (min) to 5 (max). */
  priority: number;
  /** Shown as emojis where ntfy knows the name, else as words under the message. */
  tags: string[];
  /** Opened when the notification is tapped: the release notes link, if any. */
  click?: string;
  markdown: true;
}

/** What an ntfy message takes from the section: its topic, priorities and own tags. */
export type NtfyStyle = Pick<NtfyConfig, 'topic' | 'priorities' | 'tags'>;

/** One alert as an ntfy message. */
export function ntfyMessage(alert: Alert, style: NtfyStyle): NtfyMessage {
  const priority = severityPriority(alert, style.priorities, DEFAULT_PRIORITY);
  return published(
    alertText(alert),
    style,
    priority,
    tags(alert.status, alert, style),
    releaseLink(alert),
  );
}

/**
 * A whole webhook (one Alertmanager group) as one ntfy message: the shared group text, at the
 * highest priority of its firing alerts, tagged by the severity of that alert, opening the
 * release notes when every alert has the same link.
 */
export function ntfyGroupMessage(
  webhook: AlertmanagerWebhook,
  style: NtfyStyle,
  listed = Number.POSITIVE_INFINITY,
): NtfyMessage {
  const [only, ...more] = webhook.alerts;
  if (only && more.length === 0) return ntfyMessage(only, style);
  const priority = groupPriority(webhook, style.priorities, DEFAULT_PRIORITY);
  const top = rankedAlerts(webhook).find(
    (alert) => severityPriority(alert, style.priorities, DEFAULT_PRIORITY) === priority,
  );
  const links = new Set(webhook.alerts.map(releaseLink));
  const [link] = links;
  return published(
    groupText(webhook, listed),
    style,
    priority,
    tags(webhook.status, top, style),
    links.size === 1 ? link : undefined,
  );
}

/** The summary of alerts over the bridge's caps: its priority and tags as for a group of them. */
export function ntfyFoldedMessage(folded: AlertmanagerWebhook, style: NtfyStyle): NtfyMessage {
  const grouped = ntfyGroupMessage(folded, style, 0);
  return { ...grouped, ...foldedText(folded) };
}

function published(
  { title, message }: PushText,
  style: NtfyStyle,
  priority: number,
  tagList: string[],
  click: string | undefined,
): NtfyMessage {
  return {
    topic: style.topic,
    title,
    message,
    priority,
    tags: tagList,
    ...(click ? { click } : {}),
    markdown: true,
  };
}

// An emoji for the status (a siren for critical), the status and the severity as words, then
// the configured tags; each once.
function tags(status: 'firing' | 'resolved', alert: Alert | undefined, style: NtfyStyle): string[] {
  const severity = alert?.labels.severity?.trim();
  const emoji =
    status === 'resolved'
      ? 'white_check_mark'
      : severity === 'critical'
        ? 'rotating_light'
        : 'warning';
  return [...new Set([emoji, status, ...(severity ? [severity] : []), ...style.tags])];
}

/** Publishes messages to one ntfy server: JSON to its root URL, signed in as configured. */
export class NtfyClient extends PushClient<NtfyMessage> {
  constructor(config: NtfyConfig) {
    super({
      service: 'ntfy',
      url: `${config.endpoint}/`,
      headers: authorization(config.auth),
      timeout: config.timeout,
      retries: config.retries,
      // ntfy's errors are {"code": 40101, "http": 401, "error": "unauthorized", "link": "..."}.
      reason: (status, body) => `${jsonReason(body, 'error')}${hint(status, config)}`,
    });
  }
}

function authorization(auth: NtfyAuth): Record<string, string> {
  if (auth.kind === 'token') return { authorization: `Bearer ${auth.token}` };
  if (auth.kind === 'user') {
    const pair = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
    return { authorization: `Basic ${pair}` };
  }
  return {};
}

// What to look at after a refusal: the credentials (401), or the user's rights on the topic (403).
function hint(status: number, config: NtfyConfig): string {
  if (status === 401) {
    return config.auth.kind === 'none'
      ? ' (the topic needs a login: set ntfy.token, or ntfy.username and ntfy.password)'
      : ` (ntfy does not know this ${config.auth.kind === 'token' ? 'access token' : 'user and password'})`;
  }
  if (status === 403) return ' (this login may not publish to the topic)';
  return '';
}

/** What the ntfy bridge delivers with: the ntfy section, a client, and the counters it feeds. */
export interface NtfyBridge {
  config: NtfyConfig;
  client: { deliver(message: NtfyMessage): Promise<Delivery> };
  notifications: NotificationCounters;
}

/**
 * Publishes the webhook's alerts to ntfy, one message per alert or one per webhook (`per`),
 * within the section's caps (`budget` holds the channel's last minute).
 */
export function deliverToNtfy(
  webhook: AlertmanagerWebhook,
  { config, client, notifications }: NtfyBridge,
  per: MessagesPer,
  budget: MessageBudget,
): Promise<DeliverySummary> {
  return deliverThrough(
    {
      name: CHANNEL,
      alertMessage: (alert) => ntfyMessage(alert, config),
      groupMessage: (hook, listed) => ntfyGroupMessage(hook, config, listed),
      foldedMessage: (folded) => ntfyFoldedMessage(folded, config),
      perWebhook: config.maxMessagesPerWebhook,
      budget,
      client,
      notifications,
    },
    webhook,
    per,
  );
}
