import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCli, fileDockerd, startDockerd } from '../support/dockerd.js';
import { buildLocalImage, publish, runContainer } from '../support/images.js';
import { type Registry, startRegistry } from '../support/registry.js';

// Proves the test harness itself: a file's own dockerd, a real registry, images and containers.
// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('test harness', () => {
  let docker: DockerCli;
  let registry: Registry;
  const containers: string[] = [];

  beforeAll(async () => {
    docker = dockerd.docker;
    registry = await startRegistry();
  });

  afterAll(async () => {
    if (containers.length > 0) await docker(['rm', '-f', ...containers]);
    await registry?.stop();
  });

  it("reaches the file's own dockerd", async () => {
    expect(await docker(['version', '--format', '{{.Server.Version}}'])).toMatch(/^\d+\.\d+/);
  });

  it('publishes an image whose local copy has RepoDigests, and logs each request', async () => {
    const ref = `${registry.host}/team/app:1.0`;
    await publish(docker, ref, 'harness 1');

    const digests = JSON.parse(
      await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]),
    ) as string[];
    expect(digests).toEqual([
      expect.stringMatching(`^${registry.host}/team/app@sha256:[0-9a-f]{64}$`),
    ]);

    // The push stores the manifest under its tag; the pull resolves the tag with one HEAD, then
    // GETs the manifest by digest (the pattern the exporter's HEAD-only checks rely on).
    const manifests = '/v2/team/app/manifests/';
    expect(registry.requests({ method: 'PUT', pathPrefix: `${manifests}1.0` })).toBe(1);
    expect(registry.requests({ method: 'HEAD', pathPrefix: `${manifests}1.0` })).toBe(1);
    expect(registry.requests({ method: 'GET', pathPrefix: `${manifests}1.0` })).toBe(0);
    expect(registry.requests({ method: 'GET', pathPrefix: `${manifests}sha256:` })).toBe(1);
    expect(registry.requests({ userAgent: 'docker/' })).toBe(registry.requestLines().length - 1);

    const id = await runContainer(docker, ref, `harness-${Date.now()}`, { 'diun.enable': 'true' });
    containers.push(id);
    const state = await docker([
      'inspect',
      '--format',
      '{{.State.Status}} {{json .Config.Labels}}',
      id,
    ]);
    expect(state.trim()).toBe('running {"diun.enable":"true"}');
  });

  it('restarts a private dockerd, keeping its containers', async () => {
    const own = await startDockerd();
    try {
      await buildLocalImage(own.docker, 'local/app:dev');
      const digests = await own.docker([
        'image',
        'inspect',
        '--format',
        '{{json .RepoDigests}}',
        'local/app:dev',
      ]);
      expect(digests.trim()).toBe('[]');
      const id = await runContainer(own.docker, 'local/app:dev', 'survivor');

      await own.restart();

      const listed = await own.docker(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}']);
      expect(listed.trim()).toBe(`${id} survivor`);
    } finally {
      await own.cleanup();
    }
  });
});
