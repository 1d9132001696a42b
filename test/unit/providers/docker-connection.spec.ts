import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerApi } from '../../../src/providers/docker-api.js';
import { describeDockerError, dockerStatus } from '../../../src/providers/docker-connection.js';
import { listenOnLoopback } from '../../support/exec.js';
import { suiteTeardown } from '../../support/teardown.js';
import { selfSignedCertificate } from '../../support/tls-certs.js';

const limits = { connections: 2, connectTimeoutMs: 5000 };

// A TLS endpoint with a self-signed certificate that no CA in ca.pem vouches for, answering
// Docker's /version, so tlsVerify is exercised on a real TLS handshake.
describe('Docker TLS endpoint and tlsVerify', () => {
  const stops = suiteTeardown();
  let dir: string;
  let endpoint: string;

  beforeAll(async () => {
    dir = stops.add(await mkdtemp(join(tmpdir(), 'docker-tls-')), (d) =>
      rm(d, { recursive: true, force: true }),
    );
    const daemon = await selfSignedCertificate(dir, 'daemon', [], {
      key: 'server-key.pem',
      cert: 'server.pem',
    });
    const client = await selfSignedCertificate(dir, 'client');
    // ca.pem holds an unrelated certificate: the daemon's is not signed by it.
    await copyFile(client.certFile, join(dir, 'ca.pem'));
    const server = createServer(
      { key: await readFile(daemon.keyFile), cert: await readFile(daemon.certFile) },
      (_req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"Os":"linux","Arch":"arm64"}'),
    );
    const { port } = stops.add(await listenOnLoopback(server), (l) => l.close());
    endpoint = `tcp://127.0.0.1:${port}`;
  });

  it('refuses a daemon certificate the CA does not sign when tlsVerify is true', async () => {
    const docker = new DockerApi(
      { name: 'tls', endpoint, tlsCertsPath: dir, tlsVerify: true },
      limits,
    );
    await expect(docker.version()).rejects.toThrow(/self[- ]signed|certificate/i);
    docker.close();
  });

  it('speaks TLS without verifying the daemon when tlsVerify is false', async () => {
    const docker = new DockerApi(
      { name: 'tls', endpoint, tlsCertsPath: dir, tlsVerify: false },
      limits,
    );
    expect(await docker.version()).toEqual({ Os: 'linux', Arch: 'arm64' });
    docker.close();
  });
});

// The daemon answers errors as `{"message": ...}`; docker-socket-proxy answers HAProxy's page.
describe('Docker API errors', () => {
  const stops = suiteTeardown();
  let api: DockerApi;

  beforeAll(async () => {
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith('/images/')) {
        res.writeHead(403, { 'content-type': 'text/html' });
        return res.end(
          '<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n',
        );
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `No such container: ${req.url?.split('/')[2]}` }));
    });
    const { port } = stops.add(await listenOnLoopback(server), (l) => l.close());
    api = stops.add(
      new DockerApi(
        { name: 'local', endpoint: `tcp://127.0.0.1:${port}`, tlsVerify: true },
        limits,
      ),
      (a) => a.close(),
    );
  });

  it('names the call, the status and the daemon message', async () => {
    const err = await api.inspectContainer('0123456789abcdef').catch((e: unknown) => e);
    expect(dockerStatus(err)).toBe(404);
    expect(describeDockerError('container inspect 0123456789ab', err).message).toBe(
      'container inspect 0123456789ab: HTTP 404 No such container: 0123456789abcdef',
    );
  });

  it('strips a proxy page to its text and says what the proxy must allow', async () => {
    const err = await api.inspectImage(`sha256:${'0123456789ab'.repeat(5)}0123`).catch((e) => e);
    expect(describeDockerError('image inspect sha256:0123456789ab', err).message).toBe(
      'image inspect sha256:0123456789ab: HTTP 403 Forbidden Request forbidden by administrative rules. (refused by a socket proxy? it must allow CONTAINERS=1 IMAGES=1 EVENTS=1)',
    );
  });
});
