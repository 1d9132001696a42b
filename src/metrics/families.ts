// Every diun_* family /metrics serves, declared once: its name, help, type and labels. The code
// that builds and renders the families reads them here, and so do the tests that hold
// docs/metrics.md and the text rendering to them.

import { COMPOSE_LABELS } from '../providers/common.js';
import { seriesLabelNames } from '../providers/index.js';

/** One metric family as it appears on the HELP and TYPE lines, with its label names. */
export interface FamilyDeclaration {
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  /** In the order the series carry them. */
  labelNames: readonly string[];
  /**
   * Labels only some series carry, after the others: those a provider adds to its own
   * containers' series (Kubernetes' namespace, pod and owner).
   */
  optionalLabelNames?: readonly string[];
  /** Upper bounds, histograms only. */
  buckets?: readonly number[];
}

type Declarations = Record<`diun_${string}`, FamilyDeclaration>;

// The label names stay literal types, so that the metrics built from a declaration check the
// labels they are given.
const gauge = <const L extends readonly string[]>(labelNames: L, help: string) =>
  ({ type: 'gauge', labelNames, help }) as const;
const counter = <const L extends readonly string[]>(labelNames: L, help: string) =>
  ({ type: 'counter', labelNames, help }) as const;

const IMAGE = ['provider', 'image'] as const;

/**
 * Rendered as text from the snapshot (snapshot-text.ts), first in /metrics and in this order,
 * so that an image or container gone from the snapshot has no series at the next scrape.
 */
export const snapshotFamilies = {
  diun_image_update_available: gauge(
    IMAGE,
    'Whether any watched container of this image runs an outdated digest (1) or not (0).',
  ),
  diun_image_last_check_timestamp_seconds: gauge(
    IMAGE,
    'Unix time at the end of the last check of this image.',
  ),
  diun_image_created_timestamp_seconds: gauge(
    IMAGE,
    "Unix time the registry's current image for this tag was created.",
  ),
  diun_image_update_detected_timestamp_seconds: gauge(
    IMAGE,
    "Unix time the registry's current digest for this tag was first seen.",
  ),
  diun_image_updates_detected_total: counter(
    IMAGE,
    'Times the image went from up to date to outdated.',
  ),
  diun_image_last_check_status: gauge(
    [...IMAGE, 'status'],
    'Status of the last check of this image: 1 for the current status, 0 for the others.',
  ),
  diun_image_info: gauge(
    [...IMAGE, 'local_digest', 'remote_digest', 'hub_link'],
    'Local (running) and remote (registry) digests of this image and its hub link. Always 1.',
  ),
  diun_image_release_info: gauge(
    [...IMAGE, 'release_url'],
    "Where to read what changed in the registry's current image for this tag (release notes, a compare page, its source). Always 1; absent when unknown.",
  ),
  diun_image_newer_version_available: gauge(
    IMAGE,
    'Whether a newer tag that passes the filters exists for this image (watch_repo images only).',
  ),
  diun_image_latest_version_info: gauge(
    [...IMAGE, 'current_version', 'latest_version', 'semver_diff'],
    'The running tag and the newest comparable tag in the repository (watch_repo images only). Always 1.',
  ),
  diun_container_update_available: {
    ...gauge(
      ['provider', 'endpoint', 'container', 'image', 'compose_project', 'compose_service'],
      'Whether this container runs an outdated digest of its image (1) or not (0). Kubernetes: one series per owner, container and running digest.',
    ),
    // Whatever a provider adds to its own containers' series (Kubernetes' namespace, pod, owner).
    optionalLabelNames: seriesLabelNames.filter((n) => !COMPOSE_LABELS.some((c) => c === n)),
  },
} as const satisfies Declarations;

/** Gauges rebuilt from the watcher at every scrape (snapshot-gauges.ts). */
export const scrapeFamilies = {
  diun_provider_up: gauge(
    ['provider', 'endpoint'],
    'Whether the provider endpoint answered at its last use (1) or not (0).',
  ),
  diun_watch_last_run_timestamp_seconds: gauge([], 'Unix time at the end of the last watch run.'),
  diun_watch_last_run_duration_seconds: gauge([], 'How long the last watch run took.'),
  diun_watch_last_success_timestamp_seconds: gauge(
    [],
    'Unix time at the end of the last watch run with no provider error.',
  ),
  diun_watch_last_run_images: gauge(['status'], 'Images per status in the last watch run.'),
} as const satisfies Declarations;

/** Set once at start-up. */
export const buildFamilies = {
  diun_build_info: gauge(['version', 'revision', 'nodejs_version'], 'Build information. Always 1.'),
} as const satisfies Declarations;

/** Fed by the watcher's hooks as a run goes (watch/hooks.ts). */
export const watchFamilies = {
  diun_image_checks_total: counter(['provider'], 'Image checks made against registries.'),
  diun_image_check_failures_total: counter(
    ['provider', 'reason'],
    'Image checks that failed, by reason.',
  ),
  diun_watch_runs_total: counter([], 'Watch runs started.'),
  diun_watch_skipped_runs_total: counter(
    [],
    'Scheduled runs skipped because the previous one was still running.',
  ),
  diun_state_write_failures_total: counter(
    [],
    'State file writes that failed (the exporter log has the error).',
  ),
} as const satisfies Declarations;

/** Fed by the registry client's observer, per HTTP request. */
export const registryFamilies = {
  diun_registry_requests_total: counter(
    ['registry', 'kind', 'code'],
    'HTTP requests made to registries, by kind and status code.',
  ),
  diun_registry_request_duration_seconds: {
    type: 'histogram',
    labelNames: ['registry', 'kind'],
    help: 'Duration of HTTP requests to registries.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  diun_registry_ratelimit_limit: gauge(
    ['registry'],
    'Request allowance the registry announces (RateLimit-Limit).',
  ),
  diun_registry_ratelimit_remaining: gauge(
    ['registry'],
    'Requests left in the allowance (RateLimit-Remaining).',
  ),
  diun_registry_concurrency_limit: gauge(
    ['registry'],
    'Requests allowed in flight now (adaptive): grows while the registry answers fast, halves on 429, a low RateLimit-Remaining or a slowdown.',
  ),
} as const satisfies Declarations;

/** Fed by the Alertmanager to Gotify and ntfy bridges, per message. */
export const notificationFamilies = {
  diun_notifications_sent_total: counter(
    ['channel'],
    'Notifications delivered, by channel (the Alertmanager to Gotify and ntfy bridges).',
  ),
  diun_notifications_failed_total: counter(
    ['channel'],
    'Notifications that could not be delivered after every retry, by channel.',
  ),
  diun_notifications_folded_total: counter(
    ['channel'],
    'Alerts only counted in a summary line, over the bridge caps per webhook or per minute, by channel.',
  ),
} as const satisfies Declarations;

/** Fed by the MQTT publisher (mqtt/publisher.ts); registered only when `mqtt:` is configured. */
export const mqttFamilies = {
  diun_mqtt_up: gauge([], 'Whether the MQTT broker is connected (1) or not (0).'),
  diun_mqtt_messages_published_total: counter(
    [],
    'MQTT messages the broker acknowledged (Home Assistant discovery, state, availability).',
  ),
  diun_mqtt_messages_failed_total: counter(
    [],
    'MQTT messages not delivered: refused by the broker, or dropped from a full queue.',
  ),
} as const satisfies Declarations;

/**
 * All of them, in the order /metrics serves them (prom-client's process and Node.js families
 * come after the snapshot's); test/unit/docs/drift.spec.ts holds /metrics to it.
 */
export const families: Readonly<Declarations> = {
  ...snapshotFamilies,
  ...scrapeFamilies,
  ...buildFamilies,
  ...watchFamilies,
  ...registryFamilies,
  ...notificationFamilies,
  ...mqttFamilies,
};
