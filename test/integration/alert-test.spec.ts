import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPaths } from '../support/alert-rig.js';
import { type Alertmanager, startAlertmanager } from '../support/alertmanager.js';
import { freePort, listenOnLoopback, requireBinary, run, waitFor } from '../support/exec.js';
import { runBuiltCli } from '../support/exporter.js';

// `diun-exporter alert test` as a user runs it: the built CLI against the real Alertmanager, whose
// API and amtool then show the alert, and whose route delivers it to a webhook receiver.
const cli = resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');

// The environment's own Alertmanager URL must not leak into the tests.
const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runBuiltCli(args, { ALERTMANAGER_URL: '', ...env });

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
  receivers: Array<{ name: string }>;
}

describe('alert test against the real Alertmanager', () => {
  const amtool = requireBinary('amtool', 'prometheus-alertmanager');
  let am: Alertmanager;
  let closeHook: () => Promise<void>;
  const delivered: Array<{ alerts: Array<{ labels: Record<string, string> }> }> = [];

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
    // The receiver end of the route: what Alertmanager's webhook posts, kept for the test.
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => (body += b));
      req.on('end', () => {
        delivered.push(JSON.parse(body));
        res.end();
      });
    });
    const listening = await listenOnLoopback(hook);
    closeHook = listening.close;
    am = await startAlertmanager(`
route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:${listening.port}/hook
        send_resolved: true
`);
  });

  afterAll(async () => {
    await am?.stop();
    await closeHook?.();
  });

  const ours = async (instance: string) => {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22DiunExporterTest%22`);
    expect(res.status).toBe(200);
    return ((await res.json()) as ApiAlert[]).find((a) => a.labels.instance === instance);
  };
  const instanceIn = (stdout: string) => {
    const instance = /instance="([^"]+)"/.exec(stdout)?.[1];
    if (!instance) throw new Error(`no instance label in the CLI's output: ${stdout}`);
    return instance;
  };

  it('sends a test alert that the API, amtool and the route all see, and says so', async () => {
    const sent = new Date();
    const out = await runCli(['alert', 'test', '--alertmanager', `${am.url}/`]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(
        `^sent a test alert \\{alertname="DiunExporterTest", severity="warning", instance="[^"]+"\\} ` +
          `to Alertmanager at ${am.url}; it resolves by itself at \\S+Z\\n$`,
      ),
    );
    const instance = instanceIn(out.stdout);

    const alert = await ours(instance);
    expect(alert, `alert ${instance} in GET /api/v2/alerts`).toBeDefined();
    expect(alert!.labels).toEqual({ alertname: 'DiunExporterTest', severity: 'warning', instance });
    expect(alert!.annotations.summary).toBe('Test alert from diun-exporter');
    expect(alert!.annotations.description).toContain('Nothing is wrong');
    expect(alert!.status.state).toBe('active');
    // It ends by itself, a few minutes after it was sent.
    const endsIn = Date.parse(alert!.endsAt) - sent.getTime();
    expect(endsIn).toBeGreaterThan(4 * 60_000);
    expect(endsIn).toBeLessThan(6 * 60_000);

    const query = await run(amtool, [
      'alert',
      'query',
      `--alertmanager.url=${am.url}`,
      '--output=json',
      'alertname=DiunExporterTest',
      `instance=${instance}`,
    ]);
    expect((JSON.parse(query.stdout) as ApiAlert[]).map((a) => a.labels.instance)).toEqual([
      instance,
    ]);

    // The route delivered it: the whole way from the CLI to a receiver.
    await waitFor(
      async () => delivered.some((d) => d.alerts.some((a) => a.labels.instance === instance)),
      { timeoutMs: 20_000, what: `Alertmanager to deliver ${instance} to the webhook receiver` },
    );
  });

  it('takes ALERTMANAGER_URL and --severity, and sends a new alert each time', async () => {
    const first = await runCli(['alert', 'test', '--severity', 'info'], {
      ALERTMANAGER_URL: am.url,
    });
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['alert', 'test', '--severity', 'info'], {
      ALERTMANAGER_URL: am.url,
    });
    expect(second.code, second.stderr).toBe(0);
    const [a, b] = [instanceIn(first.stdout), instanceIn(second.stdout)];
    expect(a).not.toBe(b);
    expect((await ours(a))?.labels.severity).toBe('info');
    expect((await ours(b))?.labels.severity).toBe('info');
  });

  it('names the URL it cannot reach, and exits 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const out = await runCli(['alert', 'test', '--alertmanager', url]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(
      new RegExp(`^diun-exporter alert test: cannot reach Alertmanager at ${url}: .*ECONNREFUSED`),
    );
  });

  it('prints the status and body of a refusal, and exits 1', async () => {
    // A wrong route prefix: the real Alertmanager answers 404 there.
    const out = await runCli(['alert', 'test', '--alertmanager', `${am.url}/no-such-prefix`]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      new RegExp(
        `^diun-exporter alert test: Alertmanager at ${am.url}/no-such-prefix/api/v2/alerts answered 404 Not Found`,
      ),
    );
  });
});

describe('alert test and the shipped alertmanager.yml', () => {
  it('routes the default test alert (severity warning) to email and, with Gotify, to Gotify', async () => {
    const amtool = requireBinary('amtool', 'prometheus-alertmanager');
    const dir = await mkdtemp(join(tmpdir(), 'alert-test-'));
    try {
      const labels = [
        'alertname=DiunExporterTest',
        'severity=warning',
        'instance=host:alert-test:1',
      ];
      const receivers = async (file: string) => {
        const shipped = readFileSync(
          new URL(`../../alertmanager/${file}`, import.meta.url),
          'utf8',
        );
        const configFile = join(dir, file);
        await writeFile(configFile, localPaths(shipped, dir));
        const args = ['config', 'routes', 'test', `--config.file=${configFile}`, ...labels];
        return (await run(amtool, args)).stdout.trim();
      };
      expect(await receivers('alertmanager.gotify.yml')).toBe('email,gotify');
      // Without Gotify, by email only.
      expect(await receivers('alertmanager.yml')).toBe('email');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
