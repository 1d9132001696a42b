import { Counter, collectDefaultMetrics, Gauge, Histogram } from 'prom-client';
import { revision, version } from '../build-info.js';
import type { RegistryObserver } from '../registry/client.js';
import { FAILURE_REASONS } from '../registry/errors.js';
import type { WatchHooks } from '../watch/hooks.js';
import { type MetricsSource, registerSnapshotGauges } from './snapshot-gauges.js';
import { SnapshotRegistry } from './snapshot-text.js';

export type { MetricsSource } from './snapshot-gauges.js';

/** Counts of notifications the exporter itself delivers (the Gotify bridge), by channel. */
export interface NotificationCounters {
  sent(channel: string): void;
  failed(channel: string): void;
}

export interface ExporterMetrics {
  register: SnapshotRegistry;
  observer: RegistryObserver;
  hooks: WatchHooks;
  notifications: NotificationCounters;
}

/**
 * Every metric family docs/metrics.md lists, on one registry: gauges read the watcher at scrape
 * time, counters are fed by the watcher's hooks and the registry client's observer.
 */
export function createMetrics(
  source: MetricsSource,
  providers: string[] = ['docker'],
  channels: string[] = [],
): ExporterMetrics {
  const register = new SnapshotRegistry(source);
  collectDefaultMetrics({ register });
  // prom-client's gauges named *_total break the naming rules `promtool check metrics` enforces;
  // the same counts stay available per type in nodejs_active_handles and friends.
  for (const name of ['handles', 'requests', 'resources']) {
    register.removeSingleMetric(`nodejs_active_${name}_total`);
  }
  registerSnapshotGauges(register, source);

  const at = { registers: [register] };
  new Gauge({
    name: 'diun_build_info',
    help: 'Build information. Always 1.',
    labelNames: ['version', 'revision', 'nodejs_version'],
    ...at,
  }).set({ version, revision, nodejs_version: process.version }, 1);
  const updates = new Counter({
    name: 'diun_image_updates_detected_total',
    help: 'Times the image went from up to date to outdated.',
    labelNames: ['provider', 'image'],
    ...at,
  });
  const checks = new Counter({
    name: 'diun_image_checks_total',
    help: 'Image checks made against registries.',
    labelNames: ['provider'],
    ...at,
  });
  const failures = new Counter({
    name: 'diun_image_check_failures_total',
    help: 'Image checks that failed, by reason.',
    labelNames: ['provider', 'reason'],
    ...at,
  });
  const runs = new Counter({ name: 'diun_watch_runs_total', help: 'Watch runs started.', ...at });
  const skipped = new Counter({
    name: 'diun_watch_skipped_runs_total',
    help: 'Scheduled runs skipped because the previous one was still running.',
    ...at,
  });
  const requests = new Counter({
    name: 'diun_registry_requests_total',
    help: 'HTTP requests made to registries, by kind and status code.',
    labelNames: ['registry', 'kind', 'code'],
    ...at,
  });
  const durations = new Histogram({
    name: 'diun_registry_request_duration_seconds',
    help: 'Duration of HTTP requests to registries.',
    labelNames: ['registry', 'kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ...at,
  });
  const limit = new Gauge({
    name: 'diun_registry_ratelimit_limit',
    help: 'Request allowance the registry announces (RateLimit-Limit).',
    labelNames: ['registry'],
    ...at,
  });
  const remaining = new Gauge({
    name: 'diun_registry_ratelimit_remaining',
    help: 'Requests left in the allowance (RateLimit-Remaining).',
    labelNames: ['registry'],
    ...at,
  });

  const sent = new Counter({
    name: 'diun_notifications_sent_total',
    help: 'Notifications delivered, by channel (the Alertmanager to Gotify bridge).',
    labelNames: ['channel'],
    ...at,
  });
  const notSent = new Counter({
    name: 'diun_notifications_failed_total',
    help: 'Notifications that could not be delivered after every retry, by channel.',
    labelNames: ['channel'],
    ...at,
  });

  // Zero series up front, so rate() and absent() behave before the first failure.
  runs.inc(0);
  skipped.inc(0);
  for (const provider of providers) {
    checks.inc({ provider }, 0);
    for (const reason of FAILURE_REASONS) failures.inc({ provider, reason }, 0);
  }
  for (const channel of channels) {
    sent.inc({ channel }, 0);
    notSent.inc({ channel }, 0);
  }

  return {
    register,
    observer: {
      request(e) {
        requests.inc({ registry: e.registry, kind: e.kind, code: e.code });
        durations.observe({ registry: e.registry, kind: e.kind }, e.seconds);
      },
      rateLimit(e) {
        limit.set({ registry: e.registry }, e.limit);
        remaining.set({ registry: e.registry }, e.remaining);
      },
    },
    notifications: {
      sent: (channel) => sent.inc({ channel }),
      failed: (channel) => notSent.inc({ channel }),
    },
    hooks: {
      checked: (provider) => checks.inc({ provider }),
      failed: (provider, reason) => failures.inc({ provider, reason }),
      runStarted: () => runs.inc(),
      runSkipped: () => skipped.inc(),
      updateDetected: (provider, image, rose) => updates.inc({ provider, image }, rose ? 1 : 0),
      imagesGone: (gone) => {
        for (const g of gone) updates.remove({ provider: g.provider, image: g.image });
      },
    },
  };
}
