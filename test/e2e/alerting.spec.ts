import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { retimed, ruleFor } from '../support/alert-pipeline.js';
import { type AlertRig, shipped, startAlertRig, until } from '../support/alert-rig.js';
import { type Alertmanager, startAlertmanager } from '../support/alertmanager.js';
import { evaluateDashboard } from '../support/dashboard.js';
import { fileDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { makeImage, pullImage, pushImage, runContainer } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import { type Prometheus, startPrometheus } from '../support/prometheus.js';
import { type SmtpMessage, visibleText } from '../support/smtp.js';
import { type SocketProxy, startSocketProxy } from '../support/socket-proxy.js';
import { suiteTeardown } from '../support/teardown.js';

// The whole pipeline a user runs, every part real except Gotify and the mail relay: dockerd, the
// registry, the built exporter behind a read-only socket proxy, Prometheus with the shipped
// prometheus.yml and rules, Alertmanager with the shipped config and template. Only hosts, paths
// and the intervals below are rewritten: they are waits, and what each step sends is the same
// with shorter ones (the Compose stack test keeps the shipped `for` and group_wait and prints
// the push-to-email time a user sees).
const root = resolve(import.meta.dirname, '..', '..');
const timing = {
  // shipped: group_wait 30s, group_interval 2m (repeat_interval 168h stays).
  alertmanager: { group_wait: '5s', group_interval: '15s' },
  // shipped: 15s, 15s, 10s
  prometheus: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '2s' },
  // shipped: for 1m, each
  rules: { DiunContainerUpdateAvailable: '15s', DiunDockerProviderDown: '15s' },
};

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('end to end: a pushed digest becomes one email and one Gotify message', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const container = `shop-web-${suffix}`;
  const compose = {
    'com.docker.compose.project': 'shop',
    'com.docker.compose.service': 'web',
  };
  const updateCommand = 'docker compose -p shop pull web && docker compose -p shop up -d web';
  const stops = suiteTeardown();
  let rig: AlertRig;
  let proxy: SocketProxy;
  let alertmanager: Alertmanager;
  let prometheus: Prometheus;
  let pushedAt = 0;
  let providerStoppedAt = 0;

  beforeAll(async () => {
    proxy = stops.add(await startSocketProxy(dockerd.host), (p) => p.close());
    rig = await startAlertRig(stops, {
      docker,
      suffix,
      repository: 'shop/web',
      container,
      labels: compose,
      dockerEndpoint: proxy.endpoint,
    });
    const exporterHost = new URL(rig.exporter.url).host;
    const am = rig.alertmanager;
    alertmanager = stops.add(
      await startAlertmanager(retimed(am.config, timing.alertmanager), am.files, { env: am.env }),
      (a) => a.stop(),
    );

    const promConfig = retimed(await shipped('prometheus/prometheus.yml'), timing.prometheus)
      .replaceAll('diun-exporter:8080', exporterHost)
      .replaceAll('alertmanager:9093', new URL(alertmanager.url).host)
      .replaceAll('/etc/prometheus/', '')
      .replaceAll('/run/secrets/', 'secrets/');
    prometheus = stops.add(
      await startPrometheus(parse(promConfig) as Record<string, unknown>, {
        'rules/diun-exporter.rules.yml': ruleFor(
          await shipped('prometheus/rules/diun-exporter.rules.yml'),
          timing.rules,
        ),
        'secrets/diun-exporter-token': rig.secrets.metrics,
      }),
      (p) => p.stop(),
    );
  });

  const emails = (alertname: string) =>
    rig.smtp.messages().filter((m) => m.subject.includes(` ${alertname}`));
  const updateEmails = () => emails('DiunContainerUpdateAvailable');
  const updatePushes = () => rig.gotify.messages.filter((m) => m.message.includes(container));
  const visible = (m: SmtpMessage) => visibleText(m.html ?? m.text ?? '');
  const releases = 'https://github.com/acme/shop/releases';
  const promSees = (expr: string, what: string) =>
    waitFor(async () => ((await prometheus.query(expr)).length > 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what,
    });

  it('mails once and pushes once when a new digest is pushed for the running tag', async () => {
    await promSees(
      `diun_container_update_available{container="${container}"} == 0`,
      'Prometheus to scrape the container as up to date',
    );
    // v2 says where it comes from, as images built by CI do: the alert links to its releases.
    await makeImage(docker, rig.image, {
      variant: `v2 ${suffix}`,
      labels: {
        'org.opencontainers.image.source': 'https://github.com/acme/shop',
        'org.opencontainers.image.revision': '9f8e7d6c5b4a3021',
      },
    });
    await pushImage(docker, rig.image);
    pushedAt = Date.now();

    const [mail] = await until(
      'the update email',
      () => updateEmails().length > 0 && updateEmails(),
      240_000,
    );
    const mailAfter = (Date.now() - pushedAt) / 1000;
    const [push] = await until(
      'the Gotify message',
      () => updatePushes().length > 0 && updatePushes(),
      60_000,
    );
    console.info(`push -> email ${mailAfter.toFixed(1)} s`);

    const firing = (await prometheus.alerts()).find(
      (a) => a.labels.alertname === 'DiunContainerUpdateAvailable' && a.state === 'firing',
    );
    expect(firing?.labels).toEqual({
      alertname: 'DiunContainerUpdateAvailable',
      severity: 'warning',
      job: 'diun-exporter',
      instance: new URL(rig.exporter.url).host,
      provider: 'docker',
      endpoint: 'local',
      container,
      image: rig.image,
      compose_project: 'shop',
      compose_service: 'web',
    });
    expect(firing?.annotations.update_command).toBe(updateCommand);
    expect(firing?.annotations.release_url).toBe(releases);

    expect(mail!.subject).toContain(`[FIRING:1] DiunContainerUpdateAvailable ${rig.image}`);
    expect(mail!.to).toEqual(['ops@example.org']);
    expect(mail!.tls).toBe(true);
    const text = visible(mail!);
    expect(text).toContain(container);
    expect(text).toContain(rig.image);
    expect(text).toContain(updateCommand);
    expect(text).toContain(`What changed ${releases}`);

    expect(push!.title).toBe("A running container's image has a newer digest in its registry");
    expect(push!.priority).toBe(5);
    expect(push!.message).toContain(`Container \`${container}\``);
    expect(push!.message).toContain(rig.image);
    expect(push!.message).toContain(updateCommand);
    expect(push!.message).toContain(`What changed: ${releases}`);
    expect(push!.extras?.['client::notification']).toEqual({ click: { url: releases } });

    // Every dashboard panel has data while an update is pending, except the rate limit one:
    // the local registry sends no RateLimit-* headers.
    const panels = await evaluateDashboard(
      join(root, 'grafana', 'dashboards', 'diun-exporter.json'),
      (expr) => prometheus.query(expr),
      { job: 'diun-exporter', instance: new URL(rig.exporter.url).host },
    );
    expect(panels.filter((p) => p.empty).map((p) => p.title)).toEqual([
      'Registry rate limit remaining',
    ]);

    // One group, one notification (the totals at the end show nothing more came later).
    expect(updateEmails()).toHaveLength(1);
    expect(updatePushes()).toHaveLength(1);
  }, 330_000);

  it('resolves once the container is recreated on the new image', async () => {
    await pullImage(docker, rig.image);
    await docker(['rm', '-f', container]);
    await runContainer(docker, rig.image, container, compose);
    const recreatedAt = Date.now();
    await rig.exporter.until(
      (s) => value(s, 'diun_container_update_available', { container }) === 0,
      'the exporter to see the recreated container as up to date',
      15_000,
    );
    await promSees(
      `diun_container_update_available{container="${container}"} == 0`,
      'Prometheus to scrape the recreated container',
    );
    await waitFor(
      async () =>
        (await prometheus.alerts()).some(
          (a) => a.labels.alertname === 'DiunContainerUpdateAvailable',
        )
          ? undefined
          : true,
      { timeoutMs: 60_000, intervalMs: 500, what: 'the Prometheus alert to end' },
    );
    // The alert ended because of the recreate. Take the provider away now, so the next test's
    // alert builds up while this one's resolved notice waits for Alertmanager's group_interval.
    providerStoppedAt = Date.now();
    await proxy.close();
    const resolved = await until(
      'the [RESOLVED] Gotify message',
      () => updatePushes().find((m) => m.title.startsWith('[RESOLVED] ')),
      240_000,
    );
    expect(resolved.message).toContain(container);
    await until(
      'the resolved email',
      () => updateEmails().find((m) => m.subject.startsWith('[RESOLVED] ')),
      30_000,
    );
    console.info(`recreate -> resolved push ${((Date.now() - recreatedAt) / 1000).toFixed(1)} s`);
    expect(updateEmails()).toHaveLength(2);
    expect(updatePushes()).toHaveLength(2);
  }, 330_000);

  it('alerts once, without a flood, when the Docker provider goes away', async () => {
    await rig.exporter.until(
      (s) => value(s, 'diun_provider_up', { provider: 'docker' }) === 0,
      'diun_provider_up to drop to 0',
      30_000,
    );
    const [mail] = await until(
      'the provider-down email',
      () => emails('DiunDockerProviderDown').length > 0 && emails('DiunDockerProviderDown'),
      240_000,
    );
    console.info(
      `provider stop -> email ${((Date.now() - providerStoppedAt) / 1000).toFixed(1)} s`,
    );
    expect(mail!.subject).toContain('[FIRING:1] DiunDockerProviderDown');
    expect(visible(mail!)).toContain('local');
    await until(
      'the provider-down Gotify message',
      () =>
        rig.gotify.messages.find((m) => m.title === 'diun-exporter cannot reach a Docker endpoint'),
      60_000,
    );
    // A run every 5 s with the provider down still makes one alert, not one per run or image.
    expect(emails('DiunDockerProviderDown')).toHaveLength(1);
    // Sorted: the provider-down alert builds up while the resolved notice waits, so either may
    // arrive first.
    const alertnames = rig.smtp
      .messages()
      .map((m) => /^\[[A-Z]+(?::\d+)?\] (\w+)/.exec(m.subject)?.[1])
      .sort();
    expect(alertnames).toEqual([
      'DiunContainerUpdateAvailable',
      'DiunContainerUpdateAvailable',
      'DiunDockerProviderDown',
    ]);
    expect(rig.gotify.messages).toHaveLength(3);
  }, 330_000);
});
