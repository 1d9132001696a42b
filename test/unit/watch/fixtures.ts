import { type Config, ConfigSchema, type RegOpt } from '../../../src/config/schema.js';
import type { WatchedContainer } from '../../../src/providers/types.js';
import type { ImageRecord } from '../../../src/watch/model.js';

/** A 64-hex sha256 digest whose first characters are `start` (repeated), for readable tests. */
export function digest(start: string): string {
  return `sha256:${start.repeat(64).slice(0, 64)}`;
}

/** A running Docker container as the provider lists it; override what the test is about. */
export function container(overrides: Partial<WatchedContainer> = {}): WatchedContainer {
  const name = overrides.name ?? 'web';
  return {
    provider: 'docker',
    endpoint: 'local',
    id: `id-${name}`,
    name,
    image: 'docker.io/library/nginx:latest',
    imageId: 'sha256:local',
    repoDigests: [digest('a')],
    platform: { os: 'linux', architecture: 'amd64' },
    state: 'running',
    composeProject: '',
    composeService: '',
    options: { ...config().defaults },
    errors: [],
    ...overrides,
  };
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
