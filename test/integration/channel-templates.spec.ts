import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIORITIES } from '../../src/config/gotify.js';
import { DEFAULT_NTFY_PRIORITIES } from '../../src/config/ntfy.js';
import { type Alert, AlertmanagerWebhookSchema } from '../../src/notify/bridge.js';
import { groupMessage } from '../../src/notify/gotify.js';
import { ntfyGroupMessage } from '../../src/notify/ntfy.js';
import { visibleText } from '../support/smtp.js';
import { renderShippedTemplate } from '../support/templates.js';

// One grouped alert (three outdated containers of two images, one updated since), as Alertmanager
// hands it to every channel: its templates (email, chat; rendered by amtool 0.25) and its webhook
// to the exporter's push bridge (Gotify, ntfy). Every channel must say the same facts of it.

const FIXTURE = resolve(import.meta.dirname, '..', 'fixtures', 'grouped-alert.json');
const webhook = AlertmanagerWebhookSchema.parse(JSON.parse(readFileSync(FIXTURE, 'utf8')));

/** What a reader must find of one alert, in any channel. */
function factsOf(alert: Alert): string[] {
  const { labels, annotations } = alert;
  const facts = [
    labels.image,
    labels.container,
    annotations.local_digest,
    annotations.remote_digest,
    annotations.current_version,
    annotations.latest_version,
    annotations.release_url,
    // The command only while the container is outdated.
    alert.status === 'firing' ? annotations.update_command : undefined,
  ];
  return facts.filter((fact): fact is string => fact !== undefined);
}

/** Each channel's text of the fixture, as its reader gets it. */
const channels: Record<string, () => Promise<string>> = {
  'email HTML (diun.email.html)': async () =>
    visibleText(await renderShippedTemplate('diun.email.html', FIXTURE, 'html')),
  'email text (diun.email.text)': () => renderShippedTemplate('diun.email.text', FIXTURE),
  'Discord, Slack, Teams (diun.chat.title, diun.chat.text)': async () =>
    `${await renderShippedTemplate('diun.chat.title', FIXTURE)}\n${await renderShippedTemplate('diun.chat.text', FIXTURE)}`,
  'Telegram (diun.chat.message)': () => renderShippedTemplate('diun.chat.message', FIXTURE),
  'Gotify (bridge, ?per=group)': async () => {
    const { title, message } = groupMessage(webhook, DEFAULT_PRIORITIES);
    return `${title}\n${message}`;
  },
  'ntfy (bridge, ?per=group)': async () => {
    const { title, message } = ntfyGroupMessage(webhook, {
      topic: 'diun',
      priorities: DEFAULT_NTFY_PRIORITIES,
      tags: [],
    });
    return `${title}\n${message}`;
  },
};

describe('one grouped alert in every channel', () => {
  it('is a group of several images, firing and resolved', () => {
    expect(new Set(webhook.alerts.map((a) => a.labels.image)).size).toBeGreaterThan(2);
    expect(webhook.alerts.map((a) => a.status)).toContain('resolved');
  });

  it.each(Object.keys(channels))(
    '%s: every image with its container, digests, versions, update command and release link',
    async (channel) => {
      const text = await channels[channel]!();
      for (const alert of webhook.alerts) {
        for (const fact of factsOf(alert)) {
          expect(text, `${alert.labels.container}: ${fact}`).toContain(fact);
        }
      }
      // The updated container is marked, and no channel tells to update it again.
      const [resolved] = webhook.alerts.filter((a) => a.status === 'resolved');
      expect(text).toContain('[RESOLVED]');
      expect(text).not.toContain(resolved!.annotations.update_command);
    },
  );
});
