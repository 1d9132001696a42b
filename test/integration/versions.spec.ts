import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/registry/reference.js';
import { fileDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { pullImage, runContainer } from '../support/images.js';
import { startLatencyProxy } from '../support/latency-proxy.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { type PushedManifest, pushPlatformImage, tagManifest } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';

// Version tracking (`diun.watch_repo`) on the real registry and the real Docker engine: the
// exporter lists the repository's tags, keeps those comparable with the running one, and says
// whether a newer one exists and which is the latest.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('newer versions of a watched repository', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  const repo = 'ver/app';
  const tags = ['1.0.0', '1.1.0', '1.2.0', '1.2.0-alpine', '2.0.0-rc.1', '1.2', 'latest'];
  const watchRepo = { 'diun.watch_repo': 'true' };
  const runs = {
    a: { name: `ver-a-${suffix}`, tag: '1.0.0', labels: watchRepo },
    b: { name: `ver-b-${suffix}`, tag: '1.2', labels: watchRepo },
    c: { name: `ver-c-${suffix}`, tag: 'latest', labels: watchRepo },
    d: {
      name: `ver-d-${suffix}`,
      tag: '1.1.0',
      labels: { ...watchRepo, 'diun.include_tags': '^1\\.1\\.' },
    },
    // The same repository, without watch_repo.
    e: { name: `ver-e-${suffix}`, tag: '1.2.0', labels: {} },
  };
  const ours = { userAgent: 'diun-exporter' };
  let registry: Registry;
  let exporter: ExporterProcess;
  let manifest: PushedManifest;

  const image = (tag: string) => ({ provider: 'docker', image: `${registry.host}/${repo}:${tag}` });
  const newer = (s: Sample[], tag: string) =>
    value(s, 'diun_image_newer_version_available', image(tag));
  const info = (s: Sample[], tag: string) => {
    const series = find(s, 'diun_image_latest_version_info', image(tag));
    // One series per image: the one before a change is gone.
    expect(series.length).toBeLessThanOrEqual(1);
    return series[0];
  };
  const tagRequests = () =>
    registry.requestLines({ ...ours, method: 'GET', pathPrefix: `/v2/${repo}/tags/list` });
  const tagsCounted = (s: Sample[]) =>
    find(s, 'diun_registry_requests_total', { kind: 'tags' }).reduce((n, x) => n + x.value, 0);

  /** Runs a check through the API and scrapes; the registry's log is let settle first. */
  const check = async (): Promise<Sample[]> => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    await sleep(300);
    return exporter.scrape();
  };

  /** Runs a check and asserts that it listed the tags of `ver/app` once (pages followed). */
  const checkListingOnce = async (): Promise<Sample[]> => {
    const before = tagRequests().length;
    const countedBefore = tagsCounted(await exporter.scrape());
    const s = await check();
    const listing = tagRequests().slice(before);
    // A listing starts without `last=`; its further pages carry the `last=` of the Link header.
    expect(listing.filter((r) => !r.path.includes('last=')).length).toBe(1);
    for (const page of listing) expect(page.status).toBe(200);
    expect(tagsCounted(s) - countedBefore).toBe(listing.length);
    return s;
  };

  beforeAll(async () => {
    registry = await startRegistry();
    manifest = await pushPlatformImage(registry.url, repo, { os: 'linux', architecture: 'amd64' });
    for (const tag of tags) await tagManifest(registry.url, repo, tag, manifest);
    for (const run of Object.values(runs)) {
      const ref = `${registry.host}/${repo}:${run.tag}`;
      await pullImage(docker, ref);
      await runContainer(docker, ref, run.name, run.labels);
    }
    exporter = await startExporter({
      watch: { schedule: '' },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
    await exporter.until(
      (s) => value(s, 'diun_image_update_available', image(runs.a.tag)) !== undefined,
      'the start-up check of ver/app',
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    const names = Object.values(runs).map((r) => r.name);
    await docker(['rm', '-f', ...names]).catch(() => undefined);
    await registry?.stop();
  });

  it('tells 1.0.0 that 1.2.0 is out, a minor step, and lists the tags once for four containers', async () => {
    const s = await checkListingOnce();
    expect(newer(s, '1.0.0')).toBe(1);
    expect(info(s, '1.0.0')?.labels).toMatchObject({
      current_version: '1.0.0',
      latest_version: '1.2.0',
      semver_diff: 'minor',
    });
    expect(info(s, '1.0.0')?.value).toBe(1);
  });

  it('compares 1.2 only with two-component tags: nothing newer', async () => {
    const s = await check();
    expect(newer(s, '1.2')).toBe(0);
    // Nothing newer: the running tag is the latest, with no step named.
    expect(info(s, '1.2')?.labels).toMatchObject({
      current_version: '1.2',
      latest_version: '1.2',
      semver_diff: '',
    });
  });

  it('gives latest no version series, since latest is not a version', async () => {
    const s = await check();
    // docs/versions.md: a running tag that is not a version has neither series.
    expect(newer(s, 'latest')).toBeUndefined();
    expect(info(s, 'latest')).toBeUndefined();
    // The digest check of latest still ran.
    expect(value(s, 'diun_image_update_available', image('latest'))).toBe(0);
  });

  it('keeps 1.1.0 at 0 when include_tags lets nothing newer through', async () => {
    const s = await check();
    expect(newer(s, '1.1.0')).toBe(0);
    expect(info(s, '1.1.0')?.labels).toMatchObject({
      current_version: '1.1.0',
      latest_version: '1.1.0',
      semver_diff: '',
    });
  });

  it('publishes no version series for a container without watch_repo', async () => {
    const s = await check();
    expect(value(s, 'diun_image_update_available', image(runs.e.tag))).toBe(0);
    expect(newer(s, runs.e.tag)).toBeUndefined();
    expect(info(s, runs.e.tag)).toBeUndefined();
  });

  it('moves latest_version to 1.3.0 once it is pushed', async () => {
    await tagManifest(registry.url, repo, '1.3.0', manifest);
    const s = await checkListingOnce();
    expect(newer(s, '1.0.0')).toBe(1);
    expect(info(s, '1.0.0')?.labels).toMatchObject({
      current_version: '1.0.0',
      latest_version: '1.3.0',
      semver_diff: 'minor',
    });
    expect(newer(s, '1.2')).toBe(0);
    expect(newer(s, '1.1.0')).toBe(0);
  });

  it("follows the registry's Link pages to the last tag when it lists 2 tags a page", async () => {
    const proxy = await startLatencyProxy(registry.host);
    proxy.tagsPageSize = 2;
    const client = new RegistryClient();
    try {
      const ref = parseReference(`${proxy.host}/${repo}:1.0.0`);
      const listed = await client.listTags(ref, { timeoutMs: 5_000, insecureTLS: false });
      expect([...listed].sort()).toEqual([...tags, '1.3.0'].sort());
      const pages = proxy.seen.filter((r) => r.startsWith(`GET /v2/${repo}/tags/list`));
      // 8 tags at 2 a page: 4 pages, each after the first asked for with the registry's `last=`.
      expect(pages).toHaveLength(4);
      expect(pages.slice(1).every((p) => p.includes('last='))).toBe(true);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
