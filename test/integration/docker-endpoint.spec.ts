import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dockerd, startDockerd } from '../support/dockerd.js';
import { type ExporterProcess, startDockerExporter } from '../support/exporter.js';
import { publish, runContainer } from '../support/images.js';
import { value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { type SocketProxy, startSocketProxy } from '../support/socket-proxy.js';
import { suiteTeardown } from '../support/teardown.js';

// Behind a read-only socket proxy over tcp://, as users run it; the daemon goes away and comes
// back, and the exporter follows with diun_provider_up and its events stream.
describe('docker endpoint behind a read-only socket proxy', () => {
  const suffix = randomUUID().slice(0, 8);
  const name = `proxied-${suffix}`;
  const stops = suiteTeardown();
  let dockerd: Dockerd;
  let registry: Registry;
  let proxy: SocketProxy;
  let exporter: ExporterProcess;
  let image: string;
  const up = () => ({ provider: 'docker', endpoint: 'local' });

  beforeAll(async () => {
    dockerd = stops.add(await startDockerd(), (d) => d.cleanup());
    registry = stops.add(await startRegistry(), (r) => r.stop());
    image = `${registry.host}/proxied/app:1.0`;
    await publish(dockerd.docker, image, `proxied ${suffix}`);
    // restart=always brings the container back when the daemon does.
    await runContainer(dockerd.docker, image, name, {}, { restart: 'always' });
    // The proxy of the moment is closed: a test replaces it.
    proxy = stops.add(await startSocketProxy(dockerd.host), () => proxy.close());
    exporter = stops.add(await startDockerExporter(proxy.endpoint), (e) => e.stop());
  });

  it('needs nothing but reads of containers, images, events, version and ping', async () => {
    const s = await exporter.until(
      (s) => value(s, 'diun_container_update_available', { container: name }) === 0,
      'the proxied container to be checked',
    );
    expect(value(s, 'diun_provider_up', up())).toBe(1);
    expect(proxy.refused).toEqual([]);
    expect(proxy.allowed.some((l) => l.includes('/events'))).toBe(true);
  });

  it('keeps the last picture while the proxy is unreachable, and reconnects', async () => {
    const port = Number(new URL(proxy.endpoint.replace('tcp:', 'http:')).port);
    await proxy.close();
    const s = await exporter.until(
      (s) => value(s, 'diun_provider_up', up()) === 0,
      'diun_provider_up to fall to 0 with the socket proxy gone',
    );
    expect(value(s, 'diun_container_update_available', { container: name })).toBe(0);
    expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
    proxy = await startSocketProxy(dockerd.host, port);
    await exporter.until(
      (s) => value(s, 'diun_provider_up', up()) === 1,
      'diun_provider_up to return to 1 with the proxy back',
      45_000,
    );
  });

  it('follows the daemon through a restart', async () => {
    await dockerd.stop();
    await exporter.until(
      (s) => value(s, 'diun_provider_up', up()) === 0,
      'diun_provider_up to fall to 0 with the daemon stopped',
    );
    await dockerd.restart();
    await exporter.until(
      (s) =>
        value(s, 'diun_provider_up', up()) === 1 &&
        value(s, 'diun_container_update_available', { container: name }) === 0,
      'the provider and the restarted container to come back',
      45_000,
    );
    // The events stream is followed again: a new container shows up within seconds.
    const second = `proxied-2-${suffix}`;
    await dockerd.docker(['run', '-d', '--stop-signal', 'SIGKILL', '--name', second, image]);
    await exporter.until(
      (s) => value(s, 'diun_container_update_available', { container: second }) === 0,
      `${second}, started after the restart, to appear through the events stream`,
      10_000,
    );
    expect(proxy.refused).toEqual([]);
  });
});
