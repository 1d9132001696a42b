import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { GotifyConfig } from '../../../src/config/gotify.js';
import { type GotifyMessage, gotifyMessage } from '../../../src/notify/gotify.js';
import { gotifyRoute } from '../../../src/server/gotify-route.js';

const WEBHOOK_TOKEN = 'bridge-t0ken';
const config: GotifyConfig = {
  endpoint: 'http://127.0.0.1:9',
  token: 'app-t0ken',
  webhookToken: WEBHOOK_TOKEN,
  priorities: { info: 2 },
  timeout: 1_000,
  retries: 0,
  maxMessagesPerWebhook: 20,
  maxMessagesPerMinute: 60,
};
const webhook = {
  version: '4',
  status: 'firing',
  alerts: [{ status: 'firing', labels: { alertname: 'Test' }, annotations: { summary: 'hi' } }],
};

/** The bridge route alone, with a client that records what it was asked to deliver. */
function bridge() {
  const delivered: GotifyMessage[] = [];
  const app = express();
  app.post(
    '/hook',
    ...gotifyRoute({
      config,
      client: {
        deliver: async (m: GotifyMessage) => {
          delivered.push(m);
          return { ok: true } as const;
        },
      },
      notifications: { sent: () => {}, failed: () => {}, folded: () => {} },
    }),
  );
  return { app, delivered };
}

/** A POST to the bridge route with the right token. */
const authorized = (app: express.Express, path: string) =>
  request(app).post(path).set('Authorization', `Bearer ${WEBHOOK_TOKEN}`);

describe('the Gotify bridge route', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer wrong'],
    ['the Gotify application token', `Bearer ${config.token}`],
    ['the token with a suffix', `Bearer ${WEBHOOK_TOKEN}x`],
  ])('answers 401 and delivers nothing for %s', async (_what, header) => {
    const { app, delivered } = bridge();
    const req = request(app).post('/hook');
    if (header) req.set('Authorization', header);
    const res = await req.send(webhook);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'unauthorized' });
    expect(delivered).toEqual([]);
  });

  it('delivers with the right token', async () => {
    const { app, delivered } = bridge();
    await request(app)
      .post('/hook')
      .set('Authorization', `Bearer ${WEBHOOK_TOKEN}`)
      .send(webhook)
      .expect(200, { alerts: 1, sent: 1, failed: 0 });
    expect(delivered).toHaveLength(1);
  });

  // One Alertmanager group of three: two outdated containers and one updated since.
  const group = {
    version: '4',
    status: 'firing',
    groupLabels: { alertname: 'DiunContainerUpdateAvailable', instance: 'diun-exporter:8080' },
    commonAnnotations: { summary: 'An image has a newer digest' },
    alerts: [
      ['firing', 'web', 'warning'],
      ['resolved', 'db', 'critical'],
      ['firing', 'cache', 'info'],
    ].map(([status, container, severity]) => ({
      status,
      labels: {
        alertname: 'DiunContainerUpdateAvailable',
        container: container!,
        severity: severity!,
      },
      annotations: {
        summary: 'An image has a newer digest',
        description: `Container \`${container}\` runs an outdated digest.`,
        update_command: `docker compose up -d ${container}`,
      },
    })),
  };

  it('sends one message per alert by default and with ?per=alert', async () => {
    for (const path of ['/hook', '/hook?per=alert']) {
      const { app, delivered } = bridge();
      await authorized(app, path).send(group).expect(200, { alerts: 3, sent: 3, failed: 0 });
      expect(delivered.map((m) => m.title)).toEqual([
        'An image has a newer digest',
        '[RESOLVED] An image has a newer digest',
        'An image has a newer digest',
      ]);
    }
  });

  it('sends the whole group as one message with ?per=group: firing alerts first, then resolved', async () => {
    const { app, delivered } = bridge();
    await authorized(app, '/hook?per=group')
      .send(group)
      .expect(200, { alerts: 3, sent: 3, failed: 0 });
    expect(delivered).toHaveLength(1);
    const [message] = delivered;
    expect(message!.title).toBe('An image has a newer digest (2 firing, 1 resolved)');
    // The highest priority of the firing alerts (warning; info's priority is the fallback).
    expect(message!.priority).toBe(2);
    expect(message!.message.split('\n\n---\n\n')).toEqual([
      'Container `web` runs an outdated digest.\n\nUpdate with:\n\n```sh\ndocker compose up -d web\n```',
      'Container `cache` runs an outdated digest.\n\nUpdate with:\n\n```sh\ndocker compose up -d cache\n```',
      // A resolved container needs no command.
      '**[RESOLVED]** Container `db` runs an outdated digest.',
    ]);
  });

  it('sends a group of one alert with ?per=group as that alert alone', async () => {
    const one = { ...group, alerts: [group.alerts[1]] };
    const perAlert = bridge();
    const perGroup = bridge();
    for (const [{ app }, path] of [
      [perAlert, '/hook'],
      [perGroup, '/hook?per=group'],
    ] as const) {
      await authorized(app, path).send(one).expect(200);
    }
    expect(perGroup.delivered).toEqual(perAlert.delivered);
    expect(perGroup.delivered[0]!.title).toBe('[RESOLVED] An image has a newer digest');
  });

  it('titles a resolved group by its count and answers 400 for another ?per', async () => {
    const { app, delivered } = bridge();
    const resolved = {
      ...group,
      status: 'resolved',
      alerts: group.alerts.map((a) => ({ ...a, status: 'resolved' })),
    };
    await authorized(app, '/hook?per=group').send(resolved).expect(200);
    expect(delivered.map((m) => m.title)).toEqual(['[RESOLVED] An image has a newer digest (3)']);
    await authorized(app, '/hook?per=image')
      .send(group)
      .expect(400, { error: 'per: expected alert or group' });
    expect(delivered).toHaveLength(1);
  });

  it('refuses a body over 1 MB with 413 in JSON', async () => {
    const { app, delivered } = bridge();
    const big = JSON.stringify({ ...webhook, padding: 'x'.repeat(1024 * 1024) });
    const res = await request(app)
      .post('/hook')
      .set('Authorization', `Bearer ${WEBHOOK_TOKEN}`)
      .set('content-type', 'application/json')
      .send(big);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: 'body too large' });
    expect(delivered).toEqual([]);
  });
});

describe('one alert as a Gotify message', () => {
  const alert = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
    status: 'firing' as const,
    labels: { alertname: 'DiunContainerUpdateAvailable', ...labels },
    annotations: { summary: 'A newer digest', description: 'web is outdated', ...annotations },
  });
  const priorities = { critical: 8, warning: 5, info: 2 };

  it('opens the release notes when tapped, and only for a web link', () => {
    const url = 'https://github.com/acme/shop/compare/1a2b3c4...9f8e7d6';
    expect(
      gotifyMessage(alert({ severity: 'warning' }, { release_url: url }), priorities).extras,
    ).toEqual({
      'client::display': { contentType: 'text/markdown' },
      'client::notification': { click: { url } },
    });
    for (const release_url of ['', 'javascript:alert(1)']) {
      const extras = gotifyMessage(alert({}, { release_url }), priorities).extras;
      expect(extras['client::notification']).toBe(undefined);
    }
  });

  it('reads a severity named like an object property as no known priority', () => {
    for (const severity of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(gotifyMessage(alert({ severity }), priorities).priority).toBe(2);
    }
    expect(gotifyMessage(alert({ severity: 'critical' }), priorities).priority).toBe(8);
  });
});
