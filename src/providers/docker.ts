import { isWatched, parseLabels } from '../config/labels.js';
import type { Config, DockerEndpoint } from '../config/schema.js';
import { originOf } from '../registry/origin.js';
import { parseRepoDigest, repositoryKey } from '../registry/reference.js';
import { composePresentation, type Listed, OnceWarnings, readReference } from './common.js';
import type { ContainerSummary, ImageInspect } from './docker-api.js';
import { describeDockerError, dockerStatus } from './docker-connection.js';
import { Engine } from './engine.js';
import { EndpointHealth } from './health.js';
import type { EndpointStatus, Provider, WatchedContainer } from './types.js';

type DockerConfig = NonNullable<Config['providers']['docker']>;

// Events that can change what runs; image events (pull, tag) do not change a running container.
const containerEvents = ['create', 'start', 'stop', 'die', 'destroy', 'rename', 'update'];

/**
 * The Docker provider: running (or, with watchStopped, all) containers of each endpoint, using
 * only what a read-only socket proxy allows: containers, images, events, version and ping.
 */
export class DockerProvider implements Provider {
  readonly name = 'docker';
  private readonly endpoints: EndpointWatch[];

  constructor(
    private readonly config: DockerConfig,
    private readonly defaults: Config['defaults'],
  ) {
    this.endpoints = config.endpoints.map((ep) => new EndpointWatch(ep));
  }

  async list(): Promise<WatchedContainer[]> {
    const lists = await Promise.all(
      this.endpoints.map((ep) => ep.list(this.config, this.defaults)),
    );
    return lists.flat();
  }

  subscribe(onChange: () => void): void {
    for (const ep of this.endpoints) ep.follow(onChange);
  }

  status(): EndpointStatus[] {
    return this.endpoints.map((ep) => ep.health.status());
  }

  async close(): Promise<void> {
    for (const ep of this.endpoints) ep.close();
  }
}

class EndpointWatch {
  readonly health: EndpointHealth;
  // Config.Image of a container never changes, so one inspect per container is enough.
  private readonly configImage = new Map<string, string>();
  private readonly warnings = new OnceWarnings('container label problem');

  private readonly engine: Engine;

  constructor(readonly ep: DockerEndpoint) {
    this.engine = new Engine(ep);
    this.health = new EndpointHealth('docker', ep.name);
  }

  async list(config: DockerConfig, defaults: Config['defaults']): Promise<WatchedContainer[]> {
    return this.health.listing(async () => {
      const infos = await this.engine
        .call((api) => api.listContainers(config.watchStopped))
        .catch((err: unknown) => {
          throw describeDockerError('containers list', err);
        });
      const watched = infos.filter((c) => isWatched(c.Labels ?? {}, config.watchByDefault));
      const images = new Map<string, Promise<ImageInspect | undefined>>();
      const inspectImage = (id: string) => {
        if (!images.has(id)) images.set(id, this.inspectImage(id));
        return images.get(id)!;
      };
      const result = await Promise.all(
        watched.map(async (c) => this.toWatched(c, await inspectImage(c.ImageID), defaults)),
      );
      const present = new Set(infos.map((c) => c.Id));
      for (const id of this.configImage.keys()) if (!present.has(id)) this.configImage.delete(id);
      const listed = result.filter((c): c is WatchedContainer => c !== undefined);
      // Keyed by id: a container keeps its problems across the events that re-list it.
      this.warnings.reportErrors(listed, (w) => ({ key: w.id, fields: { container: w.name } }));
      return listed;
    });
  }

  /** The image a container runs; undefined when it is gone (404), any other failure thrown. */
  private async inspectImage(id: string): Promise<ImageInspect | undefined> {
    try {
      return await this.engine.call((api) => api.inspectImage(id));
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw describeDockerError(`image inspect ${shortId(id)}`, err);
    }
  }

  /** Config.Image of a container; undefined when it was removed since the listing (404). */
  private async inspectConfigImage(id: string): Promise<string | undefined> {
    try {
      return (await this.engine.call((api) => api.inspectContainer(id))).Config.Image;
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw describeDockerError(`container inspect ${shortId(id)}`, err);
    }
  }

  /** The reference the container was created from: `docker ps` shows an id once the tag moved. */
  private async reference(c: ContainerSummary): Promise<string | undefined> {
    if (!c.Image.startsWith('sha256:') && c.Image !== c.ImageID) return c.Image;
    const known = this.configImage.get(c.Id);
    if (known) return known;
    // undefined: removed between list and inspect, and the destroy event re-lists
    const image = await this.inspectConfigImage(c.Id);
    if (image !== undefined) this.configImage.set(c.Id, image);
    return image;
  }

  private async toWatched(
    c: ContainerSummary,
    image: ImageInspect | undefined,
    defaults: Config['defaults'],
  ): Promise<WatchedContainer | undefined> {
    const raw = await this.reference(c);
    if (raw === undefined) return undefined;
    // An image gone while its container still exists (removed with --force): say so.
    if (image === undefined && (await this.inspectConfigImage(c.Id)) === undefined) {
      return undefined;
    }
    const labels = c.Labels ?? {};
    const { options, errors } = parseLabels(labels, defaults);
    const watched: Listed = {
      provider: 'docker',
      endpoint: this.ep.name,
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      image: raw,
      imageId: c.ImageID,
      repoDigests: [],
      platform: { os: image?.Os ?? 'linux', architecture: image?.Architecture ?? 'amd64' },
      localCreated: image?.Created ? Date.parse(image.Created) / 1000 : undefined,
      origin: originOf(image?.Config?.Labels),
      state: c.State,
      kind: 'container',
      options,
      errors,
    };
    if (image?.Variant) watched.platform.variant = image.Variant;
    readReference(watched, raw, (ref) => {
      const repo = repositoryKey(ref);
      watched.repoDigests = (image?.RepoDigests ?? [])
        .map(parseRepoDigest)
        .filter((d) => d?.repository === repo)
        .map((d) => d!.digest);
      if (ref.digest) watched.skip = 'pinned by digest';
      else if (image === undefined) {
        watched.errors.push(`image ${shortId(c.ImageID)} not found`);
        watched.skip = 'image not found';
      } else if (watched.repoDigests.length === 0) watched.skip = 'locally built (no RepoDigests)';
    });
    const project = labels['com.docker.compose.project'] ?? '';
    const service = labels['com.docker.compose.service'] ?? '';
    return { ...watched, ...composePresentation(watched, project, service) };
  }

  /** Follows the engine's container events; reconnects with back-off when it goes away. */
  follow(onChange: () => void): void {
    this.engine.follow({
      filters: { type: ['container'], event: containerEvents },
      onChange,
      onDown: (err) => this.health.mark(false, err),
    });
  }

  close(): void {
    this.engine.close();
  }
}

/** `sha256:0123456789ab`: enough of an id to find it with `docker inspect`. */
function shortId(id: string): string {
  return id.replace(/^(sha256:)?([0-9a-f]{12})[0-9a-f]*$/, '$1$2');
}
