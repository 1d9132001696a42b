import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DockerStandin,
  fakeId,
  type StandinImage,
  startDockerStandin,
} from '../../../bench/support/docker-standin.js';
import { ImageDefaultsSchema } from '../../../src/config/schema.js';
import { DockerProvider } from '../../../src/providers/docker.js';

// A host with many images: the listing inspects each image once, but not all at once. Hundreds
// of simultaneous calls would open as many connections to the engine (or its socket proxy).
describe('docker provider on a host with 300 images', () => {
  let docker: DockerStandin;
  const IMAGES = 300;

  beforeAll(async () => {
    const images: StandinImage[] = Array.from({ length: IMAGES }, (_, k) => ({
      id: fakeId(`image ${k}`),
      reference: `registry.example.org/team/app-${k}:1.0`,
      repoDigests: [`registry.example.org/team/app-${k}@${fakeId(`digest ${k}`)}`],
    }));
    docker = await startDockerStandin(
      images.map((image, k) => ({
        id: fakeId(`container ${k}`).slice('sha256:'.length),
        name: `app-${k}`,
        image,
        labels: {},
      })),
    );
  });

  afterAll(async () => {
    await docker?.close();
  });

  it('lists every container with at most 16 Engine API calls in flight', async () => {
    const provider = new DockerProvider(
      {
        endpoints: [{ name: 'local', endpoint: docker.endpoint, tlsVerify: true }],
        watchByDefault: true,
        watchStopped: false,
      },
      ImageDefaultsSchema.parse({}),
    );
    try {
      const watched = await provider.list();
      expect(watched).toHaveLength(IMAGES);
      expect(watched.every((c) => c.repoDigests.length === 1)).toBe(true);
    } finally {
      await provider.close();
    }
    expect(docker.counts()['GET /images/{id}/json']).toBe(IMAGES);
    // One connection per call in flight: the listing, the image inspects, and nothing more.
    expect(docker.connections()).toBeLessThanOrEqual(17);
  });
});
