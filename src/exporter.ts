import type { Express } from 'express';
import { version } from './build-info.js';
import type { LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { log } from './log.js';
import { releaseMemory } from './memory.js';
import { createMetrics, type ExporterMetrics } from './metrics/exporter-metrics.js';
import { MqttPublisher } from './mqtt/publisher.js';
import { GotifyClient } from './notify/gotify.js';
import { NtfyClient } from './notify/ntfy.js';
import { createProviders } from './providers/index.js';
import type { Provider } from './providers/types.js';
import { RegistryClient } from './registry/client.js';
import { DockerCredentials } from './registry/docker-credentials.js';
import { type AppOptions, createApp, listen } from './server/app.js';
import { SilenceClient } from './snooze/client.js';
import { Snoozer } from './snooze/snoozer.js';
import { StateStore } from './state/store.js';
import { Scheduler } from './watch/scheduler.js';
import { Watcher } from './watch/watcher.js';

/** Everything one exporter process holds, wired in the one direction data flows. */
export interface Exporter {
  watcher: Watcher;
  metrics: ExporterMetrics;
  registry: RegistryClient;
  /** Delivers the bridge's messages; absent when the gotify section is not set. */
  gotify: GotifyClient | undefined;
  /** Publishes the ntfy bridge's messages; absent when the ntfy section is not set. */
  ntfy: NtfyClient | undefined;
  /** Snoozes through Alertmanager; absent when the alertmanager section is not set. */
  snoozer: Snoozer | undefined;
  /** Publishes Home Assistant update entities; absent when the mqtt section is not set. */
  mqtt: MqttPublisher | undefined;
  close(): Promise<void>;
}

/** What `createExporter` builds from the configuration unless given a stand-in. */
export interface ExporterOptions {
  /** false: read the state file but never write it (`check`). */
  persist?: boolean;
  /** In place of the providers the configuration names. */
  providers?: Provider[];
  /** In place of a RegistryClient of its own (which feeds the registry request metrics). */
  registry?: RegistryClient;
  /** false: no MQTT output even with `mqtt:` (`check` runs once and publishes nothing). */
  publish?: boolean;
}

/** Wires providers → watcher → registry → state → metrics for a loaded configuration. */
export function createExporter(
  loaded: Pick<LoadedConfig, 'config'>,
  opts: ExporterOptions = {},
): Exporter {
  const { config } = loaded;
  const providers = opts.providers ?? createProviders(config);
  if (providers.length === 0) log('warn', 'no provider configured: nothing will be watched');
  let watcher: Watcher | undefined;
  const metrics = createMetrics(
    {
      snapshot: () => watcher!.snapshot(),
      providerStatus: () => watcher!.providerStatus(),
      lastRun: () => watcher!.lastRun,
      lastSuccess: () => watcher!.lastSuccess,
    },
    providers.map((p) => p.name),
    [...(config.gotify ? ['gotify'] : []), ...(config.ntfy ? ['ntfy'] : [])],
    { mqtt: config.mqtt !== undefined && opts.publish !== false },
  );
  const registry =
    opts.registry ??
    new RegistryClient({
      observer: metrics.observer,
      userAgent: `diun-exporter/${version}`,
      dockerCredentials: new DockerCredentials(),
    });
  const store = new StateStore(config.db.path, { readOnly: opts.persist === false });
  watcher = new Watcher({ config, providers, registry, store, hooks: metrics.hooks });
  const gotify = config.gotify ? new GotifyClient(config.gotify) : undefined;
  const ntfy = config.ntfy ? new NtfyClient(config.ntfy) : undefined;
  const mqtt =
    config.mqtt && metrics.mqtt ? new MqttPublisher(config.mqtt, metrics.mqtt) : undefined;
  if (mqtt) watcher.onSnapshot((snapshot, complete) => mqtt.update(snapshot, complete));
  const snoozer =
    config.alertmanager &&
    new Snoozer(new SilenceClient(config.alertmanager), () =>
      watcher.snapshot().images.map(({ record: r }) => ({
        provider: r.provider,
        image: r.image,
        remoteDigest: r.remoteDigest ?? null,
      })),
    );
  return {
    watcher,
    metrics,
    registry,
    gotify,
    ntfy,
    snoozer,
    mqtt,
    async close() {
      snoozer?.stop();
      await mqtt?.close();
      await Promise.all(providers.map((p) => p.close()));
      await registry.close();
      await gotify?.close();
      await ntfy?.close();
    },
  };
}

/** The HTTP app `serve` runs over an exporter: metrics, API, status page and the push bridges. */
export function createExporterApp(
  exporter: Exporter,
  config: Config,
  opts: Pick<AppOptions, 'checksPerMinute'> = {},
): Express {
  return createApp({
    watcher: exporter.watcher,
    register: exporter.metrics.register,
    metricsPath: config.metrics.path,
    token: config.metrics.token,
    gotify:
      config.gotify && exporter.gotify
        ? {
            config: config.gotify,
            client: exporter.gotify,
            notifications: exporter.metrics.notifications,
          }
        : undefined,
    ntfy:
      config.ntfy && exporter.ntfy
        ? {
            config: config.ntfy,
            client: exporter.ntfy,
            notifications: exporter.metrics.notifications,
          }
        : undefined,
    snoozer: exporter.snoozer,
    ...opts,
  });
}

/** Parses Diun's `metrics.addr` (`:8080`, `127.0.0.1:9000`, `[::1]:8080`). */
export function parseListenAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`metrics.addr: expected HOST:PORT or :PORT, got "${addr}"`);
  return { host: m[1] ?? (m[2] || undefined), port: Number(m[3]) };
}

/** Runs the exporter until SIGTERM or SIGINT: serve the restored state, then check on schedule. */
export async function serve(loaded: LoadedConfig): Promise<void> {
  const { config } = loaded;
  const { host, port } = parseListenAddress(config.metrics.addr);
  const exporter = createExporter(loaded);
  const { watcher } = exporter;
  // Reading the state file leaves about as much garbage as it keeps (the file's text, a copy of
  // each row made to check it): given back before the first listing adds its own.
  if (watcher.restore()) void releaseMemory();
  const app = createExporterApp(exporter, config);
  const server = await listen(app, port, host);
  log('info', 'listening', { addr: config.metrics.addr, path: config.metrics.path, version });
  if (config.gotify) log('info', 'gotify bridge on: POST /api/v1/alertmanager/gotify');
  if (config.ntfy) log('info', 'ntfy bridge on: POST /api/v1/alertmanager/ntfy');
  if (config.mqtt) {
    log('info', 'mqtt on: Home Assistant update entities', {
      discoveryPrefix: config.mqtt.discoveryPrefix,
      topicPrefix: config.mqtt.topicPrefix,
    });
  }
  if (exporter.snoozer) {
    log('info', 'snooze on: the status page makes silences in Alertmanager', {
      alertmanager: new URL(config.alertmanager?.url ?? '').origin,
    });
    exporter.snoozer.start();
  }
  // An empty token (or token file) reads as no token: say so, rather than serve open unnoticed.
  if (!config.metrics.token) {
    log('warn', 'metrics.token is not set: /metrics and the API are open to whoever reaches them', {
      addr: config.metrics.addr,
    });
  }

  watcher.subscribe();
  const scheduler = new Scheduler({
    schedule: config.watch.schedule,
    jitterMs: config.watch.jitter,
    tick: () => watcher.scheduledRun(),
  });
  scheduler.start();
  // What the start-up (a restore, the first listing, its checks) and each later check leave
  // behind is garbage that V8 would otherwise keep for a while.
  watcher.onChecked(() => void releaseMemory());
  const startup = config.watch.runOnStartup ? watcher.run() : watcher.refresh();
  void startup.then(releaseMemory, () => undefined);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log('info', 'shutting down', { signal });
      scheduler.stop();
      server.close();
      server.closeAllConnections();
      watcher.persist();
      void exporter.close().finally(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
