import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Transport, type TransportRequest } from '../../../src/registry/transport.js';
import { serveForTest } from '../../support/teardown.js';

// A regopt's `timeout` as Diun reads it: a duration bounds each request, `0s` (Diun's default)
// bounds none. The registry here answers after a pause of 300 ms.
describe('Transport timeout', () => {
  const start = async () => {
    const server = createServer((_req, res) => {
      setTimeout(() => res.writeHead(200, { 'docker-content-digest': 'sha256:ab' }).end(), 300);
    });
    const { host } = await serveForTest(server);
    const transport = new Transport('test');
    onTestFinished(() => transport.close());
    const req = (timeoutMs: number): TransportRequest => ({
      registry: host,
      kind: 'manifest_head',
      method: 'HEAD',
      url: new URL(`http://${host}/v2/x/manifests/1`),
      headers: {},
      timeoutMs,
      insecureTLS: false,
      maxBytes: 1024,
      describe: `HEAD ${host}/x:1`,
    });
    return { transport, req };
  };

  it('waits as long as the registry takes when the timeout is 0s', async () => {
    const { transport, req } = await start();
    const res = await transport.send(req(0));
    expect(res.status).toBe(200);
    expect(res.headers['docker-content-digest']).toBe('sha256:ab');
  });

  it('fails as `timeout` when the registry takes longer than a timeout that is set', async () => {
    const { transport, req } = await start();
    await expect(transport.send(req(50))).rejects.toMatchObject({
      reason: 'timeout',
      message: expect.stringMatching(/: no complete answer within 50ms$/),
    });
  });
});
