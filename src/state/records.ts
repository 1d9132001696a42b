// What the state file keeps (see store.ts): a record per image and the last run's summary.
// Here, below watch/, so the store persists them without importing the watcher that makes them.
import type { FailureReason } from '../registry/errors.js';
import type { PlatformManifest } from '../registry/platform.js';
import type { VersionVerdict } from '../tags/compare.js';

/** Diun's statuses: one `diun_image_last_check_status` series each. */
export const statuses = ['new', 'update', 'unchange', 'skip', 'error'] as const;
/** One of Diun's statuses. */
export type CheckStatus = (typeof statuses)[number];

/**
 * What an image says of its own origin, in its config's OCI annotations
 * (`org.opencontainers.image.source`, ...): where the release notes of a new digest are.
 */
export interface ImageOrigin {
  source?: string;
  version?: string;
  revision?: string;
  url?: string;
  documentation?: string;
}

/** What we remember about one image between runs and restarts (the state file's rows). */
export interface ImageRecord {
  provider: string;
  image: string;
  remoteDigest?: string;
  remoteMediaType?: string;
  /** Unix seconds when `remoteDigest` was first seen. */
  remoteDigestSince?: number;
  /** Unix seconds: the remote image's creation time, when known. */
  remoteCreated?: number;
  /** The remote image's origin labels, read with its creation time (only when the digest moved). */
  origin?: ImageOrigin;
  /** Unix seconds: end of the last check. */
  lastCheck?: number;
  status: CheckStatus;
  error?: string;
  reason?: FailureReason;
  /** The first remote digest recorded: what a file entry with no pinned digest is compared with. */
  firstDigest?: string;
  /**
   * Platform entries of the image indexes fetched so far, by index digest: the remote one and
   * those the containers run. Cached here so an index is fetched once, when its digest moved.
   */
  indexes?: Record<string, PlatformManifest[]>;
  /** The newest comparable tag in the repository (`watch_repo`), from the last tags listing. */
  version?: VersionVerdict;
  /** Whether any container was outdated at the last evaluation: the updates counter counts rises. */
  updateAvailable: boolean;
}

/**
 * A copy of `r` with every field of ImageRecord present, always in this order. Records made this
 * way share one hidden class: a spread followed by more keys than the source had gave each of
 * 10,000 records its own dictionary of properties, about 3 KiB that a run promoted to V8's old
 * space. Fields not in ImageRecord are not copied.
 */
export function copyRecord(r: ImageRecord): ImageRecord {
  return {
    provider: r.provider,
    image: r.image,
    remoteDigest: r.remoteDigest,
    remoteMediaType: r.remoteMediaType,
    remoteDigestSince: r.remoteDigestSince,
    remoteCreated: r.remoteCreated,
    origin: r.origin,
    lastCheck: r.lastCheck,
    status: r.status,
    error: r.error,
    reason: r.reason,
    firstDigest: r.firstDigest,
    indexes: r.indexes,
    version: r.version,
    updateAvailable: r.updateAvailable,
  };
}

/** How the last run went: when, how long, images per status, providers that failed. */
export interface RunSummary {
  startedAt: number;
  finishedAt: number;
  durationSeconds: number;
  images: Record<CheckStatus, number>;
  providerErrors: string[];
  skipped: boolean;
}
