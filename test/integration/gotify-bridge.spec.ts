import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAlertmanager } from '../support/alertmanager.js';
import { requireBinary, run, waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { type GotifyStandIn, startGotify } from '../support/gotify.js';
import { value } from '../support/metrics-text.js';

// Alertmanager 0.25 posts its webhook (version 4) to the exporter's bridge, which must turn each
// alert into a Gotify message, and answer so that Alertmanager retries what did not arrive.

const fixture = JSON.parse(
  readFileSync(
    resolve(import.meta.dirname, '..', 'fixtures', 'alertmanager-webhook-v4.json'),
    'utf8',
  ),
) as WebhookBody;

interface WebhookBody {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  [key: string]: unknown;
}

const WEBHOOK_TOKEN = 'am-bridge-T0ken-5ecret';
const APP_TOKEN = 'AppT0ken-gotify-5ecret';
const ROUTE = '/api/v1/alertmanager/gotify';
const gotifyLabel = { channel: 'gotify' };

/** One firing alert of the fixture's kind, with `labels` changed. */
function alertWith(labels: Record<string, string>, status = 'firing'): WebhookBody {
  const [first] = structuredClone(fixture.alerts);
  const alert = { ...first!, status, labels: { ...first!.labels, ...labels } };
  return { ...structuredClone(fixture), status, alerts: [alert] };
}

describe('Alertmanager to Gotify bridge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gotify-bridge-'));
  let gotify: GotifyStandIn;
  let exporter: ExporterProcess;

  // `null`: no Authorization header at all.
  const post = (body: unknown, token: string | null = WEBHOOK_TOKEN) =>
    fetch(`${exporter.url}${ROUTE}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const counters = async () => {
    const samples = await exporter.scrape();
    return {
      sent: value(samples, 'diun_notifications_sent_total', gotifyLabel),
      failed: value(samples, 'diun_notifications_failed_total', gotifyLabel),
    };
  };

  beforeAll(async () => {
    gotify = await startGotify(APP_TOKEN);
    writeFileSync(join(dir, 'app-token'), `${APP_TOKEN}\n`);
    writeFileSync(join(dir, 'webhook-token'), `${WEBHOOK_TOKEN}\n`);
    exporter = await startExporter(
      {
        watch: { schedule: '' },
        gotify: {
          endpoint: `${gotify.url}/`,
          webhookTokenFile: join(dir, 'webhook-token'),
          priorities: { critical: 10 },
          timeout: '2s',
          retries: 3,
        },
      },
      // The application token comes from the environment, as in a compose file.
      { env: { DIUN_GOTIFY_TOKENFILE: join(dir, 'app-token') } },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    await gotify?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await gotify.setMode('ok');
    gotify.failNext(0);
  });

  it('shows both counters at 0 before anything is sent', async () => {
    expect(await counters()).toEqual({ sent: 0, failed: 0 });
  });

  it('sends one Markdown message per alert: firing with the update command, resolved marked', async () => {
    const before = gotify.messages.length;
    const res = await post(fixture);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ alerts: 2, sent: 2, failed: 0 });

    const [firing, resolved] = gotify.messages.slice(before);
    expect(firing).toMatchObject({
      title: 'A running container has a newer image in its registry',
      priority: 5,
      extras: { 'client::display': { contentType: 'text/markdown' } },
    });
    expect(firing!.message).toBe(
      [
        'Container **web** (compose project `shop`, service `web`) runs `docker.io/library/nginx:latest`; the registry has a newer image since 2026-11-28 10:00 UTC.',
        '',
        'Update with:',
        '',
        '```sh',
        'docker compose -p shop pull web && docker compose -p shop up -d web',
        '```',
      ].join('\n'),
    );
    expect(resolved).toMatchObject({
      title: '[RESOLVED] A running container has a newer image in its registry',
      priority: 5,
      extras: { 'client::display': { contentType: 'text/markdown' } },
    });
    expect(resolved!.message).toContain('Container **web-2**');
    expect((await counters()).sent).toBeGreaterThanOrEqual(2);
  });

  it('takes the priority from the severity label, with the configured priorities', async () => {
    const before = gotify.messages.length;
    for (const severity of ['critical', 'warning', 'info', 'page']) {
      expect((await post(alertWith({ severity }))).status).toBe(200);
    }
    // critical set to 10 in the config; the others keep 5 and 2; an unknown severity gets info's.
    expect(gotify.messages.slice(before).map((m) => m.priority)).toEqual([10, 5, 2, 2]);
  });

  it('titles an alert without a summary by its alertname', async () => {
    const body = alertWith({ alertname: 'DiunWatchStale' });
    body.alerts[0]!.annotations = {};
    const before = gotify.messages.length;
    expect((await post(body)).status).toBe(200);
    const [message] = gotify.messages.slice(before);
    expect(message!.title).toBe('DiunWatchStale');
    expect(message!.message).toContain('alertname=DiunWatchStale');
  });

  it('answers 401 and sends nothing without the right Bearer token', async () => {
    const requests = gotify.requests();
    for (const token of [null, 'wrong-token', `${WEBHOOK_TOKEN}x`, APP_TOKEN]) {
      const res = await post(fixture, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
    expect(gotify.requests()).toBe(requests);
  });

  it('answers 400 naming the problem for a body that is not an Alertmanager webhook', async () => {
    const requests = gotify.requests();
    const notJson = await post('{"alerts": [');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'body is not valid JSON' });

    const bad = structuredClone(fixture);
    bad.alerts[0]!.status = 'pending';
    const res = await post(bad);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'not an Alertmanager webhook (version 4) body',
      problems: ['alerts[0].status: expected firing or resolved'],
    });
    expect((await post({ ...fixture, version: '3' })).status).toBe(400);
    expect(gotify.requests()).toBe(requests);
  });

  it('retries while Gotify answers 500 and delivers once it recovers', async () => {
    const before = await counters();
    const requests = gotify.requests();
    const messages = gotify.messages.length;
    gotify.failNext(2);
    const res = await post(alertWith({ container: 'retried' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ alerts: 1, sent: 1, failed: 0 });
    expect(gotify.requests() - requests).toBe(3);
    expect(gotify.messages.length).toBe(messages + 1);
    expect(await counters()).toEqual({ sent: before.sent! + 1, failed: before.failed });
  });

  it('answers 502 with counts when Gotify stays down, counts the failure and logs it', async () => {
    const before = await counters();
    await gotify.setMode('down');
    const res = await post(fixture);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ alerts: 2, sent: 0, failed: 2 });
    expect(await counters()).toEqual({ sent: before.sent, failed: before.failed! + 2 });
    const lines = exporter.output().split('\n');
    const failed = lines.filter((line) => line.includes('gotify: message not delivered'));
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed.at(-1)).toMatch(/alertname=DiunContainerUpdateAvailable .*attempts=4 /);
    expect(failed.at(-1)).toContain('ECONNREFUSED');
  });

  it('answers 502 when Gotify keeps failing with 500', async () => {
    await gotify.setMode('error');
    const requests = gotify.requests();
    const res = await post(alertWith({ container: 'never' }));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ alerts: 1, sent: 0, failed: 1 });
    // The first try and three retries, then no more.
    expect(gotify.requests() - requests).toBe(4);
  });

  it('exposes the counters in a form promtool accepts', async () => {
    const text = await exporter.scrapeText();
    expect(text).toContain('# TYPE diun_notifications_sent_total counter');
    expect(text).toContain('# TYPE diun_notifications_failed_total counter');
    const promtool = requireBinary('promtool', 'prometheus');
    const { stdout, stderr } = await run(promtool, ['check', 'metrics'], { input: text });
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('never shows a token in its log, metrics or API answers', async () => {
    const api = await (await fetch(`${exporter.url}/api/v1/images`)).text();
    const everything = [exporter.output(), await exporter.scrapeText(), api].join('\n');
    expect(everything).not.toContain(WEBHOOK_TOKEN);
    expect(everything).not.toContain(APP_TOKEN);
    expect(everything).toContain('diun_notifications_sent_total{channel="gotify"}');
  });
});

describe('Gotify bridge with a wrong application token', () => {
  it('does not retry what Gotify refuses with 401, and answers 502', async () => {
    const gotify = await startGotify('the-right-app-token');
    const exporter = await startExporter({
      watch: { schedule: '' },
      gotify: { endpoint: gotify.url, token: 'a-wrong-app-token', webhookToken: WEBHOOK_TOKEN },
    });
    try {
      const res = await fetch(`${exporter.url}${ROUTE}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(alertWith({})),
      });
      expect(res.status).toBe(502);
      expect(gotify.requests()).toBe(1);
      expect(gotify.messages).toEqual([]);
      expect(value(await exporter.scrape(), 'diun_notifications_failed_total', gotifyLabel)).toBe(
        1,
      );
      const line = exporter
        .output()
        .split('\n')
        .find((l) => l.includes('message not delivered'));
      expect(line).toContain('Gotify answered 401: you need to provide a valid access token');
      expect(line).not.toContain('a-wrong-app-token');
    } finally {
      await exporter.stop();
      await gotify.stop();
    }
  });
});

describe('without a gotify section', () => {
  it('answers 404 saying the bridge is off, and has no notification series', async () => {
    const exporter = await startExporter({ watch: { schedule: '' } });
    try {
      const res = await fetch(`${exporter.url}${ROUTE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(fixture),
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: expect.stringMatching(/gotify section is not set/),
      });
      const metrics = await exporter.scrapeText();
      expect(metrics).not.toContain('diun_notifications_sent_total{');
    } finally {
      await exporter.stop();
    }
  });
});

describe('from the real Alertmanager', () => {
  it('delivers an alert posted to Alertmanager, authenticated by its credentials_file', async () => {
    const gotify = await startGotify(APP_TOKEN);
    const exporter = await startExporter({
      watch: { schedule: '' },
      gotify: { endpoint: gotify.url, token: APP_TOKEN, webhookToken: WEBHOOK_TOKEN },
    });
    const alertmanager = await startAlertmanager(
      `route:
  receiver: gotify
  group_by: [alertname, image]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: gotify
    webhook_configs:
      - url: ${exporter.url}${ROUTE}
        send_resolved: true
        http_config:
          authorization:
            credentials_file: $DIR/secrets/gotify-bridge-token
`,
      { 'secrets/gotify-bridge-token': `${WEBHOOK_TOKEN}\n` },
    );
    try {
      const [alert] = fixture.alerts;
      const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { labels: { ...alert!.labels, severity: 'critical' }, annotations: alert!.annotations },
        ]),
      });
      expect(res.status).toBe(200);
      const [message] = await waitFor(() => gotify.messages.length > 0 && gotify.messages, {
        timeoutMs: 30_000,
        what: 'Alertmanager to deliver through the bridge to Gotify',
      });
      expect(message).toMatchObject({
        title: 'A running container has a newer image in its registry',
        priority: 8,
        extras: { 'client::display': { contentType: 'text/markdown' } },
      });
      expect(message!.message).toContain('docker compose -p shop pull web');
    } finally {
      await alertmanager.stop();
      await exporter.stop();
      await gotify.stop();
    }
  });
});
