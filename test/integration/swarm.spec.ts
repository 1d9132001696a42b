import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dockerd, startDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { makeImage, publish, pushImage } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';

// A real single-node swarm on a private dockerd: services pin `repo:tag@sha256:...`, and the
// exporter compares the tag's digest in the registry with the pinned one.
describe('swarm provider against a real single-node swarm', () => {
  const suffix = randomUUID().slice(0, 8);
  const watched = `svc-${suffix}`;
  const unlabelled = `plain-${suffix}`;
  let dockerd: Dockerd;
  let registry: Registry;
  let exporter: ExporterProcess;
  let image: string;
  const swarm = { provider: 'swarm', endpoint: 'swarm' };

  const check = async () => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    dockerd = await startDockerd();
    registry = await startRegistry();
    image = `${registry.host}/swarm/app:1.0`;
    await publish(dockerd.docker, image, `swarm one ${suffix}`);
    await dockerd.docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    // The CLI asks the registry for the tag's digest and pins it in the service spec.
    await dockerd.docker([
      'service',
      'create',
      '--detach',
      '--name',
      watched,
      '--label',
      'diun.enable=true',
      image,
    ]);
    await dockerd.docker(['service', 'create', '--detach', '--name', unlabelled, image]);
    exporter = await startExporter({
      watch: { schedule: '', workers: 2 },
      providers: { swarm: { endpoint: dockerd.host, watchByDefault: false } },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await dockerd?.docker(['swarm', 'leave', '--force']).catch(() => undefined);
    await dockerd?.cleanup();
    await registry?.stop();
  });

  it('pins the digest in the service spec (the premise of the comparison)', async () => {
    const spec = await dockerd.docker([
      'service',
      'inspect',
      watched,
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
    ]);
    expect(spec.trim()).toMatch(
      new RegExp(`^${image.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}$`),
    );
  });

  it('reports a labelled service as up to date, and not a service without diun.enable', async () => {
    const s = await exporter.until(
      (s) => value(s, 'diun_container_update_available', { ...swarm, container: watched }) === 0,
      `service ${watched} to be reported up to date`,
    );
    expect(value(s, 'diun_provider_up', swarm)).toBe(1);
    expect(value(s, 'diun_image_update_available', { provider: 'swarm', image })).toBe(0);
    expect(value(s, 'diun_container_update_available', { container: unlabelled })).toBeUndefined();
  });

  it('is outdated once the tag moves in the registry', async () => {
    await makeImage(dockerd.docker, image, { variant: `swarm two ${suffix}` });
    await pushImage(dockerd.docker, image);
    await check();
    const s = await exporter.until(
      (s) => value(s, 'diun_container_update_available', { ...swarm, container: watched }) === 1,
      `service ${watched} to be outdated after the push`,
    );
    expect(value(s, 'diun_image_update_available', { provider: 'swarm', image })).toBe(1);
  });

  it('is back to 0 after `docker service update --image` pins the new digest', async () => {
    await dockerd.docker(['service', 'update', '--detach', '--image', image, watched]);
    await check();
    const s = await exporter.until(
      (s) => value(s, 'diun_container_update_available', { ...swarm, container: watched }) === 0,
      `service ${watched} to be up to date after service update --image`,
    );
    expect(value(s, 'diun_image_update_available', { provider: 'swarm', image })).toBe(0);
  });

  it('follows service events: a service created or removed shows with no check asked', async () => {
    const later = `later-${suffix}`;
    await dockerd.docker([
      'service',
      'create',
      '--detach',
      '--name',
      later,
      '--label',
      'diun.enable=true',
      image,
    ]);
    await exporter.until(
      (s) => value(s, 'diun_container_update_available', { ...swarm, container: later }) === 0,
      `service ${later}, created after the last check, to appear through the events stream`,
    );
    await dockerd.docker(['service', 'rm', later]);
    await exporter.until(
      (s) =>
        value(s, 'diun_container_update_available', { ...swarm, container: later }) === undefined,
      `service ${later} to disappear once removed`,
    );
  });

  it('reports diun_provider_up 0 when the daemon is unreachable, keeping the last services', async () => {
    await dockerd.stop();
    await check();
    const s = await exporter.until(
      (s) => value(s, 'diun_provider_up', swarm) === 0,
      'diun_provider_up{provider="swarm"} to fall to 0 with the daemon stopped',
    );
    // The services last seen keep their series while the manager is away.
    expect(value(s, 'diun_container_update_available', { ...swarm, container: watched })).toBe(0);
  });
});
