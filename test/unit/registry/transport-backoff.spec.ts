import { createServer } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RegistryError } from '../../../src/registry/errors.js';
import { RegistryGate } from '../../../src/registry/limiter.js';
import { Transport, type TransportRequest } from '../../../src/registry/transport.js';
import { serveForTest } from '../../support/teardown.js';

// The transport against a local server that answers 429 as told: retries stay bounded, a
// pause is honoured by later requests to the same registry only, and no request is sent while
// the registry asked for more than the request's budget. Back-off steps are 20 ms here.
describe('Transport on 429', () => {
  const start = async (answer: (n: number) => { status: number; retryAfter?: string }) => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      const a = answer(seen.length);
      res.writeHead(a.status, a.retryAfter ? { 'retry-after': a.retryAfter } : {});
      res.end('{}');
    });
    const { host } = await serveForTest(server);
    const transport = new Transport('test', { gate: new RegistryGate({ firstBackoffMs: 20 }) });
    onTestFinished(() => transport.close());
    const req = (registry: string, timeoutMs = 2_000): TransportRequest => ({
      registry,
      kind: 'manifest_head',
      method: 'HEAD',
      url: new URL(`http://${host}/v2/x/manifests/1`),
      headers: {},
      timeoutMs,
      insecureTLS: false,
      maxBytes: 1024,
      describe: `HEAD ${registry}/x:1`,
    });
    return { seen, req, transport };
  };

  it('waits out a burst of 429s and answers with the 200 that follows', async () => {
    const { seen, req, transport } = await start((n) => ({ status: n <= 2 ? 429 : 200 }));
    const res = await transport.send(req('r1'));
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(3);
  });

  it('gives up after two retries and hands back the 429', async () => {
    const { seen, req, transport } = await start(() => ({ status: 429 }));
    const res = await transport.send(req('r1'));
    expect(res.status).toBe(429);
    expect(seen).toHaveLength(3);
  });

  it('does not retry, nor send later requests, while Retry-After exceeds the budget', async () => {
    const { seen, req, transport } = await start(() => ({ status: 429, retryAfter: '30' }));
    expect((await transport.send(req('r1'))).status).toBe(429);
    const later = await transport.send(req('r1')).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(RegistryError);
    expect((later as RegistryError).reason).toBe('rate_limited');
    expect((later as RegistryError).message).toMatch(/not sent, r1 asked to slow down for 30s/);
    expect(seen).toHaveLength(1);
  });

  it('does not slow another registry down', async () => {
    const { seen, req, transport } = await start((n) => ({
      status: n === 1 ? 429 : 200,
      retryAfter: '30',
    }));
    expect((await transport.send(req('r1'))).status).toBe(429);
    expect((await transport.send(req('r2'))).status).toBe(200);
    expect(seen).toHaveLength(2);
  });
});
