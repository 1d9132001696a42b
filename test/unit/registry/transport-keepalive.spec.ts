import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Transport, type TransportRequest } from '../../../src/registry/transport.js';
import { serveForTest } from '../../support/teardown.js';

// A steady-state run is nothing but manifest HEADs: each must not cost a new connection (a TCP
// and, over HTTPS, a TLS handshake against a remote registry). undici closes after a HEAD
// unless told otherwise, so this pins that the transport tells it.
describe('Transport connection reuse', () => {
  it('sends 20 HEADs and 5 GETs, one after another, over the same few connections', async () => {
    let connections = 0;
    const connectionHeaders: string[] = [];
    const server = createServer((req, res) => {
      connectionHeaders.push(String(req.headers.connection));
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        'content-length': '2',
        'docker-content-digest': `sha256:${'a'.repeat(64)}`,
      });
      res.end(req.method === 'HEAD' ? undefined : '{}');
    });
    server.on('connection', () => connections++);
    const { host } = await serveForTest(server);
    const url = new URL(`http://${host}/v2/x/manifests/1`);
    const transport = new Transport('test');
    onTestFinished(() => transport.close());
    const req = (method: 'HEAD' | 'GET'): TransportRequest => ({
      registry: 'r1',
      kind: method === 'HEAD' ? 'manifest_head' : 'manifest_get',
      method,
      url,
      headers: {},
      timeoutMs: 5_000,
      insecureTLS: false,
      maxBytes: 1024,
      describe: `${method} r1/x:1`,
    });
    for (let i = 0; i < 20; i++) expect((await transport.send(req('HEAD'))).status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await transport.send(req('GET'))).body.toString()).toBe('{}');
    expect(connectionHeaders).toHaveLength(25);
    expect(connectionHeaders.filter((h) => h === 'close')).toEqual([]);
    // undici may open a second connection while the first answer is being wound up; without
    // reuse it would be one per HEAD (20 here).
    expect(connections).toBeLessThanOrEqual(2);
  });
});
