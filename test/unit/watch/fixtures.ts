import { type Config, ConfigSchema, type RegOpt } from '../../../src/config/schema.js';
import { composePresentation, type Listed } from '../../../src/providers/common.js';
import { podPresentation } from '../../../src/providers/kubernetes-pods.js';
import type { Provider, WatchedContainer } from '../../../src/providers/types.js';
import type { RegistryClient } from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { INITIAL_LIMIT } from '../../../src/registry/limiter.js';
import type { ImageReference } from '../../../src/registry/reference.js';
import type { RequestOptions } from '../../../src/registry/types.js';
import type { ImageRecord } from '../../../src/state/records.js';

/** A 64-hex sha256 digest whose first characters are `start` (repeated), for readable tests. */
export function digest(start: string): string {
  return `sha256:${start.repeat(64).slice(0, 64)}`;
}

/** How a test says where a container is: as Compose labels, as a pod, or as a file entry. */
interface Where {
  composeProject?: string;
  composeService?: string;
  k8s?: { namespace: string; pod: string; owner: string };
  entry?: boolean;
}

/**
 * A running Docker container as the provider lists it; override what the test is about. Where
 * it is shown (series labels, page, update command) comes from the providers' own functions.
 */
export function container(overrides: Partial<WatchedContainer> & Where = {}): WatchedContainer {
  const { composeProject = '', composeService = '', k8s, entry, ...rest } = overrides;
  const name = rest.name ?? 'web';
  const listed: Listed = {
    provider: 'docker',
    endpoint: 'local',
    id: `id-${name}`,
    name,
    image: 'docker.io/library/nginx:latest',
    imageId: 'sha256:local',
    repoDigests: [digest('a')],
    platform: { os: 'linux', architecture: 'amd64' },
    state: 'running',
    kind: entry ? 'entry' : 'container',
    options: { ...config().defaults },
    errors: [],
    ...rest,
  };
  const shown = k8s
    ? podPresentation(listed.name, k8s)
    : composePresentation(listed, composeProject, composeService);
  return { ...shown, ...listed };
}

/** What the registry said last about an image. */
export function record(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    provider: 'docker',
    image: 'docker.io/library/nginx:latest',
    remoteDigest: digest('a'),
    remoteDigestSince: 1_700_000_000,
    lastCheck: 1_700_000_100,
    status: 'unchange',
    updateAvailable: false,
    ...overrides,
  };
}

/** A whole configuration with its defaults, as the loader would give for `diun.yml`. */
export function config(yaml: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse(yaml);
}

/** A registry options entry with the schema's defaults. */
export function regopt(fields: Record<string, unknown>): RegOpt {
  return config({ regopts: [fields] }).regopts[0]!;
}

/**
 * A registry that answers HEAD with `answer(image)` (a digest, or an error to throw) and has no
 * manifests or blobs to GET; `heads` lists every HEAD made, with its options.
 */
export function fakeRegistry(answer: (image: string) => string | Error | Promise<string>) {
  const heads: Array<{ image: string; opts: RequestOptions }> = [];
  const fake = {
    async headManifest(ref: ImageReference, opts: RequestOptions) {
      const image = `${ref.registry}/${ref.repository}:${ref.tag}`;
      heads.push({ image, opts });
      const result = await answer(image);
      if (result instanceof Error) throw result;
      return { digest: result, mediaType: 'application/vnd.oci.image.index.v1+json' };
    },
    async getManifest(): Promise<never> {
      throw new RegistryError('not_found', 'no manifest here');
    },
    async getBlob(): Promise<never> {
      throw new RegistryError('not_found', 'no blob here');
    },
    async close() {},
    concurrencyLimit: () => INITIAL_LIMIT,
  };
  // Only the methods a check calls exist; the rest of the client is never reached.
  return { heads, registry: fake as unknown as RegistryClient };
}

/** A Docker provider whose endpoint `local` always answers with `containers()`. */
export function fakeProvider(containers: () => WatchedContainer[]): Provider {
  return {
    name: 'docker',
    list: async () => containers(),
    subscribe() {},
    status: () => [{ provider: 'docker', endpoint: 'local', up: true }],
    close: async () => {},
  };
}
