import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { GotifyConfig } from '../../../src/config/gotify.js';
import type { NtfyConfig } from '../../../src/config/ntfy.js';
import type { Alert, AlertmanagerWebhook } from '../../../src/notify/bridge.js';
import { MessageBudget } from '../../../src/notify/budget.js';
import {
  deliverAlerts,
  foldedMessage,
  type GotifyMessage,
  groupMessage,
} from '../../../src/notify/gotify.js';
import {
  deliverToNtfy,
  type NtfyMessage,
  ntfyFoldedMessage,
  ntfyGroupMessage,
} from '../../../src/notify/ntfy.js';
import { gotifyRoute } from '../../../src/server/gotify-route.js';
import { ntfyRoute } from '../../../src/server/ntfy-route.js';

// One webhook of many alerts must not become as many pushes: the bridge caps the messages per
// webhook and per minute, and one summary message counts the rest.

const TOKEN = 'bridge-t0ken';
const AM = 'http://alertmanager.example.org:9093';

const gotifyConfig = (caps: Partial<GotifyConfig> = {}): GotifyConfig => ({
  endpoint: 'http://127.0.0.1:9',
  token: 'app',
  webhookToken: TOKEN,
  priorities: { critical: 8, warning: 5, info: 2 },
  timeout: 1_000,
  retries: 0,
  maxMessagesPerWebhook: 20,
  maxMessagesPerMinute: 60,
  ...caps,
});

const ntfyConfig = (caps: Partial<NtfyConfig> = {}): NtfyConfig => ({
  endpoint: 'http://127.0.0.1:9',
  topic: 'diun',
  auth: { kind: 'none' },
  webhookToken: TOKEN,
  priorities: { critical: 5, warning: 4, info: 3 },
  tags: [],
  timeout: 1_000,
  retries: 0,
  maxMessagesPerWebhook: 20,
  maxMessagesPerMinute: 60,
  ...caps,
});

const alert = (
  n: number,
  labels: Record<string, string> = {},
  status: Alert['status'] = 'firing',
) => ({
  status,
  labels: { alertname: 'DiunContainerUpdateAvailable', container: `c${n}`, ...labels },
  annotations: { summary: 'A newer digest', description: `c${n} is outdated` },
});

const webhook = (alerts: Alert[]): AlertmanagerWebhook => ({
  version: '4',
  status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
  groupLabels: { alertname: 'DiunContainerUpdateAvailable' },
  commonAnnotations: { summary: 'A newer digest' },
  externalURL: AM,
  alerts,
});

const many = (count: number, status: Alert['status'] = 'firing') =>
  webhook(Array.from({ length: count }, (_, i) => alert(i, {}, status)));

/** A channel's client that takes every message, and the counters it fed. */
function recorder<M>() {
  const delivered: M[] = [];
  const counted = { sent: 0, failed: 0, folded: 0 };
  return {
    delivered,
    counted,
    client: {
      deliver: async (m: M) => {
        delivered.push(m);
        return { ok: true } as const;
      },
    },
    notifications: {
      sent: () => void counted.sent++,
      failed: () => void counted.failed++,
      folded: (_channel: string, alerts: number) => {
        counted.folded += alerts;
      },
    },
  };
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('the bridge caps messages per webhook', () => {
  it('sends 20 messages of 500 alerts, then one naming the other 480', async () => {
    const { delivered, counted, client, notifications } = recorder<GotifyMessage>();
    const summary = await deliverAlerts(
      many(500),
      { config: gotifyConfig(), client, notifications },
      'alert',
      new MessageBudget(60),
    );
    expect(delivered).toHaveLength(21);
    expect(delivered.slice(0, 20).map((m) => m.message)).toEqual(
      Array.from({ length: 20 }, (_, i) => `c${i} is outdated`),
    );
    expect(delivered[20]).toMatchObject({
      title: 'A newer digest: 480 more alerts',
      message: `… and 480 more alerts: see Alertmanager (${AM})`,
      priority: 2,
    });
    expect(summary).toEqual({ alerts: 500, sent: 500, failed: 0, folded: 480 });
    expect(counted).toEqual({ sent: 21, failed: 0, folded: 480 });
  });

  it('sends every alert on its own up to the cap, and splits firing and resolved in the summary', async () => {
    const { delivered, client, notifications } = recorder<NtfyMessage>();
    const config = ntfyConfig({ maxMessagesPerWebhook: 3 });
    const bridge = { config, client, notifications };
    await deliverToNtfy(many(3), bridge, 'alert', new MessageBudget(60));
    expect(delivered.map((m) => m.title)).toEqual(Array(3).fill('A newer digest'));
    const mixed = webhook([...many(4).alerts, ...many(2, 'resolved').alerts]);
    const summary = await deliverToNtfy(mixed, bridge, 'alert', new MessageBudget(60));
    expect(delivered).toHaveLength(3 + 4);
    expect(delivered[6]).toMatchObject({
      topic: 'diun',
      title: 'A newer digest: 3 more alerts',
      message: `… and 3 more alerts (1 firing, 2 resolved): see Alertmanager (${AM})`,
      markdown: true,
    });
    expect(summary).toEqual({ alerts: 6, sent: 6, failed: 0, folded: 3 });
  });

  it('lists at most the cap in a ?per=group message, with a line for the rest', async () => {
    const { delivered, counted, client, notifications } = recorder<GotifyMessage>();
    const summary = await deliverAlerts(
      many(500),
      { config: gotifyConfig({ maxMessagesPerWebhook: 5 }), client, notifications },
      'group',
      new MessageBudget(60),
    );
    expect(delivered).toHaveLength(1);
    const sections = delivered[0]!.message.split('\n\n---\n\n');
    expect(delivered[0]!.title).toBe('A newer digest (500 firing)');
    expect(sections).toHaveLength(6);
    expect(sections[5]).toBe(`… and 495 more alerts: see Alertmanager (${AM})`);
    expect(summary).toEqual({ alerts: 500, sent: 500, failed: 0, folded: 495 });
    expect(counted).toEqual({ sent: 1, failed: 0, folded: 495 });
  });
});

describe('the bridge caps messages per minute and channel', () => {
  it('folds what the minute has no room for, then asks to come again, then sends again', async () => {
    const time = clock();
    const budget = new MessageBudget(30, time.now);
    const { delivered, client, notifications } = recorder<GotifyMessage>();
    const bridge = { config: gotifyConfig(), client, notifications };
    // 20 of their own and a summary: 21 of the 30.
    await deliverAlerts(many(25), bridge, 'alert', budget);
    expect(delivered).toHaveLength(21);
    // 9 left: 8 of their own and a summary of 17.
    time.advance(30_000);
    const second = await deliverAlerts(many(25), bridge, 'alert', budget);
    expect(delivered).toHaveLength(30);
    expect(delivered[29]!.title).toBe('A newer digest: 17 more alerts');
    expect(second).toEqual({ alerts: 25, sent: 25, failed: 0, folded: 17 });
    // None left: nothing sent, come again when the first burst leaves the window.
    time.advance(10_000);
    expect(await deliverAlerts(many(3), bridge, 'alert', budget)).toEqual({
      alerts: 3,
      sent: 0,
      failed: 0,
      retryAfterSeconds: 20,
    });
    expect(delivered).toHaveLength(30);
    time.advance(20_000);
    await deliverAlerts(many(3), bridge, 'alert', budget);
    expect(delivered).toHaveLength(33);
  });

  it('answers 503 with Retry-After once the minute is spent, so Alertmanager retries', async () => {
    const { delivered, client, notifications } = recorder<NtfyMessage>();
    const app = express();
    app.post(
      '/hook',
      ...ntfyRoute({ config: ntfyConfig({ maxMessagesPerMinute: 2 }), client, notifications }),
    );
    const post = () => request(app).post('/hook').set('Authorization', `Bearer ${TOKEN}`);
    await post().send(many(5)).expect(200, { alerts: 5, sent: 5, failed: 0, folded: 4 });
    expect(delivered.map((m) => m.title)).toEqual([
      'A newer digest',
      'A newer digest: 4 more alerts',
    ]);
    const res = await post().send(many(5)).expect(503);
    expect(res.body).toMatchObject({ alerts: 5, sent: 0, failed: 0 });
    expect(res.body.error).toMatch(/too many messages this minute/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(delivered).toHaveLength(2);
  });

  it('keeps one budget per route, shared by its webhooks, per=group included', async () => {
    const { delivered, client, notifications } = recorder<GotifyMessage>();
    const app = express();
    app.post(
      '/hook',
      ...gotifyRoute({ config: gotifyConfig({ maxMessagesPerMinute: 3 }), client, notifications }),
    );
    const post = (path: string) => request(app).post(path).set('Authorization', `Bearer ${TOKEN}`);
    await post('/hook?per=group').send(many(4)).expect(200);
    await post('/hook?per=group').send(many(4)).expect(200);
    await post('/hook').send(many(1)).expect(200);
    await post('/hook?per=group').send(many(4)).expect(503);
    expect(delivered).toHaveLength(3);
  });
});

describe('a severity named like an object property', () => {
  const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it('gets the default priority in group and summary messages, Gotify and ntfy alike', () => {
    for (const severity of odd) {
      const hook = webhook([alert(1, { severity }), alert(2, { severity })]);
      expect(groupMessage(hook, gotifyConfig().priorities).priority).toBe(2);
      expect(foldedMessage(hook, gotifyConfig().priorities).priority).toBe(2);
      expect(ntfyGroupMessage(hook, ntfyConfig()).priority).toBe(3);
      expect(ntfyFoldedMessage(hook, ntfyConfig()).priority).toBe(3);
      // Priorities with no `info`: the channel's own default, never a function or object.
      expect(groupMessage(hook, {}).priority).toBe(0);
      expect(ntfyGroupMessage(hook, { ...ntfyConfig(), priorities: {} }).priority).toBe(3);
    }
  });

  it('gets the default priority through the route, and its name as an ntfy tag', async () => {
    const gotify = recorder<GotifyMessage>();
    const ntfy = recorder<NtfyMessage>();
    const app = express();
    app.post('/gotify', ...gotifyRoute({ config: gotifyConfig(), ...gotify }));
    app.post('/ntfy', ...ntfyRoute({ config: ntfyConfig(), ...ntfy }));
    const hook = webhook(odd.map((severity, i) => alert(i, { severity })));
    for (const path of ['/gotify', '/ntfy']) {
      await request(app).post(path).set('Authorization', `Bearer ${TOKEN}`).send(hook).expect(200);
    }
    expect(gotify.delivered.map((m) => m.priority)).toEqual(odd.map(() => 2));
    expect(ntfy.delivered.map((m) => m.priority)).toEqual(odd.map(() => 3));
    expect(ntfy.delivered.map((m) => m.tags)).toEqual(odd.map((s) => ['warning', 'firing', s]));
  });
});
