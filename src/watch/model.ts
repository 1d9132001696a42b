import type { WatchedContainer } from '../providers/types.js';
import type { FailureReason } from '../registry/errors.js';
import type { PlatformManifest } from '../registry/platform.js';
import type { VersionVerdict } from '../tags/compare.js';

/** Diun's statuses: one `diun_image_last_check_status` series each. */
export const statuses = ['new', 'update', 'unchange', 'skip', 'error'] as const;
export type CheckStatus = (typeof statuses)[number];

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

export interface ContainerState {
  container: WatchedContainer;
  updateAvailable: boolean;
  status: CheckStatus;
}

export interface ImageState {
  record: ImageRecord;
  hubLink: string;
  localDigests: string[];
  containers: ContainerState[];
}

/** What the metrics, the API and the CLI render: the whole picture after a run or a Docker event. */
export interface Snapshot {
  images: ImageState[];
  /** Unix seconds when this snapshot was computed. */
  at: number;
}

export interface RunSummary {
  startedAt: number;
  finishedAt: number;
  durationSeconds: number;
  images: Record<CheckStatus, number>;
  providerErrors: string[];
  skipped: boolean;
}

/**
 * The key of an image in the state: provider and normalised reference. A type of its own, so
 * that only imageKey() makes one and providerOf() reads one back.
 */
export type ImageKey = string & { readonly __imageKey: unique symbol };

/** The key of `image` as seen by `provider`. */
export function imageKey(provider: string, image: string): ImageKey {
  return `${provider}|${image}` as ImageKey;
}

/** The provider a key was made for. */
export function providerOf(key: ImageKey): string {
  return key.slice(0, key.indexOf('|'));
}
