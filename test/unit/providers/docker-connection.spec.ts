import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../src/providers/docker-connection.js';
import { listenOnLoopback } from '../../support/exec.js';
import { suiteTeardown } from '../../support/teardown.js';
import { selfSignedCertificate } from '../../support/tls-certs.js';

// A TLS endpoint with a self-signed certificate that no CA in ca.pem vouches for, answering
// Docker's /_ping, so tlsVerify is exercised on a real TLS handshake.
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
      (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'),
    );
    const { port } = stops.add(await listenOnLoopback(server), (l) => l.close());
    endpoint = `tcp://127.0.0.1:${port}`;
  });

  it('refuses a daemon certificate the CA does not sign when tlsVerify is true', async () => {
    const docker = new Dockerode(
      connectionOptions({ name: 'tls', endpoint, tlsCertsPath: dir, tlsVerify: true }),
    );
    await expect(docker.ping()).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('speaks TLS without verifying the daemon when tlsVerify is false', async () => {
    const docker = new Dockerode(
      connectionOptions({ name: 'tls', endpoint, tlsCertsPath: dir, tlsVerify: false }),
    );
    expect(String(await docker.ping())).toBe('OK');
  });
});
