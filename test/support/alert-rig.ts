import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { waitFor } from './exec.js';
import { type ExporterProcess, startExporter } from './exporter.js';
import type { SmtpServer } from './smtp.js';

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
