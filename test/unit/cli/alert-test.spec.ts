import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  AlertTestError,
  alertmanagerUrl,
  sendTestAlert,
  testAlert,
} from '../../../src/cli/alert-test.js';
import { serveForTest } from '../../support/teardown.js';

describe('alertmanagerUrl', () => {
  it('takes the flag, else ALERTMANAGER_URL, else 127.0.0.1:9093, without a trailing slash', () => {
    expect(alertmanagerUrl('http://am:9093/', { ALERTMANAGER_URL: 'http://other' })).toBe(
      'http://am:9093',
    );
    expect(alertmanagerUrl(undefined, { ALERTMANAGER_URL: 'https://am.example/prefix/' })).toBe(
      'https://am.example/prefix',
    );
    expect(alertmanagerUrl(undefined, {})).toBe('http://127.0.0.1:9093');
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => alertmanagerUrl('am:9093x', {})).toThrow(AlertTestError);
    expect(() => alertmanagerUrl('localhost', {})).toThrow(/not a URL: "localhost"/);
  });
});

describe('testAlert', () => {
  it('fires now, ends a few minutes later, and has an instance of its own', () => {
    const now = new Date('2026-11-29T08:00:00Z');
    const alert = testAlert('info', now, 5, 'box');
    expect(alert).toEqual({
      labels: {
        alertname: 'DiunExporterTest',
        severity: 'info',
        instance: `box:alert-test:${now.getTime()}`,
      },
      annotations: {
        summary: 'Test alert from diun-exporter',
        description: expect.stringContaining('resolves by itself at 2026-11-29T08:05:00.000Z'),
      },
      startsAt: '2026-11-29T08:00:00.000Z',
      endsAt: '2026-11-29T08:05:00.000Z',
    });
    expect(testAlert('info', new Date(now.getTime() + 1)).labels.instance).not.toBe(
      alert.labels.instance,
    );
  });
});

describe('sendTestAlert', () => {
  // Stands in for an Alertmanager that refuses the alert, as one does with a bad body.
  async function refusing(): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"code":400,"message":"bad alert"}');
    });
    const { host, close } = await serveForTest(server);
    return { url: `http://${host}`, close };
  }

  it('says the status and body of a refusal', async () => {
    const { url } = await refusing();
    await expect(sendTestAlert(url, testAlert('info'))).rejects.toThrow(
      `Alertmanager at ${url}/api/v2/alerts answered 400 Bad Request: {"code":400,"message":"bad alert"}`,
    );
  });

  it('names the URL it could not reach', async () => {
    const { url, close } = await refusing();
    await close();
    await expect(sendTestAlert(url, testAlert('info'))).rejects.toThrow(
      new RegExp(`cannot reach Alertmanager at ${url}: .*ECONNREFUSED`),
    );
  });
});
