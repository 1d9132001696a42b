import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { GotifyConfig } from '../../../src/config/gotify.js';
import type { GotifyMessage } from '../../../src/notify/gotify.js';
import { gotifyRoute } from '../../../src/server/gotify-route.js';

const WEBHOOK_TOKEN = 'bridge-t0ken';
const config: GotifyConfig = {
  endpoint: 'http://127.0.0.1:9',
  token: 'app-t0ken',
  webhookToken: WEBHOOK_TOKEN,
  priorities: { info: 2 },
  timeout: 1_000,
  retries: 0,
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
      notifications: { sent: () => {}, failed: () => {} },
    }),
  );
  return { app, delivered };
}

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
