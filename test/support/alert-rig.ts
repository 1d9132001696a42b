import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DockerCli } from './dockerd.js';
import { waitFor } from './exec.js';
import { type ExporterProcess, startExporter } from './exporter.js';
import { type GotifyStandIn, startGotify } from './gotify.js';
import { publish, runContainer } from './images.js';
import { startRegistry } from './registry.js';
import { type SmtpServer, startSmtpServer } from './smtp.js';
import type { Teardown } from './teardown.js';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Polls `check` every 500 ms (emails, pushes and alerts arrive no faster) until it returns
 * something, and returns that; fails naming `what` after `timeoutMs`.
 */
export function until<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  return waitFor(async () => check() || undefined, { timeoutMs, intervalMs: 500, what });
}

/** A shipped file of this repository (alertmanager/, prometheus/, compose/), as text. */
export function shipped(path: string): Promise<string> {
  return readFile(join(root, path), 'utf8');
}

/**
 * A shipped config with its container paths pointed at `dir`: the mounted folders
 * (/etc/alertmanager/, /etc/prometheus/) become `dir`, the Compose secrets (/run/secrets/)
 * `dir`/secrets.
 */
export function localPaths(config: string, dir: string): string {
  return config
    .replaceAll('/etc/alertmanager/', `${dir}/`)
    .replaceAll('/etc/prometheus/', `${dir}/`)
    .replaceAll('/run/secrets/', `${dir}/secrets/`);
}

/** The secrets of the end-to-end rig; each is written to a file of that name in its folder. */
export interface RigSecrets {
  metrics: string;
  webhook: string;
  smtp: string;
}

/** Secrets unique to one run. */
export function rigSecrets(suffix: string): RigSecrets {
  return { metrics: `metrics-${suffix}`, webhook: `bridge-${suffix}`, smtp: `smtp-${suffix}` };
}

/**
 * The built exporter as the end-to-end rig runs it: the docker provider at `dockerEndpoint`
 * watching every container, a check every 5 s, the metrics token and the Gotify bridge's
 * tokens read from files in `dir`, where each secret (and Gotify's app token, as `gotify`) is
 * first written to a file of its name.
 */
export async function startRigExporter(
  dir: string,
  dockerEndpoint: string,
  gotify: { url: string; appToken: string },
  secrets: RigSecrets,
): Promise<ExporterProcess> {
  for (const [name, content] of Object.entries({ ...secrets, gotify: gotify.appToken })) {
    await writeFile(join(dir, name), content);
  }
  return startExporter(
    {
      watch: { schedule: '*/5 * * * * *', jitter: '0s' },
      metrics: { tokenFile: join(dir, 'metrics') },
      providers: { docker: { endpoint: dockerEndpoint, watchByDefault: true } },
      gotify: {
        endpoint: gotify.url,
        tokenFile: join(dir, 'gotify'),
        webhookTokenFile: join(dir, 'webhook'),
      },
    },
    { token: secrets.metrics },
  );
}

/**
 * The shipped alertmanager.gotify.yml (email and Gotify) and the files it reads (secrets,
 * template), with only the hosts and paths pointed at this rig: its SMTP relay and its
 * exporter's Gotify bridge.
 */
export async function rigAlertmanager(
  smtp: SmtpServer,
  exporter: ExporterProcess,
  secrets: RigSecrets,
): Promise<{ config: string; files: Record<string, string> }> {
  const config = localPaths(
    (await shipped('alertmanager/alertmanager.gotify.yml'))
      .replaceAll('smtp.example.org:587', smtp.smarthost)
      .replaceAll('diun-exporter:8080', new URL(exporter.url).host),
    '$DIR',
  );
  const files = {
    'secrets/smtp-password': secrets.smtp,
    'secrets/gotify-bridge-token': secrets.webhook,
    'templates/diun.tmpl': await shipped('alertmanager/templates/diun.tmpl'),
  };
  return { config, files };
}

/** What the end-to-end alerting specs start alike, up to Alertmanager and Prometheus. */
export interface AlertRig {
  /** `REGISTRY/REPOSITORY:1.0`, the image the rig's container runs. */
  image: string;
  secrets: RigSecrets;
  gotify: GotifyStandIn;
  exporter: ExporterProcess;
  smtp: SmtpServer;
  /** The shipped Alertmanager config for this rig, the files it reads, and the env it needs. */
  alertmanager: { config: string; files: Record<string, string>; env: NodeJS.ProcessEnv };
}

export interface AlertRigOptions {
  /** The docker CLI of the daemon the container runs on. */
  docker: DockerCli;
  /** Makes the secrets, the image's first variant and Gotify's app token unique to the run. */
  suffix: string;
  /** `shop/web`: the image is `REGISTRY/shop/web:1.0`. */
  repository: string;
  container: string;
  labels?: Record<string, string>;
  /** The Docker endpoint the exporter watches: the daemon's socket or a proxy in front of it. */
  dockerEndpoint: string;
}

/**
 * Starts the end-to-end rig, each part stopped by `stops` when the suite ends: a registry with
 * `repository:1.0` published and run as `container`, the Gotify stand-in, the built exporter
 * (startRigExporter, its secret files in a temporary folder) and the SMTP relay, with the
 * shipped Alertmanager config pointed at them.
 */
export async function startAlertRig(stops: Teardown, opts: AlertRigOptions): Promise<AlertRig> {
  const { docker, suffix } = opts;
  const secrets = rigSecrets(suffix);
  const dir = stops.add(await mkdtemp(join(tmpdir(), 'e2e-')), (d) =>
    rm(d, { recursive: true, force: true }),
  );
  const registry = stops.add(await startRegistry(), (r) => r.stop());
  const image = `${registry.host}/${opts.repository}:1.0`;
  await publish(docker, image, `v1 ${suffix}`);
  stops.add(opts.container, (name) => docker(['rm', '-f', name]).catch(() => undefined));
  await runContainer(docker, image, opts.container, opts.labels);
  const gotify = stops.add(await startGotify(`A${suffix}`), (g) => g.stop());
  const exporter = stops.add(
    await startRigExporter(dir, opts.dockerEndpoint, gotify, secrets),
    (e) => e.stop(),
  );
  const smtp = stops.add(
    await startSmtpServer({ username: 'diun-exporter@example.org', password: secrets.smtp }),
    (s) => s.close(),
  );
  const am = await rigAlertmanager(smtp, exporter, secrets);
  const alertmanager = { ...am, env: { SSL_CERT_FILE: smtp.certFile } };
  return { image, secrets, gotify, exporter, smtp, alertmanager };
}
