import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCli, fileDockerd, loggedInDockerCli } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { publish, runContainer } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import { startTokenRegistry, type TokenRegistry } from '../support/token-service.js';

const pusher = { name: 'pusher', password: `push-${randomUUID()}` };
const puller = { name: 'puller', password: `pull-${randomUUID()}` };

/** A registry behind a Docker Hub-style token service, and a docker CLI logged in as pusher. */
async function tokenRegistry(anonymous: boolean) {
  const started = await startTokenRegistry({
    anonymous,
    users: {
      [pusher.name]: { password: pusher.password, push: true },
      [puller.name]: { password: puller.password },
    },
  });
  const dockerConfig = mkdtempSync(join(tmpdir(), 'docker-config-'));
  const docker = await loggedInDockerCli(dockerd.host, dockerConfig, started.registry.host, pusher);
  return { ...started, docker };
}

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('registry behind a Docker Hub-style token service', () => {
  const suffix = randomUUID().slice(0, 8);
  const containers: string[] = [];
  let open: TokenRegistry & { docker: DockerCli };
  let closed: TokenRegistry & { docker: DockerCli };
  const exporters: ExporterProcess[] = [];
  const publicImages: string[] = [];
  let privateImage: string;

  beforeAll(async () => {
    open = await tokenRegistry(true);
    closed = await tokenRegistry(false);
    for (let i = 0; i < 3; i++) {
      const image = `${open.registry.host}/public/app${i}:1.0`;
      publicImages.push(image);
      await publish(open.docker, image, `public ${suffix} ${i}`);
      containers.push(`pub-${i}-${suffix}`);
      await runContainer(open.docker, image, containers.at(-1)!);
    }
    // A second container on the same image: still one request for the reference.
    containers.push(`pub-0b-${suffix}`);
    await runContainer(open.docker, publicImages[0]!, containers.at(-1)!);
    privateImage = `${closed.registry.host}/private/app:1.0`;
    await publish(closed.docker, privateImage, `private ${suffix}`);
    containers.push(`priv-${suffix}`);
    await runContainer(closed.docker, privateImage, containers.at(-1)!);
  });

  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await dockerd.docker(['rm', '-f', ...containers]).catch(() => undefined);
    for (const r of [open, closed]) await r?.stop();
  });

  async function exporterWith(regopts: unknown[]): Promise<ExporterProcess> {
    const e = await startExporter({
      watch: { schedule: '', workers: 4 },
      regopts,
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true } },
    });
    exporters.push(e);
    return e;
  }

  const check = async (e: ExporterProcess) => {
    const res = await fetch(`${e.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
  };

  it('asks each reference once per run, and in steady state makes one HEAD and no token request', async () => {
    const passwordFile = join(mkdtempSync(join(tmpdir(), 'secret-')), 'password');
    writeFileSync(passwordFile, `${puller.password}\n`);
    const e = await exporterWith([
      {
        name: closed.registry.host,
        selector: 'image',
        username: puller.name,
        passwordFile,
      },
    ]);
    await e.until(
      (s) => value(s, 'diun_image_last_check_status', { image: privateImage, status: 'new' }) === 1,
      'the first run over both registries',
    );
    const ours = { userAgent: 'diun-exporter' };
    const heads = () => open.registry.requests({ ...ours, method: 'HEAD' });
    const all = () => open.registry.requests(ours);
    // First run: one HEAD per unique reference, though one of them runs in two containers.
    expect(heads()).toBe(publicImages.length);

    const before = { heads: heads(), all: all(), tokens: open.tokens.requests() };
    await check(e);
    expect(heads() - before.heads).toBe(publicImages.length);
    expect(all() - before.all).toBe(publicImages.length);
    // No manifest GET at all (Docker Hub counts those as pulls); the one GET is the /v2/ ping.
    expect(open.registry.requests({ ...ours, method: 'GET', pathIncludes: '/manifests/' })).toBe(0);
    expect(open.registry.requests({ ...ours, method: 'GET' })).toBe(1);
    expect(open.tokens.requests()).toBe(before.tokens);

    const s = await e.scrape();
    for (const image of [...publicImages, privateImage]) {
      expect(value(s, 'diun_image_last_check_status', { image, status: 'unchange' })).toBe(1);
    }
    expect(
      value(s, 'diun_registry_requests_total', {
        registry: open.registry.host,
        kind: 'manifest_head',
        code: '200',
      }),
    ).toBe(2 * publicImages.length);
    // The secret went to the token service, and nowhere a user can read.
    const api = await (await fetch(`${e.url}/api/v1/images`)).text();
    for (const text of [e.output(), api, await e.scrapeText()]) {
      expect(text).not.toContain(puller.password);
    }
  });

  it('reports a private image as an auth failure when no credentials are configured', async () => {
    const e = await exporterWith([]);
    const s = await e.until(
      (s) =>
        value(s, 'diun_image_last_check_status', { image: privateImage, status: 'error' }) === 1,
      'the private image to fail with an auth error',
    );
    expect(
      value(s, 'diun_image_check_failures_total', { provider: 'docker', reason: 'auth' }),
    ).toBe(1);
    // Anonymous pull tokens still work on the public registry.
    for (const image of publicImages) {
      expect(value(s, 'diun_image_last_check_status', { image, status: 'error' })).toBe(0);
    }
    const api = (await (await fetch(`${e.url}/api/v1/images`)).json()) as {
      images: Array<{ image: string; lastErrorReason: string; lastError: string }>;
    };
    const row = api.images.find((i) => i.image === privateImage)!;
    expect(row.lastErrorReason).toBe('auth');
    expect(row.lastError).toMatch(/private\/app/);
  });
});
