import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createExporter, createExporterApp } from '../../../src/exporter.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { SnapshotRegistry } from '../../../src/metrics/snapshot-text.js';
import { createApp } from '../../../src/server/app.js';
import { waitFor } from '../../support/exec.js';
import { config, container, digest, fakeProvider, fakeRegistry } from '../watch/fixtures.js';

const NGINX = 'docker.io/library/nginx:latest';
// Short looks, so the server's sockets get a turn between them; about as long in all as before.
const soon = { timeoutMs: 5_000, intervalMs: 5 };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'app-'));
  configureLog({ sink: () => {} });
});
afterEach(async () => {
  configureLog({ sink: stderrSink });
  await rm(dir, { recursive: true, force: true });
});

/** The app as `serve` wires it, over one running container whose tag moved to digest b. */
function exporterApp(
  opts: { token?: string; checksPerMinute?: number } = {},
  answer: () => string | Promise<string> = () => digest('b'),
) {
  const remote = fakeRegistry(answer);
  const cfg = config({ db: { path: join(dir, 'state.json') }, metrics: { token: opts.token } });
  const exporter = createExporter(
    { config: cfg },
    {
      providers: [fakeProvider(() => [container({ name: 'web', composeProject: 'site' })])],
      registry: remote.registry,
    },
  );
  const app = createExporterApp(exporter, cfg, { checksPerMinute: opts.checksPerMinute });
  return { app, watcher: exporter.watcher, heads: remote.heads };
}

describe('health and readiness', () => {
  it('is healthy at once, and ready only once the first check finished', async () => {
    const { app, watcher } = exporterApp({ token: 's3cret' });
    await request(app).get('/-/healthy').expect(200, 'OK\n');
    const before = await request(app).get('/-/ready');
    expect(before.status).toBe(503);
    expect(before.text).toBe('Not ready: first check not finished\n');
    await watcher.run();
    await request(app).get('/-/ready').expect(200, 'Ready\n');
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format, open when no token is set', async () => {
    const { app, watcher } = exporterApp();
    await watcher.run();
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain(
      `diun_image_update_available{provider="docker",image="${NGINX}"} 1\n`,
    );
    expect(res.text).toMatch(
      /^diun_build_info\{version=".+",revision=".*",nodejs_version="v.+"\} 1$/m,
    );
  });

  it('asks for the Bearer token when one is set; health stays open for probes', async () => {
    const { app } = exporterApp({ token: 's3cret' });
    const refused = await request(app).get('/metrics');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="diun-exporter"');
    expect(refused.body).toEqual({ error: 'unauthorized' });
    await request(app).get('/metrics').set('Authorization', 'Bearer wrong').expect(401);
    const ok = await request(app).get('/metrics').set('Authorization', 'Bearer s3cret');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE diun_image_update_available gauge');
    await request(app).get('/-/healthy').expect(200);
    await request(app).get('/api/v1/images').expect(401);
    await request(app).post('/api/v1/check').expect(401);
  });
});

describe('the API', () => {
  it('lists every watched image with its containers, the last run and the providers', async () => {
    const { app, watcher } = exporterApp();
    await request(app)
      .get('/api/v1/images')
      .expect(200, {
        images: [],
        lastRun: null,
        providers: [{ provider: 'docker', endpoint: 'local', up: true }],
      });
    await watcher.run();
    const { body } = await request(app).get('/api/v1/images').expect(200);
    expect(body.images).toHaveLength(1);
    expect(body.images[0]).toMatchObject({
      image: NGINX,
      status: 'update',
      updateAvailable: true,
      localDigests: [digest('a')],
      remoteDigest: digest('b'),
      lastError: null,
      containers: [
        { name: 'web', status: 'update', composeProject: 'site', updateAvailable: true },
      ],
    });
    expect(body.lastRun).toMatchObject({
      images: { new: 0, update: 1, unchange: 0, skip: 0, error: 0 },
      providerErrors: [],
      outdated: [NGINX],
    });
  });

  it('runs a check on POST and answers its summary', async () => {
    const { app, heads } = exporterApp();
    const { body } = await request(app).post('/api/v1/check').expect(200);
    expect(body).toMatchObject({ providerErrors: [], outdated: [NGINX] });
    expect(body.images.update).toBe(1);
    expect(heads.map((h) => h.image)).toEqual([NGINX]);
  });

  it('refuses the 11th triggered check in a minute with 429 and Retry-After', async () => {
    const { app, heads } = exporterApp();
    for (let i = 0; i < 10; i++) await request(app).post('/api/v1/check').expect(200);
    const res = await request(app).post('/api/v1/check');
    expect(res.status).toBe(429);
    const wait = Number(res.headers['retry-after']);
    expect(Number.isInteger(wait) && wait >= 1 && wait <= 60).toBe(true);
    expect(res.body).toEqual({ error: `too many triggered checks; retry in ${wait}s` });
    // The refused request did not reach the registry.
    expect(heads).toHaveLength(10);
  });

  it('takes its own limit of triggered checks', async () => {
    const { app } = exporterApp({ checksPerMinute: 2 });
    await request(app).post('/api/v1/check').expect(200);
    await request(app).post('/api/v1/check').expect(200);
    await request(app).post('/api/v1/check').expect(429);
  });

  it('joins the check under way without spending the limit or asking the registry again', async () => {
    let open = (_digest: string) => {};
    const gate = new Promise<string>((resolve) => {
      open = resolve;
    });
    const { app, watcher, heads } = exporterApp({ checksPerMinute: 1 }, () => gate);
    const run = vi.spyOn(watcher, 'run');
    const first = request(app)
      .post('/api/v1/check')
      .then((r) => r);
    await waitFor(() => heads.length === 1, {
      ...soon,
      what: 'the joined check to reach the registry',
    });
    const second = request(app)
      .post('/api/v1/check')
      .then((r) => r);
    await waitFor(() => run.mock.calls.length === 2, {
      ...soon,
      what: 'the second request to join the run',
    });
    open(digest('b'));
    const answers = await Promise.all([first, second]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(heads).toHaveLength(1);
    await request(app).post('/api/v1/check').expect(429);
  });

  it('answers 404 in JSON for anything else', async () => {
    const { app } = exporterApp();
    await request(app).get('/api/v1/nothing').expect(404, { error: 'not found' });
  });
});

describe('what a client never gets', () => {
  it('answers 405 with Allow for a known path and another method, in JSON', async () => {
    const { app } = exporterApp();
    for (const [method, path, allow] of [
      ['post', '/metrics', 'GET, HEAD'],
      ['delete', '/api/v1/images', 'GET, HEAD'],
      ['get', '/api/v1/check', 'POST'],
      ['put', '/api/v1/alertmanager/gotify', 'POST'],
      ['get', '/api/v1/alertmanager/ntfy', 'POST'],
      ['options', '/metrics', 'GET, HEAD'],
    ] as const) {
      const res = await request(app)[method](path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.body).toEqual({ error: 'method not allowed' });
    }
    await request(app).patch('/nowhere').expect(404, { error: 'not found' });
  });

  it('answers /metrics gzip-encoded when asked, with the same text as plain', async () => {
    const { app, watcher } = exporterApp();
    await watcher.run();
    const plain = await request(app).get('/metrics').set('Accept-Encoding', 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toContain('diun_container_update_available{');
    const zipped = await request(app).get('/metrics').set('Accept-Encoding', 'gzip');
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
    expect(Number(zipped.headers['content-length'])).toBeLessThan(Buffer.byteLength(plain.text));
    // Counters and process metrics move between scrapes; the snapshot's series do not.
    const series = (t: string) => t.split('\n').filter((l) => l.startsWith('diun_image_'));
    expect(series(zipped.text)).toEqual(series(plain.text));
    expect(zipped.text).toMatch(/^# HELP diun_image_update_available /);
  });

  it('drops a plain scrape whose client leaves mid-body without logging a failure', async () => {
    const { watcher } = exporterApp();
    await watcher.run();
    // About 9 MiB of text: more than the sockets hold, so the server still sends when it leaves.
    const [one] = watcher.snapshot().images;
    if (!one) throw new Error('the run watched no image');
    const images = Array.from({ length: 10_000 }, (_, i) => ({
      ...one,
      record: { ...one.record, image: `${one.record.image}-${i}` },
    }));
    const register = new SnapshotRegistry({ snapshot: () => ({ images, at: 1 }) });
    const lines: string[] = [];
    configureLog({ sink: (line) => lines.push(line) });
    const server = createApp({ watcher, register, metricsPath: '/metrics' }).listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const client = connect(port, '127.0.0.1');
      client.write('GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n');
      const head = await new Promise<Buffer>((resolve) =>
        client.once('data', (chunk: Buffer) => {
          client.pause();
          resolve(chunk);
        }),
      );
      expect(head.toString()).toMatch(/^HTTP\/1\.1 200 /);
      client.resetAndDestroy();
      const connections = () =>
        new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)));
      await waitFor(async () => (await connections()) === 0, {
        ...soon,
        what: 'the server to see it',
      });
      const next = await request(server).get('/metrics').set('Accept-Encoding', 'identity');
      expect(next.status).toBe(200);
      expect(next.text.split('\n').filter((l) => l.startsWith('diun_image_info{'))).toHaveLength(
        10_000,
      );
      expect(lines.join('\n')).not.toContain('request failed');
    } finally {
      server.close();
    }
  });

  it('answers a failing route with 500 and one line of JSON, no stack trace', async () => {
    const { watcher } = exporterApp();
    const lines: string[] = [];
    configureLog({ sink: (line) => lines.push(line) });
    const register = new SnapshotRegistry({ snapshot: () => ({ images: [], at: 0 }) });
    new Gauge({
      name: 'failing',
      help: 'a collector that throws',
      registers: [register],
      collect() {
        throw new Error('collector exploded at /internal/path');
      },
    });
    const app = createApp({ watcher, register, metricsPath: '/metrics' });
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'internal error' });
    expect(res.text).not.toMatch(/exploded|\/internal\/path|\bat \S+:\d+/);
    expect(lines.join('\n')).toContain('collector exploded');
  });
});

describe('every token-guarded answer', () => {
  // A shared proxy or the browser's cache must not keep what the token guarded, and no answer
  // may be sniffed into another type: with or without a token, refused or served.
  const guarded: Array<[string, 'get' | 'post', string]> = [
    ['metrics', 'get', '/metrics'],
    ['the images API', 'get', '/api/v1/images'],
    ['the status page', 'get', '/'],
    ['a triggered check', 'post', '/api/v1/check'],
  ];
  it.each(guarded)('%s is not stored and not sniffed', async (_what, method, path) => {
    for (const token of [undefined, 's3cret']) {
      const { app } = exporterApp({ token });
      const answers = [await request(app)[method](path).set('Authorization', 'Bearer s3cret')];
      if (token) answers.push(await request(app)[method](path));
      for (const res of answers) {
        expect([200, 401]).toContain(res.status);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
    }
  });
});
