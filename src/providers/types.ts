import type { ImageOptions } from '../config/labels.js';

/** One container (or file entry) a provider asks us to watch. */
export interface WatchedContainer {
  provider: string;
  /** The Docker host's name from the config: the `endpoint` label. */
  endpoint: string;
  id: string;
  name: string;
  /** Normalised reference (`docker.io/library/nginx:latest`): the `image` label. */
  image: string;
  /** Local image id the container runs. */
  imageId: string;
  /** Digests from the local image's RepoDigests that belong to this repository. */
  repoDigests: string[];
  /** The local image's os/architecture/variant and creation time, from the Docker API. */
  platform: { os: string; architecture: string; variant?: string };
  localCreated?: number;
  state: string;
  composeProject: string;
  composeService: string;
  /** Kubernetes only: the pod that stands for its owner's replicas, and that owner (`deployment/web`). */
  k8s?: { namespace: string; pod: string; owner: string };
  options: ImageOptions;
  /**
   * A file-provider entry, not a running container: it is outdated while the remote digest
   * differs from `pinnedDigest` or, with no pin, from the first digest recorded for it.
   */
  entry?: boolean;
  /** The digest a file entry pins (`name: nginx:1.27@sha256:...`). */
  pinnedDigest?: string;
  /** Why no registry check applies (local build, pinned digest), if none does. */
  skip?: string;
  /** Label or reference problems: the container is reported as `error`. */
  errors: string[];
}

/** Whether one provider endpoint answered at its last use. */
export interface EndpointStatus {
  provider: string;
  endpoint: string;
  up: boolean;
  error?: string;
}

/** The small interface every provider implements (one file per provider, as node_exporter's collectors). */
export interface Provider {
  readonly name: string;
  /** Lists what is watched now; endpoints that fail are reported in `status()`, not thrown. */
  list(): Promise<WatchedContainer[]>;
  /** Calls `onChange` whenever the watched set may have changed (Docker events). */
  subscribe(onChange: () => void): void;
  status(): EndpointStatus[];
  close(): Promise<void>;
}
