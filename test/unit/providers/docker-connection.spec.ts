import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../src/providers/docker-connection.js';
import { selfSignedCertificate } from '../../support/tls-certs.js';

// A TLS endpoint with a self-signed certificate that no CA in ca.pem vouches for, answering
// Docker's /_ping, so tlsVerify is exercised on a real TLS handshake.
describe('Docker TLS endpoint and tlsVerify', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'docker-tls-'));
    const daemon = await selfSignedCertificate(dir, 'daemon', [], {
      key: 'server-key.pem',
      cert: 'server.pem',
    });
    const client = await selfSignedCertificate(dir, 'client');
    // ca.pem holds an unrelated certificate: the daemon's is not signed by it.
    await copyFile(client.certFile, join(dir, 'ca.pem'));
    server = createServer(
      { key: await readFile(daemon.keyFile), cert: await readFile(daemon.certFile) },
      (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
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
