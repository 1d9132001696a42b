import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionOptions } from '../../../src/providers/docker-connection.js';
import { run } from '../../support/exec.js';

// A TLS endpoint with a self-signed certificate that no CA in ca.pem vouches for, answering
// Docker's /_ping, so tlsVerify is exercised on a real TLS handshake.
describe('Docker TLS endpoint and tlsVerify', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'docker-tls-'));
    const openssl = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'];
    await run('openssl', [
      ...openssl,
      '-subj',
      '/CN=daemon',
      '-keyout',
      join(dir, 'server-key.pem'),
      '-out',
      join(dir, 'server.pem'),
    ]);
    await run('openssl', [
      ...openssl,
      '-subj',
      '/CN=client',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    // ca.pem holds an unrelated certificate: the daemon's is not signed by it.
    await writeFile(join(dir, 'ca.pem'), await readFile(join(dir, 'cert.pem')));
    server = createServer(
      {
        key: await readFile(join(dir, 'server-key.pem')),
        cert: await readFile(join(dir, 'server.pem')),
      },
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
