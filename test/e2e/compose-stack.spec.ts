import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type Dockerd, startDockerd } from '../support/dockerd.js';
import { freePort, requireBinary, waitFor } from '../support/exec.js';
import type { GotifyStoredMessage } from '../support/gotify.js';
import { makeImage, publish, pushImage, runContainer } from '../support/images.js';
import type { SmtpMessage } from '../support/smtp.js';
import {
  composeShim,
  containerOf,
  copyShipped,
  readmeBlocks,
  type ServiceState,
  services,
  shell,
  standInMessages,
  waitHealthy,
} from '../support/stack/compose-rig.js';
import {
  buildStackImages,
  registryImage,
  type StackImageNames,
  smtpImage,
} from '../support/stack/images.js';
import { selfSignedCertificate } from '../support/tls-certs.js';

// The stack a user starts first, started for real: README.md's own commands (the "whole stack
// with Docker Compose" blocks), run in a copy of the repository against a private dockerd, with
// the shipped compose files, Dockerfile, prometheus.yml, rules, alertmanager.yml, template and
// Grafana provisioning unchanged but for the SMTP relay's address, which README.md asks the user
// to set. Nothing can be pulled here, so every image is made on this machine under the name the
// compose files use (test/support/stack/images.ts says which are real programs and which are
// stand-ins, and why). The test adds, in docker-compose.override.yml, only what a user already
// has: a registry for the watched image, and a mail relay. The shipped timings are kept (scrape
// 15 s, `for: 1m`, group_wait 30 s), so the push-to-email time printed is the one a user sees.
const root = resolve(import.meta.dirname, '..', '..');
// Compose names the project after the folder: `compose`.
const project = 'compose';
// How compose/README.md says to start the highly available overlay.
const haUp = 'docker compose -f docker-compose.yml -f docker-compose.ha.yml up -d';
// How compose/README.md says to run a check now.
const checkNow =
  'docker compose exec prometheus wget -qO- --post-data \'\' --header "Authorization: Bearer $(cat secrets/diun-exporter-token)" http://diun-exporter:8080/api/v1/check';

describe('the Compose stack, started as README.md says', () => {
  const suffix = randomUUID().slice(0, 8);
  let dockerd: Dockerd;
  let work: string;
  let composeDir: string;
  let env: NodeJS.ProcessEnv;
  let blocks: string[];
  let appImage: string;
  let metricsToken = '';
  let grafanaPassword = '';
  let nodeVersion = '';
  const timings: Record<string, number> = {};

  const docker = (args: string[]) => dockerd.docker(args);
  const inService = async (service: string, args: string[]) =>
    docker(['exec', await containerOf(docker, project, service), ...args]);
  // JSON from `url`, fetched with wget inside a Prometheus container (`prometheus` unless told).
  const fromPrometheus = async (url: string, headers: string[] = [], service = 'prometheus') =>
    JSON.parse(
      await inService(service, ['wget', '-qO-', ...headers.flatMap((h) => ['--header', h]), url]),
    ) as unknown;
  const promQuery = async (expr: string, service = 'prometheus') =>
    (
      (await fromPrometheus(
        `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(expr)}`,
        [],
        service,
      )) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
    ).data.result;
  const exporterApi = async (path: string) =>
    fromPrometheus(`http://diun-exporter:8080${path}`, [`Authorization: Bearer ${metricsToken}`]);
  const images = async () =>
    ((await exporterApi('/api/v1/images')) as { images: Array<Record<string, unknown>> }).images;
  const appState = async () => (await images()).find((i) => i.image === appImage);
  const emails = async () =>
    standInMessages<SmtpMessage>(docker, await containerOf(docker, project, 'smtp'));
  const pushes = async () =>
    standInMessages<GotifyStoredMessage>(docker, await containerOf(docker, project, 'gotify'));
  const sh = (script: string, dir = work) => shell(script, dir, env);
  // The alerts that say a notification channel fails, pending or firing.
  const failingChannelAlerts = () =>
    promQuery('ALERTS{alertname=~"DiunAlertmanagerNotificationsFailing|DiunGotifyBridgeFailing"}');

  beforeAll(async () => {
    requireBinary('openssl', 'openssl');
    blocks = await readmeBlocks('The whole stack with Docker Compose');
    expect(blocks).toHaveLength(2);
    dockerd = await startDockerd({ storageDriver: 'overlay2' });
    work = await mkdtemp(join(tmpdir(), 'stack-'));
    composeDir = join(work, 'compose');
    await copyShipped(work);

    const composeFile = (name: string) =>
      readFile(join(composeDir, name), 'utf8').then(
        (text) => parse(text) as { services: Record<string, { image?: string }> },
      );
    const base = (await composeFile('docker-compose.yml')).services;
    const gotify = (await composeFile('docker-compose.gotify.yml')).services;
    const from = [...(await readFile(join(work, 'Dockerfile'), 'utf8')).matchAll(/^FROM (\S+)/gm)];
    const names: StackImageNames = {
      node: from[0]?.[1] ?? '',
      prometheus: base.prometheus?.image ?? '',
      alertmanager: base.alertmanager?.image ?? '',
      socketProxy: base['socket-proxy']?.image ?? '',
      gotify: gotify.gotify?.image ?? '',
      grafana: base.grafana?.image ?? '',
    };
    // Every stage of the Dockerfile starts from the same Node.js image.
    expect(new Set(from.map((m) => m[1]))).toEqual(new Set([names.node]));
    const started = Date.now();
    ({ nodeVersion } = await buildStackImages(docker, dockerd.host, names));
    timings.images = (Date.now() - started) / 1000;

    // README.md: "set your SMTP relay ... in alertmanager/alertmanager.yml". The relay is `smtp`.
    for (const file of ['alertmanager.yml', 'alertmanager.gotify.yml']) {
      const path = join(work, 'alertmanager', file);
      const text = await readFile(path, 'utf8');
      expect(text).toContain('smtp_smarthost: smtp.example.org:587');
      await writeFile(path, text.replace('smtp.example.org:587', 'smtp:587'));
    }
    const tls = join(composeDir, 'smtp-tls');
    await mkdir(tls);
    await selfSignedCertificate(tls, 'smtp', ['DNS:smtp']);
    const registryPort = await freePort();
    appImage = `127.0.0.1:${registryPort}/stack/app:1.0`;
    const override = {
      services: {
        // The registry shares the exporter's network namespace, so the image reference the
        // engine pulls (127.0.0.1:PORT, through this published port) is the one the exporter
        // asks, as on a host whose registry both reach by the same name.
        'diun-exporter': { ports: [`127.0.0.1:${registryPort}:${registryPort}`] },
        registry: {
          image: registryImage,
          network_mode: 'service:diun-exporter',
          environment: { REGISTRY_HTTP_ADDR: `0.0.0.0:${registryPort}` },
          volumes: ['registry-data:/var/lib/registry'],
        },
        // The mail relay of alertmanager.yml: STARTTLS with a certificate for `smtp`, AUTH with
        // the user and the password of secrets/smtp-password.
        smtp: {
          image: smtpImage,
          environment: {
            SMTP_USERNAME: 'diun-exporter@example.org',
            SMTP_PASSWORD_FILE: '/run/secrets/smtp-password',
            SMTP_TLS_KEY: '/etc/smtp/key.pem',
            SMTP_TLS_CERT: '/etc/smtp/cert.pem',
          },
          volumes: ['./smtp-tls:/etc/smtp:ro'],
          secrets: ['smtp-password'],
          networks: ['monitoring'],
        },
        // Alertmanager trusts the relay's certificate (Go reads SSL_CERT_FILE).
        alertmanager: {
          environment: { SSL_CERT_FILE: '/etc/smtp/cert.pem' },
          volumes: ['./smtp-tls/cert.pem:/etc/smtp/cert.pem:ro'],
        },
      },
      volumes: { 'registry-data': {} },
    };
    await writeFile(join(composeDir, 'docker-compose.override.yml'), stringify(override));
    env = {
      ...process.env,
      PATH: `${await composeShim(work)}:${process.env.PATH ?? ''}`,
      DOCKER_HOST: dockerd.host,
      // The private dockerd's socket, where the socket proxy mounts /var/run/docker.sock from.
      DOCKER_SOCKET: dockerd.host.replace(/^unix:\/\//, ''),
      // This dockerd has no default bridge: the build's `npm ci` uses the host's network.
      BUILD_NETWORK: 'host',
      COMPOSE_INTERACTIVE_NO_CLI: '1',
    };
  }, 600_000);

  afterAll(async () => {
    if (dockerd) {
      await sh(
        'docker compose -f docker-compose.yml -f docker-compose.gotify.yml -f docker-compose.ha.yml down -v --remove-orphans',
        composeDir,
      ).catch(() => undefined);
      // Networks outlive a stopped dockerd as bridges on the host: remove the last one.
      await docker(['rm', '-f', 'app']).catch(() => undefined);
      await docker(['network', 'rm', 'traefik']).catch(() => undefined);
      await dockerd.cleanup();
    }
    console.info(`compose stack timings (s): ${JSON.stringify(timings)}`);
    if (work) await rm(join(work), { recursive: true, force: true });
  }, 180_000);

  it('comes up from the README commands: every service running and healthy', async () => {
    const started = Date.now();
    await sh(blocks[0] ?? '');
    timings.up = (Date.now() - started) / 1000;
    const states = await waitHealthy(docker, project, [
      'socket-proxy',
      'diun-exporter',
      'prometheus',
      'alertmanager',
      'grafana',
      'registry',
      'smtp',
    ]);
    timings.healthy = (Date.now() - started) / 1000;
    const shipped = states.filter((s) => !['registry', 'smtp'].includes(s.service));
    expect(Object.fromEntries(shipped.map((s) => [s.service, s.health]))).toEqual({
      'socket-proxy': 'healthy',
      'diun-exporter': 'healthy',
      prometheus: 'healthy',
      alertmanager: 'healthy',
      grafana: 'healthy',
    });
    metricsToken = (
      await readFile(join(composeDir, 'secrets', 'diun-exporter-token'), 'utf8')
    ).trim();
    grafanaPassword = (
      await readFile(join(composeDir, 'secrets', 'grafana-admin-password'), 'utf8')
    ).trim();
    expect(metricsToken).toMatch(/^[0-9a-f]{64}$/);
  }, 600_000);

  it('runs the exporter image built from the Dockerfile: non-root, read-only, on Node.js', async () => {
    const id = await containerOf(docker, project, 'diun-exporter');
    const [config] = JSON.parse(await docker(['inspect', id])) as Array<{
      Config: { User: string; Image: string };
      HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] };
    }>;
    expect(config?.Config.User).toBe('node');
    expect(config?.HostConfig.ReadonlyRootfs).toBe(true);
    expect(config?.HostConfig.CapDrop).toEqual(['ALL']);
    expect((await inService('diun-exporter', ['id', '-u'])).trim()).toBe('1000');
    expect((await inService('diun-exporter', ['node', '--version'])).trim()).toBe(
      `v${nodeVersion}`,
    );
    const writable = await inService('diun-exporter', [
      'node',
      '-e',
      "try{require('fs').writeFileSync('/app/x','');console.log('writable')}catch(e){console.log(e.code)}",
    ]);
    expect(writable.trim()).toBe('EROFS');
  });

  it('checks a running container against the registry, through the read-only socket proxy', async () => {
    await publish(docker, appImage, `v1 ${suffix}`);
    await runContainer(docker, appImage, 'app');
    await sh(checkNow, composeDir);
    const state = await waitFor(
      async () => (await appState())?.status === 'unchange' && appState(),
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'the exporter to report the app container up to date',
      },
    );
    expect(state).toMatchObject({ image: appImage, status: 'unchange' });
    // The proxy lets the exporter read containers and images, and nothing else.
    const status = async (method: string, path: string) =>
      (
        await inService('diun-exporter', [
          'node',
          '-e',
          `fetch('http://socket-proxy:2375${path}',{method:'${method}'}).then(r=>console.log(r.status))`,
        ])
      ).trim();
    expect(await status('GET', '/v1.41/containers/json')).toBe('200');
    expect(await status('GET', '/v1.41/images/json')).toBe('200');
    expect(await status('GET', '/v1.41/info')).toBe('403');
    expect(await status('POST', '/v1.41/containers/create')).toBe('403');
  });

  it('is scraped by Prometheus with the token from the secret, with the shipped rules loaded', async () => {
    await waitFor(async () => (await promQuery('up{job="diun-exporter"} == 1')).length === 1, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: 'Prometheus to scrape the exporter',
    });
    await waitFor(
      async () =>
        (await promQuery(`diun_container_update_available{container="app"} == 0`)).length === 1,
      { timeoutMs: 60_000, intervalMs: 1000, what: 'the app container in Prometheus, up to date' },
    );
    const rules = (await fromPrometheus('http://127.0.0.1:9090/api/v1/rules')) as {
      data: { groups: Array<{ rules: Array<{ name: string; type: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
    const shippedRules = parse(
      await readFile(join(root, 'prometheus', 'rules', 'diun-exporter.rules.yml'), 'utf8'),
    ) as { groups: Array<{ rules: Array<{ alert?: string; record?: string }> }> };
    const expected = shippedRules.groups
      .flatMap((g) => g.rules.map((r) => r.alert ?? r.record ?? ''))
      .sort();
    expect(loaded).toEqual(expected);
    expect(await promQuery('up{job="alertmanager"} == 1')).toHaveLength(1);
  });

  it('serves Grafana with its provisioning, the admin password from the secret, no anonymous access', async () => {
    const logs = (await docker(['logs', await containerOf(docker, project, 'grafana')])).split(
      '\n',
    );
    const started = logs
      .map((l) => (l.startsWith('{') ? JSON.parse(l) : {}))
      .find((e) => e.event === 'started');
    expect(started).toEqual({
      event: 'started',
      adminPassword: 'set',
      anonymous: false,
      datasources: [{ name: 'Prometheus', type: 'prometheus', url: 'http://prometheus:9090' }],
      dashboards: { 'diun-exporter': 'Diun' },
      problems: [],
    });
    // The datasource's URL answers from Grafana's container.
    expect(
      await inService('grafana', ['wget', '-qO-', 'http://prometheus:9090/-/healthy']),
    ).toMatch(/Healthy/);
    // What Traefik reaches on the traefik network: the dashboard, for the admin only.
    const viaTraefik = (headers: string[]) =>
      docker([
        ...['run', '--rm', '--network', 'traefik', '--entrypoint', 'wget', smtpImage],
        ...['-qO-', ...headers.flatMap((h) => ['--header', h])],
        'http://grafana:3000/api/dashboards/uid/diun-exporter',
      ]);
    await expect(viaTraefik([])).rejects.toThrow(/401/);
    const basic = Buffer.from(`admin:${grafanaPassword}`).toString('base64');
    const answer = JSON.parse(await viaTraefik([`Authorization: Basic ${basic}`])) as {
      dashboard: { uid: string };
      meta: { folderTitle: string };
    };
    expect(answer.dashboard.uid).toBe('diun-exporter');
    expect(answer.meta.folderTitle).toBe('Diun');
  });

  it('mails a test alert and routes nothing to Gotify while Gotify is not run', async () => {
    await inService('diun-exporter', [
      ...['node', 'dist/cli.js', 'alert', 'test', '--alertmanager', 'http://alertmanager:9093'],
    ]);
    const [mail] = await waitFor(
      async () => {
        const found = (await emails()).filter((m) => m.subject.includes('DiunExporterTest'));
        return found.length > 0 && found;
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: 'the test alert email' },
    );
    expect(mail?.tls).toBe(true);
    expect(mail?.to).toEqual(['ops@example.org']);
    const metrics = await inService('alertmanager', [
      ...['wget', '-qO-', 'http://127.0.0.1:9093/metrics'],
    ]);
    const count = (name: string, integration: string) =>
      Number(
        new RegExp(`^${name}\\{integration="${integration}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ??
          0,
      );
    expect(count('alertmanager_notifications_total', 'email')).toBeGreaterThanOrEqual(1);
    expect(count('alertmanager_notifications_total', 'webhook')).toBe(0);
    expect(count('alertmanager_notifications_failed_total', 'email')).toBe(0);
    expect(count('alertmanager_notifications_failed_total', 'webhook')).toBe(0);
    expect(await failingChannelAlerts()).toEqual([]);
  }, 120_000);

  it('keeps the exporter state through docker compose down and up, now with Gotify', async () => {
    // What the state file holds: per image, the digests and since when the remote one is known.
    const kept = (list: Array<Record<string, unknown>>) =>
      list.map(
        ({ image, status, localDigests, remoteDigest, remoteDigestSince, remoteCreated }) => ({
          image,
          status,
          localDigests,
          remoteDigest,
          remoteDigestSince,
          remoteCreated,
        }),
      );
    const before = kept(await images());
    expect(before.find((i) => i.image === appImage)?.remoteDigestSince).toEqual(expect.any(String));
    await sh('docker compose down', composeDir);
    expect(await services(docker, project)).toEqual([]);
    await sh(blocks[1] ?? '', composeDir);
    // Compose starts the registry after the exporter (it shares the exporter's network): wait
    // until the exporter lists every container again, then compare what it kept.
    const after = await waitFor(
      async () => {
        try {
          const listed = kept(await images());
          const names = new Set(listed.map((i) => i.image));
          return before.every((i) => names.has(i.image)) ? listed : undefined;
        } catch {
          return undefined;
        }
      },
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
        what: 'the restarted exporter to list every image it listed before',
      },
    );
    // Gotify's container is new; everything known before is there, unchanged.
    expect(after.filter((i) => !String(i.image).includes('gotify'))).toEqual(before);
    const states: ServiceState[] = await waitHealthy(docker, project, [
      'socket-proxy',
      'diun-exporter',
      'prometheus',
      'alertmanager',
      'grafana',
      'gotify',
      'registry',
      'smtp',
    ]);
    expect(states.find((s) => s.service === 'gotify')?.health).toBe('healthy');
    // Gotify's admin has the secret's password, and the exporter has the application's token.
    const gotifyLog = await docker(['logs', await containerOf(docker, project, 'gotify')]);
    expect(gotifyLog).toContain('{"event":"started","adminPassword":"set"}');
    const appToken = await readFile(join(composeDir, 'secrets', 'gotify-app-token'), 'utf8');
    expect(appToken.trim()).toMatch(/^gtfya\.\S+$/);
  }, 300_000);

  it('turns a new digest for the running tag into exactly one email and one Gotify message', async () => {
    await waitFor(
      async () =>
        (await promQuery(`diun_container_update_available{container="app"} == 0`)).length === 1,
      { timeoutMs: 60_000, intervalMs: 1000, what: 'Prometheus to scrape the restarted exporter' },
    );
    await makeImage(docker, appImage, { variant: `v2 ${suffix}` });
    await pushImage(docker, appImage);
    const pushedAt = Date.now();
    await sh(checkNow, composeDir);
    const isUpdate = (m: SmtpMessage) => m.subject.includes('DiunContainerUpdateAvailable');
    const isAppPush = (m: GotifyStoredMessage) => m.message.includes('Container `app`');
    await waitFor(async () => (await emails()).some(isUpdate), {
      timeoutMs: 240_000,
      intervalMs: 1000,
      what: 'the update email',
    });
    timings.pushToEmail = (Date.now() - pushedAt) / 1000;
    await waitFor(async () => (await pushes()).some(isAppPush), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'the Gotify message',
    });
    timings.pushToGotify = (Date.now() - pushedAt) / 1000;
    // Nothing more comes for it within a further group interval's worth of evaluations.
    await new Promise((r) => setTimeout(r, 20_000));
    const updateMails = (await emails()).filter(isUpdate);
    const updatePushes = (await pushes()).filter(isAppPush);
    expect(updateMails).toHaveLength(1);
    expect(updatePushes).toHaveLength(1);
    expect(updateMails[0]?.subject).toContain(appImage);
    expect(updatePushes[0]?.title).toBe(
      "A running container's image has a newer digest in its registry",
    );
    expect(updatePushes[0]?.message).toContain(appImage);
    expect(await failingChannelAlerts()).toEqual([]);
  }, 360_000);

  it('runs the highly available overlay: two Prometheus, two clustered Alertmanagers', async () => {
    await sh(haUp, composeDir);
    await waitHealthy(docker, project, [
      'prometheus',
      'prometheus-b',
      'alertmanager',
      'alertmanager-b',
      'diun-exporter',
    ]);
    const status = JSON.parse(
      await inService('alertmanager', ['wget', '-qO-', 'http://127.0.0.1:9093/api/v2/status']),
    ) as { cluster: { status: string; peers: unknown[] } };
    expect(status.cluster.status).toBe('ready');
    expect(status.cluster.peers).toHaveLength(2);
    await waitFor(
      async () => (await promQuery('up{job="diun-exporter"} == 1', 'prometheus-b')).length === 1,
      { timeoutMs: 60_000, intervalMs: 1000, what: 'prometheus-b to scrape the exporter' },
    );
  }, 240_000);

  it('runs alone from the README docker run line: non-root, read-only, reading the socket', async () => {
    const [block = ''] = await readmeBlocks('The released image');
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    const released = `ghcr.io/diun-exporter/diun-exporter:${version}`;
    expect(block).toContain(released);
    const socket = env.DOCKER_SOCKET ?? '';
    const port = await freePort();
    // The release is the image the same Dockerfile built here; the socket is this dockerd's,
    // which has no default bridge, so the container joins a network of the stack.
    const script = block
      .replace(released, 'diun-exporter:local')
      .replace('stat -c %g /var/run/docker.sock', `stat -c %g ${socket}`)
      .replace('-v /var/run/docker.sock:', `-v ${socket}:`)
      .replace('127.0.0.1:8080:8080', `127.0.0.1:${port}:8080`)
      .replace('docker run -d', 'docker run -d --network traefik');
    try {
      await sh(script);
      const url = `http://127.0.0.1:${port}`;
      // Each try has its own deadline: a connection made before the container listens can hang.
      const get = (path: string) => fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
      await waitFor(async () => (await get('/-/ready').catch(() => undefined))?.ok, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'the exporter started by docker run to be ready',
      });
      const { images: seen } = (await (await get('/api/v1/images')).json()) as {
        images: Array<{ image: string; containers: Array<{ name: string }> }>;
      };
      // It reads the containers through the socket (as uid 1000, by the socket's group). The
      // test's registry lives in the stack's network namespace, out of this container's reach.
      expect(seen.find((i) => i.image === appImage)?.containers.map((c) => c.name)).toEqual([
        'app',
      ]);
      expect((await docker(['exec', 'diun-exporter', 'id', '-u'])).trim()).toBe('1000');
    } finally {
      await docker(['rm', '-f', 'diun-exporter']).catch(() => undefined);
      await docker(['volume', 'rm', 'diun-exporter-data']).catch(() => undefined);
    }
  }, 120_000);

  it('documents the commands the test ran', async () => {
    const composeReadme = await readFile(join(root, 'compose', 'README.md'), 'utf8');
    expect(composeReadme).toContain(checkNow);
    expect(composeReadme).toContain(haUp);
  });
});
