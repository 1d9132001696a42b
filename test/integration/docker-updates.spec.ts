import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { buildLocalImage, publish, runContainer } from '../support/images.js';
import { find, value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';

// The whole life of an update, on the real Docker engine and the real registry: v1 runs, v2 is
// pushed, the exporter says so for the image and each container, and recreating the containers
// clears it through Docker events with no registry request.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('docker provider against a real registry', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const names = { a: `app-a-${suffix}`, b: `app-b-${suffix}`, local: `local-${suffix}` };
  let registry: Registry;
  let exporter: ExporterProcess;
  let image: string;
  const ours = { userAgent: 'diun-exporter' };
  // What each version says of its origin, as images built by CI do (OCI annotations as labels).
  const origin = (revision: string) => ({
    'org.opencontainers.image.source': 'https://github.com/acme/shop',
    'org.opencontainers.image.revision': revision,
  });
  const revisions = { v1: '1a2b3c4d5e6f7081', v2: '9f8e7d6c5b4a3021' };

  beforeAll(async () => {
    registry = await startRegistry();
    image = `${registry.host}/team/app:1.0`;
    await publish(docker, image, `v1 ${suffix}`, origin(revisions.v1));
    await runContainer(docker, image, names.a, {
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
    });
    await runContainer(docker, image, names.b);
    await buildLocalImage(docker, `local/built-${suffix}:dev`);
    await runContainer(docker, `local/built-${suffix}:dev`, names.local);
    exporter = await startExporter({
      watch: { schedule: '', workers: 4 },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await docker(['rm', '-f', names.a, names.b, names.local]).catch(() => undefined);
    await registry?.stop();
  });

  const imageLabels = () => ({ provider: 'docker', image });
  const container = (name: string) => ({ provider: 'docker', container: name });

  it('reports the running image up to date and the local build as skipped', async () => {
    const s = await exporter.until(
      (s) => value(s, 'diun_image_update_available', imageLabels()) !== undefined,
      'the first check of the registry image',
    );
    expect(value(s, 'diun_image_update_available', imageLabels())).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.a))).toBe(0);
    expect(find(s, 'diun_container_update_available', container(names.a))[0]?.labels).toMatchObject(
      {
        endpoint: 'local',
        image,
        compose_project: 'shop',
        compose_service: 'web',
      },
    );
    const local = `docker.io/local/built-${suffix}:dev`;
    expect(value(s, 'diun_image_last_check_status', { image: local, status: 'skip' })).toBe(1);
    expect(value(s, 'diun_image_update_available', { image: local })).toBe(0);
    expect(value(s, 'diun_provider_up', { provider: 'docker', endpoint: 'local' })).toBe(1);
    // The local build never reaches a registry.
    expect(registry.requests({ ...ours, pathIncludes: 'built' })).toBe(0);
    const ready = await fetch(`${exporter.url}/-/ready`);
    expect(ready.status).toBe(200);
  });

  it('sees v2 pushed to the tag as an update for the image and both containers', async () => {
    await publish(docker, image, `v2 ${suffix}`, origin(revisions.v2));
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { outdated: string[]; images: Record<string, number> };
    expect(summary.outdated).toEqual([image]);
    expect(summary.images.update).toBe(1);

    const s = await exporter.scrape();
    expect(value(s, 'diun_image_update_available', imageLabels())).toBe(1);
    expect(value(s, 'diun_container_update_available', container(names.a))).toBe(1);
    expect(value(s, 'diun_container_update_available', container(names.b))).toBe(1);
    expect(value(s, 'diun_image_last_check_status', { ...imageLabels(), status: 'update' })).toBe(
      1,
    );
    expect(value(s, 'diun_image_updates_detected_total', imageLabels())).toBe(1);
    // What changed, from v2's labels (read with its creation time) and those of the v1 image the
    // containers run: the source's compare page.
    const compare = `https://github.com/acme/shop/compare/${revisions.v1}...${revisions.v2}`;
    expect(find(s, 'diun_image_release_info', imageLabels())[0]?.labels.release_url).toBe(compare);
    expect(value(s, 'diun_image_created_timestamp_seconds', imageLabels())).toBeGreaterThan(0);

    const api = (await (await fetch(`${exporter.url}/api/v1/images`)).json()) as {
      images: Array<{
        image: string;
        remoteDigest: string;
        localDigests: string[];
        releaseLink: string | null;
        containers: unknown[];
      }>;
    };
    const row = api.images.find((i) => i.image === image)!;
    expect(row.containers).toHaveLength(2);
    expect(row.releaseLink).toBe(compare);
    const page = await (await fetch(`${exporter.url}/`)).text();
    expect(page).toContain(`<a href="${compare}" rel="noopener noreferrer">what changed</a>`);
    expect(row.localDigests).not.toContain(row.remoteDigest);
  });

  it('clears a container recreated on v2 through Docker events, with no registry request', async () => {
    const before = registry.requests(ours);
    await docker(['rm', '-f', names.a]);
    await runContainer(docker, image, names.a);
    let s = await exporter.until(
      (s) => value(s, 'diun_container_update_available', container(names.a)) === 0,
      `${names.a} to report 0 after it was recreated on v2`,
      10_000,
    );
    // The other container still runs v1, so the image stays outdated.
    expect(value(s, 'diun_container_update_available', container(names.b))).toBe(1);
    expect(value(s, 'diun_image_update_available', imageLabels())).toBe(1);

    await docker(['rm', '-f', names.b]);
    await runContainer(docker, image, names.b);
    s = await exporter.until(
      (s) =>
        value(s, 'diun_container_update_available', container(names.b)) === 0 &&
        value(s, 'diun_image_update_available', imageLabels()) === 0,
      'the image to report 0 once both containers run v2',
      10_000,
    );
    expect(registry.requests(ours)).toBe(before);
  });

  it('drops the series of a container that is removed', async () => {
    await docker(['rm', '-f', names.local]);
    const s = await exporter.until(
      (s) => find(s, 'diun_container_update_available', container(names.local)).length === 0,
      `the series of ${names.local} to disappear`,
      10_000,
    );
    expect(
      find(s, 'diun_image_info', { image: `docker.io/local/built-${suffix}:dev` }),
    ).toHaveLength(0);
  });
});
