import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NtfyConfig } from '../../../src/config/ntfy.js';
import type { Alert, AlertmanagerWebhook } from '../../../src/notify/bridge.js';
import { gotifyMessage, groupMessage } from '../../../src/notify/gotify.js';
import {
  NtfyClient,
  type NtfyMessage,
  ntfyGroupMessage,
  ntfyMessage,
} from '../../../src/notify/ntfy.js';
import { ntfyRoute } from '../../../src/server/ntfy-route.js';
import { type NtfyStandIn, startNtfy } from '../../support/ntfy.js';

const RELEASE = 'https://github.com/acme/shop/releases/tag/v1.2.0';
const style = {
  topic: 'diun',
  priorities: { critical: 5, warning: 4, info: 3 },
  tags: ['homelab'],
};

const alert = (
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
  status: Alert['status'] = 'firing',
): Alert => ({
  status,
  labels: { alertname: 'DiunContainerUpdateAvailable', ...labels },
  annotations: { summary: 'A newer digest', description: 'web is outdated', ...annotations },
});

const webhook = (alerts: Alert[]): AlertmanagerWebhook => ({
  version: '4',
  status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
  groupLabels: { alertname: 'DiunContainerUpdateAvailable' },
  commonAnnotations: { summary: 'A newer digest' },
  alerts,
});

describe('one alert as an ntfy message', () => {
  it('has the topic, Markdown on, the release notes as click, tags from status and severity', () => {
    const message = ntfyMessage(
      alert({ severity: 'warning', image: 'nginx:1', container: 'web' }, { release_url: RELEASE }),
      style,
    );
    expect(message).toEqual({
      topic: 'diun',
      title: 'A newer digest',
      message: `web is outdated\n\n- Image: \`nginx:1\`\n- What changed: ${RELEASE}`,
      priority: 4,
      tags: ['warning', 'firing', 'homelab'],
      click: RELEASE,
      markdown: true,
    });
  });

  it('opens nothing when tapped without a web link', () => {
    for (const release_url of ['', 'javascript:alert(1)', 'ftp://x']) {
      expect(ntfyMessage(alert({}, { release_url }), style)).not.toHaveProperty('click');
    }
  });

  it('takes the priority from the severity, own names only, else info', () => {
    const priority = (severity: string) => ntfyMessage(alert({ severity }), style).priority;
    expect(['critical', 'warning', 'info', 'page'].map(priority)).toEqual([5, 4, 3, 3]);
    for (const severity of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(priority(severity)).toBe(3);
    }
    // No info entry: ntfy's default, 3.
    expect(ntfyMessage(alert({ severity: 'x' }), { ...style, priorities: {} }).priority).toBe(3);
  });

  it('tags a critical alert with a siren and a resolved one with a check mark', () => {
    expect(ntfyMessage(alert({ severity: 'critical' }), style).tags).toEqual([
      'rotating_light',
      'firing',
      'critical',
      'homelab',
    ]);
    const resolved = ntfyMessage(alert({ severity: 'critical' }, {}, 'resolved'), style);
    expect(resolved.tags).toEqual(['white_check_mark', 'resolved', 'critical', 'homelab']);
    expect(resolved.title).toBe('[RESOLVED] A newer digest');
  });

  it('reads as the Gotify message of the same alert', () => {
    const one = alert(
      { severity: 'warning', image: 'nginx:1', container: 'db' },
      { update_command: 'docker compose up -d db', local_digest: 'sha256:aaa' },
    );
    const gotify = gotifyMessage(one, style.priorities);
    const ntfy = ntfyMessage(one, style);
    expect(ntfy.title).toBe(gotify.title);
    expect(ntfy.message).toBe(gotify.message);
  });
});

describe('a group as one ntfy message', () => {
  const group = webhook([
    alert({ severity: 'info', container: 'web' }, { release_url: RELEASE }),
    alert({ severity: 'critical', container: 'db' }, { release_url: RELEASE }, 'resolved'),
    alert({ severity: 'warning', container: 'cache' }, { release_url: RELEASE }),
  ]);

  it('has the text of the Gotify group message, the top firing priority and its severity tag', () => {
    const message = ntfyGroupMessage(group, style);
    const gotify = groupMessage(group, style.priorities);
    expect(message.title).toBe('A newer digest (2 firing, 1 resolved)');
    expect(message.title).toBe(gotify.title);
    expect(message.message).toBe(gotify.message);
    // The resolved critical alert does not count.
    expect(message.priority).toBe(4);
    expect(message.tags).toEqual(['warning', 'firing', 'homelab']);
    // Every alert links the same release notes: a tap opens them.
    expect(message.click).toBe(RELEASE);
  });

  it('opens nothing when the alerts link different release notes', () => {
    const mixed = webhook([
      ...group.alerts,
      alert({ container: 'x' }, { release_url: `${RELEASE}x` }),
    ]);
    expect(ntfyGroupMessage(mixed, style)).not.toHaveProperty('click');
  });

  it('reads a group of one as that alert', () => {
    const [first] = group.alerts;
    expect(ntfyGroupMessage(webhook([first!]), style)).toEqual(ntfyMessage(first!, style));
  });
});

describe('publishing to ntfy (the stand-in)', () => {
  let ntfy: NtfyStandIn;
  const message: NtfyMessage = ntfyMessage(
    alert({ severity: 'critical' }, { release_url: RELEASE }),
    style,
  );
  const config = (auth: NtfyConfig['auth'], retries = 0): NtfyConfig => ({
    endpoint: ntfy.url,
    topic: 'diun',
    auth,
    webhookToken: 'hook',
    priorities: style.priorities,
    tags: [],
    timeout: 2_000,
    retries,
    maxMessagesPerWebhook: 20,
    maxMessagesPerMinute: 60,
  });
  const deliver = async (cfg: NtfyConfig, m: NtfyMessage = message) => {
    const client = new NtfyClient(cfg);
    try {
      return await client.deliver(m);
    } finally {
      await client.close();
    }
  };

  beforeAll(async () => {
    ntfy = await startNtfy({
      users: [
        {
          username: 'diun',
          password: 'pa55',
          tokens: ['tk_diunaccesstoken0000000000000'],
          writeTopics: ['diun'],
        },
        { username: 'reader', password: 'r3ad', writeTopics: [] },
      ],
    });
  });
  afterAll(() => ntfy?.stop());

  it('publishes as JSON with an access token, and ntfy stores every field', async () => {
    const before = ntfy.messages.length;
    expect(
      await deliver(config({ kind: 'token', token: 'tk_diunaccesstoken0000000000000' })),
    ).toEqual({ ok: true });
    expect(ntfy.messages.slice(before)).toEqual([
      expect.objectContaining({
        event: 'message',
        topic: 'diun',
        title: 'A newer digest',
        message: message.message,
        priority: 5,
        tags: ['rotating_light', 'firing', 'critical', 'homelab'],
        click: RELEASE,
        content_type: 'text/markdown',
        publishedBy: 'diun',
      }),
    ]);
  });

  it('publishes with a user name and password (Basic)', async () => {
    const before = ntfy.messages.length;
    expect(await deliver(config({ kind: 'user', username: 'diun', password: 'pa55' }))).toEqual({
      ok: true,
    });
    expect(ntfy.messages.slice(before).map((m) => m.publishedBy)).toEqual(['diun']);
  });

  it('names a wrong token (401) and a login without write access (403), retrying neither', async () => {
    const requests = ntfy.requests();
    expect(await deliver(config({ kind: 'token', token: 'tk_wrong' }, 3))).toEqual({
      ok: false,
      attempts: 1,
      error: 'ntfy answered 401: unauthorized (ntfy does not know this access token)',
    });
    expect(
      await deliver(config({ kind: 'user', username: 'reader', password: 'r3ad' }, 3)),
    ).toEqual({
      ok: false,
      attempts: 1,
      error: 'ntfy answered 403: forbidden (this login may not publish to the topic)',
    });
    expect(await deliver(config({ kind: 'none' }))).toMatchObject({
      error: 'ntfy answered 403: forbidden (this login may not publish to the topic)',
    });
    expect(ntfy.requests() - requests).toBe(3);
  });

  it('retries a 500 and delivers once ntfy recovers', async () => {
    const requests = ntfy.requests();
    ntfy.failNext(1);
    expect(
      await deliver(config({ kind: 'token', token: 'tk_diunaccesstoken0000000000000' }, 2)),
    ).toEqual({
      ok: true,
    });
    expect(ntfy.requests() - requests).toBe(2);
  });
});

describe('the ntfy bridge route', () => {
  const WEBHOOK_TOKEN = 'bridge-t0ken';
  const cfg: NtfyConfig = {
    endpoint: 'http://127.0.0.1:9',
    topic: 'diun',
    auth: { kind: 'none' },
    webhookToken: WEBHOOK_TOKEN,
    priorities: style.priorities,
    tags: [],
    timeout: 1_000,
    retries: 0,
    maxMessagesPerWebhook: 20,
    maxMessagesPerMinute: 60,
  };
  const group = webhook([alert({ container: 'a' }), alert({ container: 'b' })]);

  it('answers 401 without the token and counts each message by channel "ntfy"', async () => {
    const delivered: NtfyMessage[] = [];
    const counted: string[] = [];
    const app = express();
    app.post(
      '/hook',
      ...ntfyRoute({
        config: cfg,
        client: {
          deliver: async (m: NtfyMessage) => {
            delivered.push(m);
            return delivered.length === 1 ? { ok: true } : { ok: false, attempts: 1, error: 'x' };
          },
        },
        notifications: {
          sent: (c) => counted.push(`sent ${c}`),
          failed: (c) => counted.push(`failed ${c}`),
          folded: (c) => counted.push(`folded ${c}`),
        },
      }),
    );
    await request(app).post('/hook').send(group).expect(401, { error: 'unauthorized' });
    await request(app)
      .post('/hook')
      .set('Authorization', `Bearer ${WEBHOOK_TOKEN}`)
      .send(group)
      .expect(502, { alerts: 2, sent: 1, failed: 1 });
    expect(counted).toEqual(['sent ntfy', 'failed ntfy']);
    await request(app)
      .post('/hook?per=group')
      .set('Authorization', `Bearer ${WEBHOOK_TOKEN}`)
      .send(group)
      .expect(502);
    expect(delivered.map((m) => m.title)).toEqual([
      'A newer digest',
      'A newer digest',
      'A newer digest (2 firing)',
    ]);
  });
});
