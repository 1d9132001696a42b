import { Gauge, type Registry } from 'prom-client';
import type { EndpointStatus } from '../providers/types.js';
import { type RunSummary, statuses } from '../state/records.js';
import type { Snapshot } from '../watch/model.js';
import { scrapeFamilies } from './families.js';
import { metricConfig } from './register-families.js';

/** What the scrape-time gauges read: the watcher's current picture. */
export interface MetricsSource {
  snapshot(): Snapshot;
  providerStatus(): EndpointStatus[];
  lastRun(): RunSummary | undefined;
  lastSuccess(): number | undefined;
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;
/** Emits a family's series for the source's current picture. */
type Fill = (emit: Emit, source: MetricsSource) => void;

/** One unlabelled series from the last run, when there was one. */
function fromLastRun(pick: (r: RunSummary) => number): Fill {
  return (emit, source) => {
    const run = source.lastRun();
    if (run) emit({}, pick(run));
  };
}

/** The series of each scrape-time family; its name, help and labels are in families.ts. */
const fills: Record<keyof typeof scrapeFamilies, Fill> = {
  diun_provider_up(emit, source) {
    for (const s of source.providerStatus()) {
      emit({ provider: s.provider, endpoint: s.endpoint }, s.up ? 1 : 0);
    }
  },
  diun_watch_last_run_timestamp_seconds: fromLastRun((r) => r.finishedAt),
  diun_watch_last_run_duration_seconds: fromLastRun((r) => r.durationSeconds),
  diun_watch_last_success_timestamp_seconds(emit, source) {
    const at = source.lastSuccess();
    if (at !== undefined) emit({}, at);
  },
  diun_watch_last_run_images(emit, source) {
    const run = source.lastRun();
    if (run) for (const status of statuses) emit({ status }, run.images[status]);
  },
};

/**
 * Registers the small gauges rebuilt at every scrape (provider endpoints, the last run), as
 * Diun's recorder does. The per-image and per-container families are rendered from the snapshot
 * by SnapshotRegistry (snapshot-text.ts), so images and containers that are gone disappear with
 * no bookkeeping.
 */
export function registerSnapshotGauges(register: Registry, source: MetricsSource): void {
  for (const [name, family] of Object.entries(scrapeFamilies)) {
    const fill = fills[name as keyof typeof scrapeFamilies];
    new Gauge({
      ...metricConfig(name, family),
      registers: [register],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels, value), source);
      },
    });
  }
}
