// The words of a push message, the same for every channel of the bridge (Gotify, ntfy): a title
// and a Markdown body per alert or per Alertmanager group. They carry the facts the email and
// the chat templates (alertmanager/templates/diun.tmpl) show for the same alerts: per image, the
// image, its container, versions or digests, the update command and where to read what changed.
import type { Alert, AlertmanagerWebhook } from './bridge.js';

/** A push message's title and Markdown body. */
export interface PushText {
  title: string;
  message: string;
}

/** One alert: its summary (else alertname) as title, its description, facts and update command. */
export function alertText(alert: Alert): PushText {
  const headline =
    alert.annotations.summary?.trim() || alert.labels.alertname || 'Alertmanager alert';
  return {
    title: `${alert.status === 'resolved' ? '[RESOLVED] ' : ''}${headline}`,
    message: alertBody(alert, headline, true),
  };
}

/**
 * A whole webhook (one Alertmanager group): a group of one alert reads as that alert; a larger
 * one is titled by the common summary (or the group's alertname) and the counts, and lists the
 * firing alerts, then the resolved ones, as the email does: at most `listed` of them, then a
 * line counting the others.
 */
export function groupText(
  webhook: AlertmanagerWebhook,
  listed = Number.POSITIVE_INFINITY,
): PushText {
  const [only, ...more] = webhook.alerts;
  if (only && more.length === 0) return alertText(only);
  const { firing, resolved } = byStatus(webhook.alerts);
  const headline = groupHeadline(webhook);
  const title =
    firing.length === 0
      ? `[RESOLVED] ${headline} (${resolved.length})`
      : `${headline} (${counts(firing.length, resolved.length)})`;
  const shown = [...firing, ...resolved].slice(0, Math.max(0, listed));
  const sections = shown.map((a) =>
    a.status === 'firing'
      ? alertBody(a, a.labels.alertname ?? headline, true)
      : `**[RESOLVED]** ${alertBody(a, a.labels.alertname ?? headline, false)}`,
  );
  if (shown.length < webhook.alerts.length) sections.push(moreLine(webhook, rest(webhook, shown)));
  return { title, message: sections.join('\n\n---\n\n') || headline };
}

/**
 * The message standing for a webhook's alerts that got no message of their own (over the
 * bridge's caps), given as the webhook with those alerts alone: titled by the group and how
 * many, saying to look in Alertmanager.
 */
export function foldedText(folded: AlertmanagerWebhook): PushText {
  const { length } = folded.alerts;
  const title = `${groupHeadline(folded)}: ${withThousands(length)} more ${plural(length)}`;
  return { title, message: moreLine(folded, folded.alerts) };
}

// "… and 9,990 more alerts (9,000 firing, 990 resolved): see Alertmanager (its URL)".
function moreLine(webhook: AlertmanagerWebhook, folded: Alert[]): string {
  const { firing, resolved } = byStatus(folded);
  const where = webhook.externalURL?.trim();
  const split =
    firing.length > 0 && resolved.length > 0 ? ` (${counts(firing.length, resolved.length)})` : '';
  return `… and ${withThousands(folded.length)} more ${plural(folded.length)}${split}: see Alertmanager${where ? ` (${where})` : ''}`;
}

function rest(webhook: AlertmanagerWebhook, shown: Alert[]): Alert[] {
  const listed = new Set(shown);
  return webhook.alerts.filter((a) => !listed.has(a));
}

function byStatus(alerts: Alert[]): { firing: Alert[]; resolved: Alert[] } {
  return {
    firing: alerts.filter((a) => a.status === 'firing'),
    resolved: alerts.filter((a) => a.status === 'resolved'),
  };
}

function groupHeadline(webhook: AlertmanagerWebhook): string {
  return (
    webhook.commonAnnotations?.summary?.trim() ||
    webhook.groupLabels?.alertname ||
    webhook.commonLabels?.alertname ||
    'Alertmanager alerts'
  );
}

function counts(firing: number, resolved: number): string {
  return `${withThousands(firing)} firing${resolved > 0 ? `, ${withThousands(resolved)} resolved` : ''}`;
}

/**
 * A count with a comma between groups of three digits (`1,234,567`), as en-US writes it. Not
 * `toLocaleString`, which keeps ICU's number formatting data resident for the life of the process.
 */
export function withThousands(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+$)/g, ',');
}

const plural = (n: number) => (n === 1 ? 'alert' : 'alerts');

/** The alerts a group message is ranked by: the firing ones, else the resolved ones. */
export function rankedAlerts(webhook: AlertmanagerWebhook): Alert[] {
  const firing = webhook.alerts.filter((a) => a.status === 'firing');
  return firing.length > 0 ? firing : webhook.alerts;
}

/**
 * The priority of the alert's `severity` label in `priorities`, else `info`'s, else `fallback`.
 * Own properties only: a severity such as `__proto__` or `constructor` is no priority name.
 */
export function severityPriority(
  alert: Alert,
  priorities: Record<string, number>,
  fallback: number,
): number {
  const severity = alert.labels.severity ?? '';
  const named = Object.hasOwn(priorities, severity) ? priorities[severity] : undefined;
  return named ?? (Object.hasOwn(priorities, 'info') ? priorities.info : undefined) ?? fallback;
}

/** The highest priority of the alerts a group is ranked by (`info`'s, else `fallback`, for none). */
export function groupPriority(
  webhook: AlertmanagerWebhook,
  priorities: Record<string, number>,
  fallback: number,
): number {
  const ranked = rankedAlerts(webhook);
  if (ranked.length === 0) {
    return (Object.hasOwn(priorities, 'info') ? priorities.info : undefined) ?? fallback;
  }
  return Math.max(...ranked.map((a) => severityPriority(a, priorities, fallback)));
}

/** The alert's `release_url` annotation when it is a web link (opened when a push is tapped). */
export function releaseLink(alert: Alert): string | undefined {
  const release = alert.annotations.release_url?.trim();
  return release && /^https?:\/\//i.test(release) ? release : undefined;
}

// A fact from an annotation, else the label of that name (the rules put digests in either).
const fact = (alert: Alert, name: string): string | undefined =>
  (alert.annotations[name] ?? alert.labels[name])?.trim() || undefined;

// What the email's table and the chat text show of an alert, as [name, values, shown as code].
function facts(alert: Alert): [string, string[], boolean][] {
  const current = fact(alert, 'current_version');
  const latest = fact(alert, 'latest_version');
  const version = [current, latest].filter((v) => v !== undefined);
  const entries: [string, string | undefined, boolean][] = [
    ['Image', alert.labels.image, true],
    ['Container', alert.labels.container, true],
    ['Running digest', fact(alert, 'local_digest'), true],
    ['Registry digest', fact(alert, 'remote_digest'), true],
    ['What changed', releaseLink(alert), false],
  ];
  const listed = entries
    .filter((entry): entry is [string, string, boolean] => Boolean(entry[1]))
    .map(([name, value, code]): [string, string[], boolean] => [name, [value], code]);
  if (version.length > 0) listed.splice(2, 0, ['Version', version, true]);
  return listed;
}

// The description, then each fact it does not already say, then (if `command`) the update
// command; the labels when the alert has no description and no command, for a push service may
// refuse a message without text.
function alertBody(alert: Alert, fallback: string, command: boolean): string {
  const { annotations, labels } = alert;
  const description = annotations.description?.trim();
  const update = command ? annotations.update_command?.trim() : undefined;
  const lead =
    description ||
    (update
      ? ''
      : Object.entries(labels)
          .map(([name, value]) => `${name}=${value}`)
          .join(', ') || fallback);
  const unsaid = facts(alert)
    .filter(([, values]) => values.some((value) => !lead.includes(value)))
    .map(([name, values, code]) => {
      const shown = values.map((value) => (code ? inlineCode(value) : value));
      return `- ${name}: ${shown.join(' → ')}`;
    });
  const parts = [lead, unsaid.join('\n'), update ? `Update with:\n\n${codeBlock(update)}` : ''];
  return parts.filter((part) => part !== '').join('\n\n');
}

// Backticks around a value, more of them than any run inside it, as Markdown wants.
function inlineCode(text: string): string {
  const fence = '`'.repeat(longestBacktickRun(text) + 1);
  return fence.length > 1 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

// A fence longer than any run of backticks inside, so the command cannot end the block.
function codeBlock(text: string): string {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
  return `${fence}sh\n${text}\n${fence}`;
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}
