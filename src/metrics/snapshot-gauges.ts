import { Gauge, type Registry } from 'prom-client';
import type { EndpointStatus } from '../providers/types.js';
import { type ImageState, type RunSummary, type Snapshot, statuses } from '../watch/model.js';

/** What the scrape-time gauges read: the watcher's current picture. */
export interface MetricsSource {
  snapshot(): Snapshot;
  providerStatus(): EndpointStatus[];
  lastRun(): RunSummary | undefined;
  lastSuccess(): number | undefined;
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

interface Family {
  name: string;
  help: string;
  labelNames: string[];
  fill: (emit: Emit, source: MetricsSource) => void;
}

const imageLabels = ['provider', 'image'];

/** A family with one series per image, `pick` returning its value (undefined: no series). */
function perImage(name: string, help: string, pick: (s: ImageState) => number | undefined): Family {
  return {
    name,
    help,
    labelNames: imageLabels,
    fill(emit, source) {
      for (const s of source.snapshot().images) {
        const v = pick(s);
        if (v !== undefined) emit({ provider: s.record.provider, image: s.record.image }, v);
      }
    },
  };
}

/** A family with one unlabelled series from the last run, when there was one. */
function fromLastRun(name: string, help: string, pick: (r: RunSummary) => number): Family {
  return {
    name,
    help,
    labelNames: [],
    fill(emit, source) {
      const run = source.lastRun();
      if (run) emit({}, pick(run));
    },
  };
}

const families: Family[] = [
  perImage(
    'diun_image_update_available',
    'Whether any watched container of this image runs an outdated digest (1) or not (0).',
    (s) => (s.record.updateAvailable ? 1 : 0),
  ),
  perImage(
    'diun_image_last_check_timestamp_seconds',
    'Unix time at the end of the last check of this image.',
    (s) => s.record.lastCheck,
  ),
  perImage(
    'diun_image_created_timestamp_seconds',
    "Unix time the registry's current image for this tag was created.",
    (s) => s.record.remoteCreated,
  ),
  perImage(
    'diun_image_update_detected_timestamp_seconds',
    "Unix time the registry's current digest for this tag was first seen.",
    (s) => s.record.remoteDigestSince,
  ),
  {
    name: 'diun_image_last_check_status',
    help: 'Status of the last check of this image: 1 for the current status, 0 for the others.',
    labelNames: [...imageLabels, 'status'],
    fill(emit, source) {
      for (const { record: r } of source.snapshot().images) {
        for (const status of statuses) {
          emit({ provider: r.provider, image: r.image, status }, r.status === status ? 1 : 0);
        }
      }
    },
  },
  {
    name: 'diun_image_info',
    help: 'Local (running) and remote (registry) digests of this image and its hub link. Always 1.',
    labelNames: [...imageLabels, 'local_digest', 'remote_digest', 'hub_link'],
    fill(emit, source) {
      for (const s of source.snapshot().images) {
        const { provider, image, remoteDigest } = s.record;
        const local_digest = s.localDigests.join(',');
        emit(
          { provider, image, local_digest, remote_digest: remoteDigest ?? '', hub_link: s.hubLink },
          1,
        );
      }
    },
  },
  perImage(
    'diun_image_newer_version_available',
    'Whether a newer tag that passes the filters exists for this image (watch_repo images only).',
    (s) => (s.record.version ? (s.record.version.newer ? 1 : 0) : undefined),
  ),
  {
    name: 'diun_image_latest_version_info',
    help: 'The running tag and the newest comparable tag in the repository (watch_repo images only). Always 1.',
    labelNames: [...imageLabels, 'current_version', 'latest_version', 'semver_diff'],
    fill(emit, source) {
      for (const { record: r } of source.snapshot().images) {
        if (!r.version) continue;
        const { current, latest, diff } = r.version;
        emit(
          {
            provider: r.provider,
            image: r.image,
            current_version: current,
            latest_version: latest,
            semver_diff: diff,
          },
          1,
        );
      }
    },
  },
  {
    name: 'diun_container_update_available',
    help: 'Whether this container runs an outdated digest of its image (1) or not (0).',
    labelNames: [
      'provider',
      'endpoint',
      'container',
      'image',
      'compose_project',
      'compose_service',
    ],
    fill(emit, source) {
      for (const s of source.snapshot().images) {
        for (const { container: c, updateAvailable } of s.containers) {
          if (c.entry) continue; // a file entry is no container; its image series say it all
          const labels = {
            provider: c.provider,
            endpoint: c.endpoint,
            container: c.name,
            image: c.image,
            compose_project: c.composeProject,
            compose_service: c.composeService,
          };
          emit(labels, updateAvailable ? 1 : 0);
        }
      }
    },
  },
  {
    name: 'diun_provider_up',
    help: 'Whether the provider endpoint answered at its last use (1) or not (0).',
    labelNames: ['provider', 'endpoint'],
    fill(emit, source) {
      for (const s of source.providerStatus()) {
        emit({ provider: s.provider, endpoint: s.endpoint }, s.up ? 1 : 0);
      }
    },
  },
  fromLastRun(
    'diun_watch_last_run_timestamp_seconds',
    'Unix time at the end of the last watch run.',
    (r) => r.finishedAt,
  ),
  fromLastRun(
    'diun_watch_last_run_duration_seconds',
    'How long the last watch run took.',
    (r) => r.durationSeconds,
  ),
  {
    name: 'diun_watch_last_success_timestamp_seconds',
    help: 'Unix time at the end of the last watch run with no provider error.',
    labelNames: [],
    fill(emit, source) {
      const at = source.lastSuccess();
      if (at !== undefined) emit({}, at);
    },
  },
  {
    name: 'diun_watch_last_run_images',
    help: 'Images per status in the last watch run.',
    labelNames: ['status'],
    fill(emit, source) {
      const run = source.lastRun();
      if (run) for (const status of statuses) emit({ status }, run.images[status]);
    },
  },
];

/**
 * Registers the gauges rebuilt from the snapshot at every scrape, as Diun's recorder does, so
 * images and containers that are gone disappear with no bookkeeping.
 */
export function registerSnapshotGauges(register: Registry, source: MetricsSource): void {
  for (const f of families) {
    new Gauge({
      name: f.name,
      help: f.help,
      labelNames: f.labelNames,
      registers: [register],
      collect() {
        this.reset();
        f.fill((labels, value) => this.set(labels, value), source);
      },
    });
  }
}
