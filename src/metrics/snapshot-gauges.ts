import { Gauge, type Registry } from 'prom-client';
import type { EndpointStatus } from '../providers/types.js';
import { type RunSummary, statuses } from '../state/records.js';
import type { Snapshot } from '../watch/model.js';

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
 * Registers the small gauges rebuilt at every scrape (provider endpoints, the last run), as
 * Diun's recorder does. The per-image and per-container families are rendered from the snapshot
 * by SnapshotRegistry (snapshot-text.ts), so images and containers that are gone disappear with
 * no bookkeeping.
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
