import type { ImageOptions } from '../config/labels.js';
import type { ImageOrigin } from '../state/records.js';

/** One container (or file entry) a provider asks us to watch. */
export interface WatchedContainer extends Presentation {
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
  /** The origin labels of the image it runs, where the provider can read them (Docker). */
  origin?: ImageOrigin;
  state: string;
  /**
   * `container`: something running, compared with the digests it runs. `entry`: a reference a
   * file lists, with no container: outdated while the remote digest differs from `pinnedDigest`
   * or, with no pin, from the first digest recorded for it; it has no container series.
   */
  kind: 'container' | 'entry';
  options: ImageOptions;
  /** The digest a file entry pins (`name: nginx:1.27@sha256:...`). */
  pinnedDigest?: string;
  /** Why no registry check applies (local build, pinned digest), if none does. */
  skip?: string;
  /** Label or reference problems: the container is reported as `error`. */
  errors: string[];
}

/** How people and queries find a watched container: set by its provider, read by every view. */
export interface Presentation {
  /**
   * Labels of its `diun_container_update_available` series after provider, endpoint, container
   * and image, in order: `compose_project` and `compose_service` (empty when unset), then the
   * provider's own (`k8s_namespace`, `pod`, `k8s_owner`). The API shows each in camelCase.
   */
  seriesLabels: Record<string, string>;
  place: Place;
  /** The shell command that updates it: `docker compose -p site pull web && ...`. */
  updateCommand: string;
}

/** Where a watched container is, in words. */
export interface Place {
  /** Under its name on the status page: the endpoint, or the pod that stands for the workload. */
  host: string;
  /** What it belongs to (`site / web`, `shop / deployment/web`); empty for nothing. */
  group: string;
  /** Its name where a line stands alone, as the provider's own tool finds it (`shop/web-1/nginx`). */
  path: string;
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
