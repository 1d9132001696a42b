import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { type GotifyStandIn, startGotify } from '../support/gotify.js';
import { value } from '../support/metrics-text.js';
import { type NtfyStandIn, startNtfy } from '../support/ntfy.js';

// One Alertmanager webhook of 500 alerts, to the built exporter with both bridges at their
// default caps: each push service gets 20 messages and one summary counting the other 480, not
// 500 messages.

const WEBHOOK_TOKEN = 'caps-bridge-T0ken';
const APP_TOKEN = 'caps-app-T0ken';
const TOPIC = 'diun-caps';
const AM = 'http://alertmanager.example.org:9093';

const webhook = (count: number) => ({
  version: '4',
  status: 'firing',
  receiver: 'push',
  groupKey: '{}:{alertname="DiunContainerUpdateAvailable"}',
  groupLabels: { alertname: 'DiunContainerUpdateAvailable' },
  commonLabels: { alertname: 'DiunContainerUpdateAvailable' },
  commonAnnotations: {},
  externalURL: AM,
  alerts: Array.from({ length: count }, (_, i) => ({
    status: 'firing',
    labels: {
      alertname: 'DiunContainerUpdateAvailable',
      container: `web-${i}`,
      severity: 'warning',
    },
    annotations: { summary: `web-${i} has a newer image`, description: `web-${i} is outdated` },
    startsAt: '2026-12-05T07:00:00Z',
    fingerprint: i.toString(16).padStart(16, '0'),
  })),
});

describe('the bridges cap one webhook of many alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-caps-'));
  let gotify: GotifyStandIn;
  let ntfy: NtfyStandIn;
  let exporter: ExporterProcess;

  const post = (route: string, body: unknown) =>
    fetch(`${exporter.url}/api/v1/alertmanager/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    gotify = await startGotify(APP_TOKEN);
    ntfy = await startNtfy({ openTopics: [TOPIC] });
    writeFileSync(join(dir, 'webhook-token'), `${WEBHOOK_TOKEN}\n`);
    exporter = await startExporter({
      watch: { schedule: '' },
      gotify: {
        endpoint: gotify.url,
        token: APP_TOKEN,
        webhookTokenFile: join(dir, 'webhook-token'),
        timeout: '2s',
      },
      ntfy: {
        endpoint: ntfy.url,
        topic: TOPIC,
        webhookTokenFile: join(dir, 'webhook-token'),
        timeout: '2s',
      },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await gotify?.stop();
    await ntfy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends Gotify 20 messages and one naming the 480 others, and counts them', async () => {
    const res = await post('gotify', webhook(500));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ alerts: 500, sent: 500, failed: 0, folded: 480 });
    expect(gotify.requests()).toBe(21);
    // The bridge sends a few messages at once, so they may arrive in any order.
    const titles = gotify.messages.map((m) => m.title);
    expect(titles.filter((t) => t.endsWith('has a newer image')).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `web-${i} has a newer image`).sort(),
    );
    expect(gotify.messages.find((m) => m.title.includes('more alerts'))).toMatchObject({
      title: 'DiunContainerUpdateAvailable: 480 more alerts',
      message: `… and 480 more alerts: see Alertmanager (${AM})`,
      priority: 5,
    });
    const samples = await exporter.scrape();
    expect(value(samples, 'diun_notifications_sent_total', { channel: 'gotify' })).toBe(21);
    expect(value(samples, 'diun_notifications_folded_total', { channel: 'gotify' })).toBe(480);
  });

  it('publishes to ntfy 20 messages and one naming the 480 others', async () => {
    const res = await post('ntfy', webhook(500));
    expect(res.status).toBe(200);
    expect(ntfy.requests()).toBe(21);
    expect(ntfy.messages.find((m) => m.title?.includes('more alerts'))).toMatchObject({
      topic: TOPIC,
      title: 'DiunContainerUpdateAvailable: 480 more alerts',
      message: `… and 480 more alerts: see Alertmanager (${AM})`,
      priority: 4,
    });
    const samples = await exporter.scrape();
    expect(value(samples, 'diun_notifications_folded_total', { channel: 'ntfy' })).toBe(480);
  });

  it('answers 503 with Retry-After once the minute’s 60 Gotify messages are spent', async () => {
    // 21 sent above; two more webhooks of 500 take 21 and 18 (17 of their own and a summary).
    expect((await post('gotify', webhook(500))).status).toBe(200);
    expect((await post('gotify', webhook(500))).status).toBe(200);
    expect(gotify.requests()).toBe(60);
    expect(gotify.messages.slice(21, 60).map((m) => m.title)).toContain(
      'DiunContainerUpdateAvailable: 483 more alerts',
    );
    const refused = await post('gotify', webhook(500));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(gotify.requests()).toBe(60);
  });
});
