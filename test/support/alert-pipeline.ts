import { randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import { rigAlertmanager, rigSecrets, shipped, startRigExporter } from './alert-rig.js';
import { type Alertmanager, startAlertmanager } from './alertmanager.js';
import type { ExporterProcess } from './exporter.js';
import { type GotifyStandIn, startGotify } from './gotify.js';
import { type Prometheus, startPrometheus } from './prometheus.js';
import { type SmtpServer, startSmtpServer } from './smtp.js';
import { type SocketProxy, startSocketProxy } from './socket-proxy.js';

/**
 * `config` (a shipped YAML file's text) with the value of each `key:` line replaced; each key
 * must appear exactly once, so a renamed or repeated key fails here instead of going unchanged.
 */
export function retimed(config: string, values: Record<string, string>): string {
  let out = config;
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^(\\s*${key}:\\s*)\\S+`, 'gm');
    const found = out.match(line)?.length ?? 0;
    if (found !== 1) throw new Error(`retimed: ${key} appears ${found} times, expected once`);
    out = out.replace(line, `$1${value}`);
  }
  return out;
}

/**
 * The shipped rules `text` with the `for:` of each alert named in `values` replaced; each alert
 * must be there once with a `for:`, so a renamed alert fails here instead of going unchanged.
 */
export function ruleFor(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [alert, value] of Object.entries(values)) {
    const rule = new RegExp(`(- alert: ${alert}\\n(?:(?!\\s*- alert:).*\\n)*?\\s*for: )\\S+`, 'g');
    const found = out.match(rule)?.length ?? 0;
    if (found !== 1)
      throw new Error(`ruleFor: ${alert} with a for: found ${found} times, expected once`);
    out = out.replace(rule, `$1${value}`);
  }
  return out;
}

/** The intervals a test shortens: `key: value` for the shipped Alertmanager and Prometheus files. */
export interface PipelineTiming {
  alertmanager: Record<string, string>;
  prometheus: Record<string, string>;
}

/** Every part of the alerting pipeline after dockerd and the registry, started by `startAlertPipeline`. */
export interface AlertPipeline {
  proxy: SocketProxy;
  gotify: GotifyStandIn;
  smtp: SmtpServer;
  exporter: ExporterProcess;
  alertmanager: Alertmanager;
  prometheus: Prometheus;
  stop(): Promise<void>;
}

/**
 * The pipeline a user runs, as test/e2e/alerting.spec.ts starts it: the built exporter (a check
 * every 5 s) behind a read-only socket proxy to `dockerHost`, the Gotify and SMTP stand-ins,
 * Alertmanager with the shipped alertmanager.gotify.yml and template, Prometheus with the
 * shipped prometheus.yml and rules. Only hosts and paths are rewritten, and the `timing` values.
 * `dir` holds the secrets.
 */
export async function startAlertPipeline(
  dir: string,
  dockerHost: string,
  timing: PipelineTiming,
): Promise<AlertPipeline> {
  const suffix = randomUUID().slice(0, 8);
  const secrets = rigSecrets(suffix);
  const started: Partial<AlertPipeline> = {};
  const stop = async () => {
    await started.prometheus?.stop();
    await started.alertmanager?.stop();
    await started.exporter?.stop();
    await started.smtp?.close();
    await started.gotify?.stop();
    await started.proxy?.close();
  };
  try {
    const proxy = await startSocketProxy(dockerHost);
    started.proxy = proxy;
    const gotify = await startGotify(`A${suffix}`);
    started.gotify = gotify;
    const exporter = await startRigExporter(dir, proxy.endpoint, gotify, secrets);
    started.exporter = exporter;
    const smtp = await startSmtpServer({
      username: 'diun-exporter@example.org',
      password: secrets.smtp,
    });
    started.smtp = smtp;
    const am = await rigAlertmanager(smtp, exporter, secrets);
    const alertmanager = await startAlertmanager(
      retimed(am.config, timing.alertmanager),
      am.files,
      {
        env: { SSL_CERT_FILE: smtp.certFile },
      },
    );
    started.alertmanager = alertmanager;
    const promConfig = retimed(await shipped('prometheus/prometheus.yml'), timing.prometheus)
      .replaceAll('diun-exporter:8080', new URL(exporter.url).host)
      .replaceAll('alertmanager:9093', new URL(alertmanager.url).host)
      .replaceAll('/etc/prometheus/', '')
      .replaceAll('/run/secrets/', 'secrets/');
    const prometheus = await startPrometheus(parse(promConfig) as Record<string, unknown>, {
      'rules/diun-exporter.rules.yml': await shipped('prometheus/rules/diun-exporter.rules.yml'),
      'secrets/diun-exporter-token': secrets.metrics,
    });
    started.prometheus = prometheus;
    return { proxy, gotify, smtp, exporter, alertmanager, prometheus, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
