import { isWatched, parseLabels } from '../config/labels.js';
import { DEFAULT_DOCKER_ENDPOINT } from '../config/providers.js';
import type { Config } from '../config/schema.js';
import { composePresentation, type Listed, OnceWarnings, readReference } from './common.js';
import type { ServiceInfo } from './docker-api.js';
import { describeDockerError } from './docker-connection.js';
import { Engine } from './engine.js';
import { EndpointHealth } from './health.js';
import type { EndpointStatus, Provider, WatchedContainer } from './types.js';

type SwarmConfig = NonNullable<Config['providers']['swarm']>;

/** The `endpoint` label of every service series: the swarm section names one manager. */
export const SWARM_ENDPOINT = 'swarm';
// What a socket proxy in front of a manager must let through for this provider.
const SWARM_PROXY_ALLOWS = 'SERVICES=1 EVENTS=1 VERSION=1';

/**
 * One Swarm service as a watched "container": its image `repo:tag@sha256:...` is checked on the
 * tag, and the service is outdated while the tag's digest is not the digest the service pins.
 */
export function serviceToWatched(
  service: ServiceInfo,
  defaults: Config['defaults'],
  platform: WatchedContainer['platform'],
): WatchedContainer {
  const raw = service.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '';
  const { options, errors } = parseLabels(service.Spec?.Labels ?? {}, defaults);
  const watched: Listed = {
    provider: 'swarm',
    endpoint: SWARM_ENDPOINT,
    id: service.ID,
    name: service.Spec?.Name ?? service.ID,
    image: raw,
    imageId: '',
    repoDigests: [],
    platform: { ...platform },
    state: 'service',
    kind: 'container',
    options,
    errors,
  };
  readReference(
    watched,
    raw,
    (ref) => {
      // What the service's tasks run: the digest the manager resolved when it was created/updated.
      if (ref.digest === undefined) watched.skip = 'no pinned digest (--no-resolve-image)';
      else if (ref.tag === undefined) watched.skip = 'pinned by digest';
      else watched.repoDigests = [ref.digest];
    },
    { tagOnly: true },
  );
  // A stack deploys its services as Compose does its containers: the stack is the project.
  const stack = service.Spec?.Labels?.['com.docker.stack.namespace'] ?? '';
  return { ...watched, ...composePresentation(watched, stack, '') };
}

/**
 * Diun's swarm provider: the services of the swarm a manager's Docker API serves, with their
 * `diun.*` service labels (not task or container labels). Follows service events.
 */
export class SwarmProvider implements Provider {
  readonly name = 'swarm';
  private readonly health = new EndpointHealth('swarm', SWARM_ENDPOINT);
  private readonly engine: Engine;
  private platform: Promise<WatchedContainer['platform']> | undefined;
  private readonly warnings = new OnceWarnings('service label problem');

  constructor(
    private readonly config: SwarmConfig,
    private readonly defaults: Config['defaults'],
  ) {
    this.engine = new Engine({
      name: SWARM_ENDPOINT,
      // As Docker clients do: the file's endpoint, else DOCKER_HOST, else the local socket.
      endpoint: config.endpoint ?? (process.env.DOCKER_HOST || DEFAULT_DOCKER_ENDPOINT),
      tlsCertsPath: config.tlsCertsPath,
      tlsVerify: config.tlsVerify,
    });
  }

  async list(): Promise<WatchedContainer[]> {
    return this.health.listing(async () => {
      const api = await this.engine.connect();
      const services = await api.listServices().catch((err: unknown) => {
        throw describeDockerError('services list', err, SWARM_PROXY_ALLOWS);
      });
      // The daemon's platform: what a multi-platform tag is compared on, unless diun.platform says.
      this.platform ??= api.version().then(
        (v) => ({ os: v.Os, architecture: v.Arch }),
        (err: unknown) => {
          this.platform = undefined;
          throw describeDockerError('version', err, SWARM_PROXY_ALLOWS);
        },
      );
      const platform = await this.platform;
      const watched = services
        .filter((s) => isWatched(s.Spec?.Labels ?? {}, this.config.watchByDefault))
        .map((s) => serviceToWatched(s, this.defaults, platform));
      this.warnings.reportErrors(watched, (w) => ({ key: w.id, fields: { service: w.name } }));
      return watched;
    });
  }

  /** Follows service events (create, update, remove); reconnects with back-off. */
  subscribe(onChange: () => void): void {
    this.engine.follow({
      filters: { type: ['service'] },
      onChange,
      onDown: (err) => this.health.mark(false, err),
      proxyAllows: SWARM_PROXY_ALLOWS,
    });
  }

  status(): EndpointStatus[] {
    return [this.health.status()];
  }

  async close(): Promise<void> {
    this.engine.close();
  }
}
