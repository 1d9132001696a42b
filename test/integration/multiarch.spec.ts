import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { pullImage, runContainer } from '../support/images.js';
import { type Sample, value } from '../support/metrics-text.js';
import {
  type ManifestFormat,
  type PushedManifest,
  parsePlatform,
  pushAttestation,
  pushIndex,
  pushPlatformImage,
} from '../support/oci.js';
import { type Registry, type RequestFilter, startRegistry } from '../support/registry.js';

/** One repository's tag `:1`, republished as its platform images are rebuilt. */
interface Timeline {
  repo: string;
  format: ManifestFormat;
  images: Map<string, PushedManifest>;
  attestation?: PushedManifest;
  /** Every index pushed as `:1`, oldest first. */
  indexes: PushedManifest[];
}

// A multi-platform tag on the real registry and the real Docker engine: a container is compared
// on its own platform's manifest, so rebuilding another architecture or adding an attestation
// changes the tag's digest without making the container outdated.
//
// multi/app runs one container on this machine's platform (linux/amd64). multi/arm gets the same
// pushes and runs one container labelled `diun.platform=linux/arm64`, on its own repository so
// that the image series and the request counts of multi/app tell about the amd64 one alone.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('multi-arch tags against a real registry', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const names = {
    amd: `multi-amd-${suffix}`,
    arm: `multi-arm-${suffix}`,
    list: `multi-list-${suffix}`,
  };
  const armLabels = { 'diun.platform': 'linux/arm64' };
  const ours = { userAgent: 'diun-exporter' };
  let registry: Registry;
  let exporter: ExporterProcess;
  let app: Timeline;
  let arm: Timeline;
  let list: Timeline;

  const timeline = (repo: string, format: ManifestFormat): Timeline => ({
    repo,
    format,
    images: new Map(),
    indexes: [],
  });
  const ref = (t: Timeline) => `${registry.host}/${t.repo}:1`;
  const rebuild = async (t: Timeline, platform: string) => {
    t.images.set(
      platform,
      await pushPlatformImage(registry.url, t.repo, parsePlatform(platform), t.format),
    );
  };
  const publishIndex = async (t: Timeline) => {
    const manifests = [...t.images.values(), ...(t.attestation ? [t.attestation] : [])];
    t.indexes.push(await pushIndex(registry.url, t.repo, '1', manifests, t.format));
  };
  const digestOfIndex = (t: Timeline, n: number) => t.indexes[n]!.descriptor.digest;
  // BuildKit attests the amd64 image: a new attestation whenever that image is new.
  const attest = async (t: Timeline) => {
    const subject = t.images.get('linux/amd64')!.descriptor;
    t.attestation = await pushAttestation(registry.url, t.repo, subject);
  };

  const image = (t: Timeline) => ({ provider: 'docker', image: ref(t) });
  const container = (name: string) => ({ provider: 'docker', container: name });
  const manifestRequests = (t: Timeline, filter: RequestFilter = {}) =>
    registry.requestLines({ ...ours, pathPrefix: `/v2/${t.repo}/manifests/`, ...filter });

  /** Runs a check through the API, then scrapes; the registry's log is let settle first. */
  const check = async (): Promise<Sample[]> => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    // The registry writes its access line after it answered: give the last one a moment.
    await sleep(300);
    return exporter.scrape();
  };

  beforeAll(async () => {
    registry = await startRegistry();
    app = timeline('multi/app', 'oci');
    arm = timeline('multi/arm', 'oci');
    list = timeline('multi/list', 'docker');
    for (const t of [app, arm, list]) {
      await rebuild(t, 'linux/amd64');
      await rebuild(t, 'linux/arm64');
      await publishIndex(t);
      await pullImage(docker, ref(t));
    }
    await runContainer(docker, ref(app), names.amd);
    await runContainer(docker, ref(arm), names.arm, armLabels);
    await runContainer(docker, ref(list), names.list);
    exporter = await startExporter({
      watch: { schedule: '' },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await docker(['rm', '-f', names.amd, names.arm, names.list]).catch(() => undefined);
    await registry?.stop();
  });

  it('pulls the index, runs the amd64 image and reports every container up to date', async () => {
    await exporter.until(
      (s) => value(s, 'diun_image_update_available', image(app)) !== undefined,
      'the start-up check of the multi-arch image',
    );
    const local = await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref(app)]);
    expect(JSON.parse(local)).toContain(`${registry.host}/${app.repo}@${digestOfIndex(app, 0)}`);

    const s = await check();
    for (const t of [app, arm, list]) {
      expect(value(s, 'diun_image_update_available', image(t))).toBe(0);
    }
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.list))).toBe(0);
  });

  it('keeps the amd64 container at 0 when only arm64 is rebuilt, and flags the arm64 one', async () => {
    const before = manifestRequests(app, { method: 'GET' }).length;
    for (const t of [app, arm]) {
      await rebuild(t, 'linux/arm64');
      await publishIndex(t);
    }
    const s = await check();
    expect(value(s, 'diun_image_update_available', image(app))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(1);
    expect(value(s, 'diun_image_update_available', image(arm))).toBe(1);

    // At most the new index and the one the container runs, each fetched by its digest.
    const gets = manifestRequests(app, { method: 'GET' }).slice(before);
    expect(gets.length).toBeLessThanOrEqual(2);
    const byDigest = [0, 1].map((n) => `/v2/${app.repo}/manifests/${digestOfIndex(app, n)}`);
    for (const get of gets) expect(byDigest).toContain(get.path);
  });

  it('costs one HEAD and no GET for the repository on the next check', async () => {
    const before = manifestRequests(app).length;
    const s = await check();
    const requests = manifestRequests(app).slice(before);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `HEAD /v2/${app.repo}/manifests/1`,
    ]);
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(0);
  });

  it('clears the arm64 container once it is recreated after a pull of the new index', async () => {
    // The amd64 image did not change: the pull only adds the new index digest to its RepoDigests.
    await pullImage(docker, ref(arm));
    await docker(['rm', '-f', names.arm]);
    await runContainer(docker, ref(arm), names.arm, armLabels);
    const s = await check();
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(0);
    expect(value(s, 'diun_image_update_available', image(arm))).toBe(0);
  });

  it('ignores an attestation manifest added to the index', async () => {
    for (const t of [app, arm]) {
      await attest(t);
      await publishIndex(t);
    }
    const s = await check();
    expect(value(s, 'diun_image_update_available', image(app))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(0);
    expect(value(s, 'diun_image_update_available', image(arm))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(0);
  });

  it('makes no manifest GET on the check right after a restart: the indexes are in the state file', async () => {
    const before = registry.requests({ ...ours, method: 'GET', pathPrefix: '/v2/multi/' });
    await exporter.kill();
    await exporter.restart();
    const s = await check();
    expect(registry.requests({ ...ours, method: 'GET', pathPrefix: '/v2/multi/' })).toBe(before);
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(0);
  });

  it('flags the amd64 container when amd64 is rebuilt, and not the arm64 one', async () => {
    for (const t of [app, arm]) {
      await rebuild(t, 'linux/amd64');
      await attest(t);
      await publishIndex(t);
    }
    const s = await check();
    expect(value(s, 'diun_image_update_available', image(app))).toBe(1);
    expect(value(s, 'diun_container_update_available', container(names.amd))).toBe(1);
    expect(value(s, 'diun_container_update_available', container(names.arm))).toBe(0);
    expect(value(s, 'diun_image_update_available', image(arm))).toBe(0);
  });

  it('treats a Docker manifest list the same when only arm64 is rebuilt', async () => {
    await rebuild(list, 'linux/arm64');
    await publishIndex(list);
    const s = await check();
    expect(value(s, 'diun_image_update_available', image(list))).toBe(0);
    expect(value(s, 'diun_container_update_available', container(names.list))).toBe(0);
    // The list was looked at: its new digest was fetched, not ignored.
    const gets = manifestRequests(list, { method: 'GET' }).map((r) => r.path);
    expect(gets).toContain(`/v2/${list.repo}/manifests/${digestOfIndex(list, 1)}`);
  });
});
