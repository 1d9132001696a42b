import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dockerd, startDockerd } from '../support/dockerd.js';
import { freePort } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import { publish, pullImage, runContainer } from '../support/images.js';
import { find, value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { makeDockerTlsCerts } from '../support/tls-certs.js';

// One exporter, two Docker hosts (two real dockerd on their own sockets and data roots)
// running the same image. The `endpoint` label names the host; the shared reference is asked
// once a run; with one host stopped the other keeps reporting.
describe('two docker endpoints in one exporter', () => {
  const suffix = randomUUID().slice(0, 8);
  const onA = `multi-a-${suffix}`;
  const onB = `multi-b-${suffix}`;
  let hostA: Dockerd;
  let hostB: Dockerd;
  let registry: Registry;
  let exporter: ExporterProcess;
  let image: string;

  beforeAll(async () => {
    [hostA, hostB, registry] = await Promise.all([startDockerd(), startDockerd(), startRegistry()]);
    image = `${registry.host}/multi/app:1.0`;
    await publish(hostA.docker, image, `multi ${suffix}`);
    await pullImage(hostB.docker, image);
    await runContainer(hostA.docker, image, onA);
    await runContainer(hostB.docker, image, onB);
    exporter = await startExporter({
      watch: { schedule: '', workers: 4 },
      providers: {
        docker: {
          watchByDefault: true,
          endpoints: [
            { name: 'host-a', endpoint: hostA.host },
            { name: 'host-b', endpoint: hostB.host },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await registry?.stop();
    await Promise.all([hostA?.cleanup(), hostB?.cleanup()]);
  });

  const container = (name: string, endpoint: string) => ({ container: name, endpoint });
  const up = (endpoint: string) => ({ provider: 'docker', endpoint });

  it('names each host in the endpoint label and asks the shared reference once a run', async () => {
    const s = await exporter.until(
      (s) =>
        value(s, 'diun_container_update_available', container(onA, 'host-a')) === 0 &&
        value(s, 'diun_container_update_available', container(onB, 'host-b')) === 0,
      'a container series for each host',
    );
    expect(value(s, 'diun_provider_up', up('host-a'))).toBe(1);
    expect(value(s, 'diun_provider_up', up('host-b'))).toBe(1);
    // One image series for the reference, whichever host runs it.
    expect(find(s, 'diun_image_update_available', { image })).toHaveLength(1);

    const heads = () =>
      registry.requests({ method: 'HEAD', pathIncludes: '/multi/app/manifests/1.0' });
    const before = heads();
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(heads() - before).toBe(1);
  });

  it('keeps reporting the other host while one is stopped, and says which is down', async () => {
    await hostB.stop();
    const s = await exporter.until(
      (s) => value(s, 'diun_provider_up', up('host-b')) === 0,
      'diun_provider_up for host-b to fall to 0 with its daemon stopped',
    );
    expect(value(s, 'diun_provider_up', up('host-a'))).toBe(1);

    // A run still checks host-a's containers and answers.
    const before = registry.requests({ method: 'HEAD', pathIncludes: '/multi/app/manifests/' });
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(registry.requests({ method: 'HEAD', pathIncludes: '/multi/app/manifests/' })).toBe(
      before + 1,
    );
    const after = await exporter.scrape();
    expect(value(after, 'diun_container_update_available', container(onA, 'host-a'))).toBe(0);
    expect(value(after, 'diun_provider_up', up('host-a'))).toBe(1);
    expect(value(after, 'diun_provider_up', up('host-b'))).toBe(0);

    // Back up: host-b reports again.
    await hostB.restart();
    await exporter.until(
      (s) => value(s, 'diun_provider_up', up('host-b')) === 1,
      'diun_provider_up for host-b to return to 1',
      45_000,
    );
  });
});

// A daemon on tcp:// with --tlsverify, as a remote Docker host is exposed: the exporter's
// endpoint with `tlsCertsPath` (ca.pem, cert.pem, key.pem) gets in; one whose certificates come
// from another CA does not, and only that endpoint is down.
describe('a docker endpoint over TLS with client certificates', () => {
  const suffix = randomUUID().slice(0, 8);
  const name = `tls-${suffix}`;
  let certs: string;
  let otherCa: string;
  let dockerd: Dockerd;
  let registry: Registry;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    [certs, otherCa] = await Promise.all([
      mkdtemp(join(tmpdir(), 'docker-tls-')),
      mkdtemp(join(tmpdir(), 'docker-tls-other-')),
    ]);
    await Promise.all([makeDockerTlsCerts(certs), makeDockerTlsCerts(otherCa)]);
    const port = await freePort();
    [dockerd, registry] = await Promise.all([
      startDockerd({
        extraArgs: [
          `--host=tcp://127.0.0.1:${port}`,
          '--tlsverify',
          `--tlscacert=${join(certs, 'ca.pem')}`,
          `--tlscert=${join(certs, 'server-cert.pem')}`,
          `--tlskey=${join(certs, 'server-key.pem')}`,
        ],
      }),
      startRegistry(),
    ]);
    const image = `${registry.host}/tls/app:1.0`;
    await publish(dockerd.docker, image, `tls ${suffix}`);
    await runContainer(dockerd.docker, image, name);
    const endpoint = `tcp://127.0.0.1:${port}`;
    exporter = await startExporter({
      watch: { schedule: '', workers: 2 },
      providers: {
        docker: {
          watchByDefault: true,
          endpoints: [
            { name: 'tls', endpoint, tlsCertsPath: certs },
            { name: 'other-ca', endpoint, tlsCertsPath: otherCa },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await registry?.stop();
    await dockerd?.cleanup();
    await Promise.all([certs, otherCa].map((d) => d && rm(d, { recursive: true, force: true })));
  });

  it('reads the daemon with the right certificates and is down with the wrong ones', async () => {
    const s = await exporter.until(
      (s) =>
        value(s, 'diun_container_update_available', { container: name, endpoint: 'tls' }) === 0 &&
        value(s, 'diun_provider_up', { provider: 'docker', endpoint: 'other-ca' }) === 0,
      'the TLS endpoint to report its container and the other-CA endpoint to be down',
    );
    expect(value(s, 'diun_provider_up', { provider: 'docker', endpoint: 'tls' })).toBe(1);
    expect(find(s, 'diun_container_update_available', { endpoint: 'other-ca' })).toEqual([]);
  });
});
