import { collectDefaultMetrics, type Registry } from 'prom-client';
import { revision, version } from '../build-info.js';
import type { RegistryObserver } from '../registry/client.js';
import { FAILURE_REASONS } from '../registry/errors.js';
import type { WatchHooks } from '../watch/hooks.js';
import {
  buildFamilies,
  mqttFamilies,
  notificationFamilies,
  registryFamilies,
  watchFamilies,
} from './families.js';
import { registerFamilies } from './register-families.js';
import { type MetricsSource, registerSnapshotGauges } from './snapshot-gauges.js';
import { SnapshotRegistry } from './snapshot-text.js';

export type { MetricsSource } from './snapshot-gauges.js';

/** Counts of notifications the exporter itself delivers (the Gotify and ntfy bridges), by channel. */
export interface NotificationCounters {
  sent(channel: string): void;
  failed(channel: string): void;
  /** `alerts` more alerts were only counted in a summary line (over the bridge's caps). */
  folded(channel: string, alerts: number): void;
}

/** What the MQTT publisher reports: the broker's connection, and each message's fate. */
export interface MqttCounters {
  up(connected: boolean): void;
  published(): void;
  failed(count?: number): void;
}

export interface ExporterMetrics {
  register: SnapshotRegistry;
  observer: RegistryObserver;
  hooks: WatchHooks;
  notifications: NotificationCounters;
  /** Absent unless `mqtt:` is configured, so its families are only served then. */
  mqtt: MqttCounters | undefined;
}

/**
 * Every metric family docs/metrics.md lists, on one registry: gauges read the watcher at scrape
 * time, counters are fed by the watcher's hooks and the registry client's observer. Families
 * are registered in the order /metrics lists them (families.ts).
 */
export function createMetrics(
  source: MetricsSource,
  providers: string[] = ['docker'],
  channels: string[] = [],
  opts: { mqtt?: boolean } = {},
): ExporterMetrics {
  const register = new SnapshotRegistry(source);
  registerProcessMetrics(register);
  registerSnapshotGauges(register, source);
  registerBuildInfo(register);
  const hooks = watchHooks(register, providers);
  const observer = registryObserver(register);
  const notifications = notificationCounters(register, channels);
  const mqtt = opts.mqtt ? mqttCounters(register) : undefined;
  return { register, observer, hooks, notifications, mqtt };
}

/** prom-client's process and Node.js families. */
function registerProcessMetrics(register: Registry): void {
  collectDefaultMetrics({ register });
  // prom-client's gauges named *_total break the naming rules `promtool check metrics` enforces;
  // the same counts stay available per type in nodejs_active_handles and friends.
  for (const name of ['handles', 'requests', 'resources']) {
    register.removeSingleMetric(`nodejs_active_${name}_total`);
  }
}

function registerBuildInfo(register: Registry): void {
  const { diun_build_info } = registerFamilies(register, buildFamilies);
  diun_build_info.set({ version, revision, nodejs_version: process.version }, 1);
}

/** The counters a run feeds. */
function watchHooks(register: Registry, providers: string[]): WatchHooks {
  const {
    diun_image_checks_total: checks,
    diun_image_check_failures_total: failures,
    diun_watch_runs_total: runs,
    diun_watch_skipped_runs_total: skipped,
    diun_state_write_failures_total: stateWriteFailures,
  } = registerFamilies(register, watchFamilies);
  // Zero series up front, so rate() and absent() behave before the first failure.
  runs.inc(0);
  skipped.inc(0);
  stateWriteFailures.inc(0);
  for (const provider of providers) {
    checks.inc({ provider }, 0);
    for (const reason of FAILURE_REASONS) failures.inc({ provider, reason }, 0);
  }
  return {
    checked: (provider) => checks.inc({ provider }),
    failed: (provider, reason) => failures.inc({ provider, reason }),
    runStarted: () => runs.inc(),
    runSkipped: () => skipped.inc(),
    stateWriteFailed: () => stateWriteFailures.inc(),
  };
}

/**
 * The registry client's requests, their durations, the allowance registries announce and the
 * requests allowed in flight to each.
 */
function registryObserver(register: Registry): RegistryObserver {
  const {
    diun_registry_requests_total: requests,
    diun_registry_request_duration_seconds: durations,
    diun_registry_ratelimit_limit: limit,
    diun_registry_ratelimit_remaining: remaining,
    diun_registry_concurrency_limit: concurrency,
  } = registerFamilies(register, registryFamilies);
  return {
    request(e) {
      requests.inc({ registry: e.registry, kind: e.kind, code: e.code });
      durations.observe({ registry: e.registry, kind: e.kind }, e.seconds);
    },
    rateLimit(e) {
      limit.set({ registry: e.registry }, e.limit);
      remaining.set({ registry: e.registry }, e.remaining);
    },
    concurrencyLimit(e) {
      concurrency.set({ registry: e.registry }, e.limit);
    },
  };
}

/** The push bridges' deliveries, each configured channel at 0 from the start. */
function notificationCounters(register: Registry, channels: string[]): NotificationCounters {
  const {
    diun_notifications_sent_total: sent,
    diun_notifications_failed_total: notSent,
    diun_notifications_folded_total: folded,
  } = registerFamilies(register, notificationFamilies);
  for (const channel of channels) {
    sent.inc({ channel }, 0);
    notSent.inc({ channel }, 0);
    folded.inc({ channel }, 0);
  }
  return {
    sent: (channel) => sent.inc({ channel }),
    failed: (channel) => notSent.inc({ channel }),
    folded: (channel, alerts) => folded.inc({ channel }, alerts),
  };
}

/** The MQTT publisher's connection and messages, all at 0 from the start (not connected yet). */
function mqttCounters(register: Registry): MqttCounters {
  const {
    diun_mqtt_up: up,
    diun_mqtt_messages_published_total: published,
    diun_mqtt_messages_failed_total: failed,
  } = registerFamilies(register, mqttFamilies);
  up.set(0);
  published.inc(0);
  failed.inc(0);
  return {
    up: (connected) => up.set(connected ? 1 : 0),
    published: () => published.inc(),
    failed: (count = 1) => failed.inc(count),
  };
}
