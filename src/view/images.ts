import { seriesLabelNames } from '../providers/index.js';
import type { WatchedContainer } from '../providers/types.js';
import type { RunSummary } from '../state/records.js';
import type { ImageState, Snapshot } from '../watch/model.js';
import type { Watcher } from '../watch/watcher.js';

/** `k8s_owner` as a JSON field: `k8sOwner`. */
const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Every provider's series labels (`compose_project` as `composeProject`, `k8s_namespace` as
 * `k8sNamespace`), on every container, null where its provider has none, so the JSON has one shape.
 */
function labelFields(c: WatchedContainer): Record<string, string | null> {
  return Object.fromEntries(seriesLabelNames.map((n) => [camelCase(n), c.seriesLabels[n] || null]));
}

const iso = (seconds: number | undefined) =>
  seconds === undefined ? null : new Date(seconds * 1000).toISOString();

/** One image as `GET /api/v1/images` shows it: what a person or a script needs, no secrets. */
export function imageView(s: ImageState) {
  const r = s.record;
  return {
    provider: r.provider,
    image: r.image,
    status: r.status,
    updateAvailable: r.updateAvailable,
    localDigests: s.localDigests,
    remoteDigest: r.remoteDigest ?? null,
    remoteDigestSince: iso(r.remoteDigestSince),
    remoteCreated: iso(r.remoteCreated),
    lastCheck: iso(r.lastCheck),
    lastError: r.error ?? null,
    lastErrorReason: r.reason ?? null,
    hubLink: s.hubLink,
    // Release notes, a compare page or the source of the newest digest (null when unknown).
    releaseLink: s.releaseLink || null,
    // watch_repo images: the newest comparable tag (null when not tracked or not a version).
    version: r.version
      ? {
          current: r.version.current,
          latest: r.version.latest,
          newer: r.version.newer,
          diff: r.version.diff || null,
        }
      : null,
    containers: s.containers.map(({ container: c, updateAvailable, status }) => ({
      endpoint: c.endpoint,
      id: c.id,
      name: c.name,
      state: c.state,
      status,
      updateAvailable,
      ...labelFields(c),
      repoDigests: c.repoDigests,
      pinnedDigest: c.pinnedDigest ?? null,
      skipReason: c.skip ?? null,
      errors: c.errors,
      place: c.place,
      updateCommand: c.updateCommand,
    })),
  };
}

/** A run as the API and `check --json` show it. */
export function runView(run: RunSummary | undefined, snapshot: Snapshot) {
  if (!run) return null;
  return {
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationSeconds: run.durationSeconds,
    images: run.images,
    providerErrors: run.providerErrors,
    outdated: snapshot.images.filter((i) => i.record.updateAvailable).map((i) => i.record.image),
  };
}

export type ImageView = ReturnType<typeof imageView>;
export type RunView = NonNullable<ReturnType<typeof runView>>;

/** Everything `GET /api/v1/images` answers, which the status page renders too. */
export function imagesView(watcher: Watcher) {
  const snapshot = watcher.snapshot();
  return {
    images: snapshot.images.map(imageView),
    lastRun: runView(watcher.lastRun, snapshot),
    providers: watcher.providerStatus(),
  };
}

export type ImagesView = ReturnType<typeof imagesView>;
