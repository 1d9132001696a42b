import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { localPaths } from '../support/alert-rig.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { value } from '../support/metrics-text.js';
import { type NtfyStandIn, startNtfy } from '../support/ntfy.js';

// Alertmanager 0.25 posts its webhook (version 4) to the exporter's ntfy bridge, configured as
// the shipped alertmanager/receivers/ntfy.yml has it; the bridge publishes to ntfy (a stand-in
// that checks access as ntfy does) with the topic, priority, tags, click link and access token.

const fixture = JSON.parse(
  readFileSync(
    resolve(import.meta.dirname, '..', 'fixtures', 'alertmanager-webhook-v4.json'),
    'utf8',
  ),
) as { alerts: unknown[] };

const ROOT = resolve(import.meta.dirname, '..', '..');
const WEBHOOK_TOKEN = 'am-ntfy-bridge-T0ken';
const ACCESS_TOKEN = 'tk_ntfyaccesst0ken5ecret0000000';
const TOPIC = 'diun-updates';
const ROUTE = '/api/v1/alertmanager/ntfy';
const ntfyLabel = { channel: 'ntfy' };

const ntfyUsers = () =>
  startNtfy({
    users: [
      { username: 'diun', password: 'unused', tokens: [ACCESS_TOKEN], writeTopics: [TOPIC] },
      { username: 'reader', password: 'r3ader', writeTopics: [] },
    ],
  });

const post = (exporter: ExporterProcess, body: unknown, token = WEBHOOK_TOKEN) =>
  fetch(`${exporter.url}${ROUTE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

describe('Alertmanager to ntfy through the shipped receiver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ntfy-bridge-'));
  let ntfy: NtfyStandIn;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    ntfy = await ntfyUsers();
    writeFileSync(join(dir, 'access-token'), `${ACCESS_TOKEN}\n`);
    writeFileSync(join(dir, 'webhook-token'), `${WEBHOOK_TOKEN}\n`);
    exporter = await startExporter(
      {
        watch: { schedule: '' },
        ntfy: {
          endpoint: `${ntfy.url}/`,
          topic: TOPIC,
          webhookTokenFile: join(dir, 'webhook-token'),
          tags: ['homelab'],
          retries: 1,
        },
      },
      // The access token comes from the environment, as in a compose file.
      { env: { DIUN_NTFY_TOKENFILE: join(dir, 'access-token') } },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    await ntfy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the ntfy counters at 0, and no Gotify series', async () => {
    const samples = await exporter.scrape();
    expect(value(samples, 'diun_notifications_sent_total', ntfyLabel)).toBe(0);
    expect(value(samples, 'diun_notifications_failed_total', ntfyLabel)).toBe(0);
    expect(await exporter.scrapeText()).not.toContain('channel="gotify"');
  });

  it('publishes one message per group with topic, priority, tags, click and the access token', async () => {
    const snippet = parse(readFileSync(join(ROOT, 'alertmanager/receivers/ntfy.yml'), 'utf8')) as {
      receivers: unknown[];
    };
    // The shipped receiver, with the exporter's address and the secret's folder of this test.
    const config = localPaths(
      stringify({
        route: {
          receiver: 'ntfy',
          group_by: ['alertname', 'instance'],
          group_wait: '1s',
          group_interval: '2s',
          repeat_interval: '1h',
        },
        receivers: snippet.receivers,
      }).replaceAll('diun-exporter:8080', new URL(exporter.url).host),
      '$DIR',
    );
    const alertmanager = await startAlertmanager(config, {
      'secrets/ntfy-bridge-token': `${WEBHOOK_TOKEN}\n`,
    });
    try {
      const release = 'https://github.com/shop/web/releases/tag/v1.5';
      const alert = (container: string, severity: string) => ({
        labels: {
          alertname: 'DiunContainerUpdateAvailable',
          severity,
          instance: 'diun-exporter:8080',
          image: 'registry.example.org/shop/web:1.4',
          container,
        },
        annotations: {
          summary: 'A container runs an outdated image',
          update_command: `docker compose -p shop pull ${container} && docker compose -p shop up -d ${container}`,
          release_url: release,
        },
      });
      const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([alert('web', 'warning'), alert('worker', 'critical')]),
      });
      expect(res.status).toBe(200);
      const [message, ...more] = await waitFor(() => ntfy.messages.length > 0 && ntfy.messages, {
        timeoutMs: 30_000,
        what: `Alertmanager to publish through the bridge to ntfy (log:\n${alertmanager.log()})`,
      });
      expect(more).toEqual([]);
      expect(message).toMatchObject({
        event: 'message',
        topic: TOPIC,
        title: 'A container runs an outdated image (2 firing)',
        priority: 5,
        tags: ['rotating_light', 'firing', 'critical', 'homelab'],
        click: release,
        content_type: 'text/markdown',
        publishedBy: 'diun',
      });
      for (const container of ['web', 'worker']) {
        expect(message!.message).toContain(`- Container: \`${container}\``);
        expect(message!.message).toContain(`docker compose -p shop up -d ${container}`);
      }
      expect(message!.message).toContain('- Image: `registry.example.org/shop/web:1.4`');
      expect(value(await exporter.scrape(), 'diun_notifications_sent_total', ntfyLabel)).toBe(1);
    } finally {
      await alertmanager.stop();
    }
  });

  it('answers 401 to a wrong webhook token and publishes nothing', async () => {
    const requests = ntfy.requests();
    const res = await post(exporter, { version: '4', status: 'firing', alerts: [] }, 'wrong');
    expect(res.status).toBe(401);
    expect(ntfy.requests()).toBe(requests);
  });

  it('never shows a token in its log, metrics or API answers', async () => {
    const api = await (await fetch(`${exporter.url}/api/v1/images`)).text();
    const everything = [exporter.output(), await exporter.scrapeText(), api].join('\n');
    expect(everything).not.toContain(WEBHOOK_TOKEN);
    expect(everything).not.toContain(ACCESS_TOKEN);
    expect(exporter.output()).toContain('ntfy bridge on: POST /api/v1/alertmanager/ntfy');
  });
});

describe('ntfy bridge refused by ntfy', () => {
  it('names a wrong access token (401) and a login without write access (403), counts both, keeps serving', async () => {
    const ntfy = await ntfyUsers();
    const wrongToken = 'tk_notaknowntoken000000000000000';
    const exporters = [
      await startExporter({
        watch: { schedule: '' },
        ntfy: { endpoint: ntfy.url, topic: TOPIC, token: wrongToken, webhookToken: WEBHOOK_TOKEN },
      }),
      await startExporter({
        watch: { schedule: '' },
        ntfy: {
          endpoint: ntfy.url,
          topic: TOPIC,
          username: 'reader',
          password: 'r3ader',
          webhookToken: WEBHOOK_TOKEN,
        },
      }),
    ];
    try {
      const reasons = [
        'ntfy answered 401: unauthorized (ntfy does not know this access token)',
        'ntfy answered 403: forbidden (this login may not publish to the topic)',
      ];
      for (const [index, exporter] of exporters.entries()) {
        const res = await post(exporter, fixture);
        expect(res.status).toBe(502);
        expect(await res.json()).toEqual({ alerts: 2, sent: 0, failed: 2 });
        const samples = await exporter.scrape();
        expect(value(samples, 'diun_notifications_failed_total', ntfyLabel)).toBe(2);
        expect(value(samples, 'diun_notifications_sent_total', ntfyLabel)).toBe(0);
        const line = exporter
          .output()
          .split('\n')
          .find((l) => l.includes('ntfy: message not delivered'));
        expect(line).toContain(reasons[index]);
        expect(line).toContain('attempts=1 ');
        expect(line).not.toContain(wrongToken);
        expect(line).not.toContain('r3ader');
        expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
      }
      // A refusal is not retried: one request per alert.
      expect(ntfy.requests()).toBe(4);
      expect(ntfy.messages).toEqual([]);
    } finally {
      for (const exporter of exporters) await exporter.stop();
      await ntfy.stop();
    }
  });
});

describe('without an ntfy section', () => {
  it('answers 404 saying the ntfy bridge is off', async () => {
    const exporter = await startExporter({ watch: { schedule: '' } });
    try {
      const res = await post(exporter, fixture);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error:
          'the ntfy section is not set in the configuration: the Alertmanager to ntfy bridge is off',
      });
    } finally {
      await exporter.stop();
    }
  });
});
