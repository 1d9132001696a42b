/**
 * RegistryClient against the real docker-registry (distribution 2.8) with token auth from a
 * token service that behaves as Docker Hub's. A small stub stands in only for what the real
 * registry never does (rate limits, missing digest headers, redirects to storage, 5xx).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RegistryClient, type RegistryObserver } from '../../src/registry/client.js';
import { parseReference } from '../../src/registry/reference.js';
import { Transport } from '../../src/registry/transport.js';
import type { RequestOptions } from '../../src/registry/types.js';
import { freePort, requireBinary, waitFor } from '../support/exec.js';
import { digestOf, uploadBlob } from '../support/oci.js';
import type { Registry } from '../support/registry.js';
import { rejection } from '../support/registry-error.js';
import { serveForTest, suiteTeardown } from '../support/teardown.js';
import { selfSignedCertificate } from '../support/tls-certs.js';
import {
  requestToken,
  startTokenRegistry,
  startTokenService,
  type TokenService,
} from '../support/token-service.js';

// A missing program fails the whole file, naming the package to install; nothing is skipped.
requireBinary('docker-registry', 'docker-registry');
requireBinary('openssl', 'openssl');

const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const USERS = {
  pusher: { password: 'push-secret', push: true },
  reader: { password: 'read-secret-4711' },
};
const anonymous: RequestOptions = { timeoutMs: 5_000, insecureTLS: false };
const asReader: RequestOptions = {
  ...anonymous,
  credentials: { username: 'reader', password: USERS.reader.password },
};

interface Recorded {
  observer: RegistryObserver;
  requests: { kind: string; code: string }[];
  rateLimits: { registry: string; limit: number; remaining: number }[];
}

function recorder(): Recorded {
  const requests: Recorded['requests'] = [];
  const rateLimits: Recorded['rateLimits'] = [];
  return {
    observer: {
      request: (e) => requests.push({ kind: e.kind, code: e.code }),
      rateLimit: (e) => rateLimits.push(e),
    },
    requests,
    rateLimits,
  };
}

/** A client for the running test, closed when it ends. */
function newClient(observer?: RegistryObserver): RegistryClient {
  const client = new RegistryClient({
    userAgent: 'diun-exporter/9.9.9-test',
    ...(observer && { observer }),
  });
  onTestFinished(() => client.close());
  return client;
}

// ---- filling the registry through its own HTTP API, as a push user ----

interface Pushed {
  manifest: { bytes: Buffer; digest: string };
  config: Buffer;
  index: { bytes: Buffer; digest: string };
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

async function pushContent(registry: Registry, tokens: TokenService, repo: string) {
  const pusher = { user: 'pusher', password: USERS.pusher.password };
  const token = await requestToken(tokens, [`repository:${repo}:pull,push`], pusher);
  const auth = { authorization: `Bearer ${token}` };
  const putBlob = (bytes: Buffer) => uploadBlob(registry.url, repo, bytes, '', auth);
  // Not oci.ts's putManifest: the digest kept is the one the registry answers with, which the
  // tests compare with the digest of the bytes.
  const putManifest = async (ref: string, mediaType: string, body: Buffer) => {
    const res = await request(`${registry.url}/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': mediaType },
      body,
    });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(201);
    return { bytes: body, digest: String(res.headers['docker-content-digest']) };
  };

  const layer = gzipSync(Buffer.from(`layer of ${repo}\n`.repeat(50)));
  const layerDesc = await putBlob(layer);
  const imageConfig = (architecture: string) =>
    json({
      architecture,
      os: 'linux',
      created: '2024-05-01T12:00:00Z',
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] },
    });
  const config = imageConfig('amd64');
  const configDesc = await putBlob(config);
  const manifest = await putManifest(
    '1.0',
    DOCKER_V2,
    json({
      schemaVersion: 2,
      mediaType: DOCKER_V2,
      config: { ...configDesc, mediaType: 'application/vnd.docker.container.image.v1+json' },
      layers: [{ ...layerDesc, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
    }),
  );
  const platforms = [];
  for (const architecture of ['amd64', 'arm64']) {
    const archConfig = await putBlob(imageConfig(`${architecture}-oci`));
    const body = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...archConfig, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: [{ ...layerDesc, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
    });
    const pushed = await putManifest(digestOf(body), OCI_MANIFEST, body);
    platforms.push({
      mediaType: OCI_MANIFEST,
      digest: pushed.digest,
      size: body.length,
      platform: { os: 'linux', architecture },
    });
  }
  const index = await putManifest(
    'multi',
    OCI_INDEX,
    json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: platforms }),
  );
  return { manifest, config, index } satisfies Pushed;
}

// ---- the real registry, anonymous pulls allowed ----

describe('RegistryClient against docker-registry with Docker Hub style token auth', () => {
  const stops = suiteTeardown();
  let tokens: TokenService;
  let registry: Registry;
  let pushed: Pushed;
  const ref = (s: string) => parseReference(`${registry.host}/${s}`);

  beforeAll(async () => {
    ({ tokens, registry } = stops.add(
      await startTokenRegistry({ users: USERS, anonymous: true }),
      (t) => t.stop(),
    ));
    pushed = await pushContent(registry, tokens, 'team/app');
  });

  it('HEAD answers the digest the registry computed, with an anonymous pull token', async () => {
    expect(pushed.manifest.digest).toBe(digestOf(pushed.manifest.bytes));
    const head = await newClient().headManifest(ref('team/app:1.0'), anonymous);
    expect(head).toEqual({ digest: pushed.manifest.digest, mediaType: DOCKER_V2 });
    await waitFor(
      () =>
        registry.requests({
          method: 'HEAD',
          pathPrefix: '/v2/team/app/manifests/1.0',
          userAgent: 'diun-exporter/9.9.9-test',
        }) >= 1,
      { timeoutMs: 2_000, what: 'the HEAD with our User-Agent in the registry log' },
    );
  });

  it('gets the index back for a multi-arch tag (Accept lists the index types first)', async () => {
    const client = newClient();
    const head = await client.headManifest(ref('team/app:multi'), anonymous);
    expect(head).toEqual({ digest: pushed.index.digest, mediaType: OCI_INDEX });
    const index = await client.getManifest(ref('team/app:multi'), anonymous);
    expect(index.digest).toBe(pushed.index.digest);
    expect(index.mediaType).toBe(OCI_INDEX);
    expect((index.json as { manifests: unknown[] }).manifests).toHaveLength(2);
  });

  it('GETs a manifest by tag and by digest, checking the body against the digest', async () => {
    const client = newClient();
    const byTag = await client.getManifest(ref('team/app:1.0'), anonymous);
    expect(byTag.digest).toBe(pushed.manifest.digest);
    expect(byTag.body.equals(pushed.manifest.bytes)).toBe(true);
    const byDigest = await client.getManifest(ref(`team/app@${pushed.manifest.digest}`), anonymous);
    expect(byDigest).toMatchObject({ digest: pushed.manifest.digest, mediaType: DOCKER_V2 });
    expect(byDigest.json).toMatchObject({
      schemaVersion: 2,
      config: { size: pushed.config.length },
    });
  });

  it('GETs a blob and lists tags', async () => {
    const client = newClient();
    const blob = await client.getBlob(ref('team/app:1.0'), digestOf(pushed.config), anonymous);
    expect(blob.equals(pushed.config)).toBe(true);
    expect((await client.listTags(ref('team/app'), anonymous)).sort()).toEqual(['1.0', 'multi']);
  });

  it('pings once and reuses the token while expires_in lasts', async () => {
    const { observer, requests } = recorder();
    const client = newClient(observer);
    const before = tokens.requests();
    await client.headManifest(ref('team/app:1.0'), anonymous);
    await client.headManifest(ref('team/app:1.0'), anonymous);
    await client.headManifest(ref('team/app:multi'), anonymous);
    expect(tokens.requests() - before).toBe(1);
    expect(requests).toEqual([
      { kind: 'ping', code: '401' },
      { kind: 'token', code: '200' },
      { kind: 'manifest_head', code: '200' },
      { kind: 'manifest_head', code: '200' },
      { kind: 'manifest_head', code: '200' },
    ]);
  });

  it('keeps tokens apart per repository and per user', async () => {
    const client = newClient();
    const before = tokens.requests();
    await client.headManifest(ref('team/app:1.0'), anonymous);
    await client.headManifest(ref('team/app:1.0'), asReader);
    await expect(client.headManifest(ref('team/other:1.0'), anonymous)).rejects.toMatchObject({
      reason: 'not_found',
    });
    expect(tokens.requests() - before).toBe(3);
  });

  it('fails as auth, without the password in the message, when the credentials are wrong', async () => {
    const { observer, requests } = recorder();
    const wrong = { ...anonymous, credentials: { username: 'reader', password: 'hunter2-wrong' } };
    const err = await rejection(newClient(observer).headManifest(ref('team/app:1.0'), wrong));
    expect(err.reason).toBe('auth');
    expect(err.status).toBe(401);
    expect(err.message).not.toContain('hunter2-wrong');
    expect(err.message).not.toContain(Buffer.from('reader:hunter2-wrong').toString('base64'));
    expect(requests).toContainEqual({ kind: 'token', code: '401' });
  });

  it('answers not_found for an unknown tag and an unknown repository', async () => {
    const { observer, requests } = recorder();
    const client = newClient(observer);
    const tag = await rejection(client.headManifest(ref('team/app:nope'), anonymous));
    expect(tag).toMatchObject({ reason: 'not_found', status: 404 });
    expect(tag.message).toContain(`${registry.host}/team/app:nope`);
    const repo = await rejection(client.getManifest(ref('team/missing:1.0'), anonymous));
    expect(repo).toMatchObject({ reason: 'not_found', status: 404 });
    expect(repo.message).toContain('HTTP 404 MANIFEST_UNKNOWN');
    const blob = await rejection(
      client.getBlob(ref('team/app'), `sha256:${'1'.repeat(64)}`, anonymous),
    );
    expect(blob.reason).toBe('not_found');
    expect(requests).toContainEqual({ kind: 'manifest_head', code: '404' });
    expect(requests).toContainEqual({ kind: 'manifest_get', code: '404' });
    expect(requests).toContainEqual({ kind: 'blob', code: '404' });
  });
});

// ---- the real registry, no anonymous pulls, short-lived tokens ----

describe('RegistryClient with a token service that refuses anonymous pulls', () => {
  const stops = suiteTeardown();
  let tokens: TokenService;
  let registry: Registry;
  let pushed: Pushed;
  const ref = (s: string) => parseReference(`${registry.host}/${s}`);

  beforeAll(async () => {
    ({ tokens, registry } = stops.add(
      await startTokenRegistry({ users: USERS, anonymous: false, expiresInSeconds: 2 }),
      (t) => t.stop(),
    ));
    pushed = await pushContent(registry, tokens, 'private/app');
  });

  it('fails as auth without credentials, refused by the token service', async () => {
    const { observer, requests } = recorder();
    const before = tokens.requests();
    const err = await rejection(
      newClient(observer).headManifest(ref('private/app:1.0'), anonymous),
    );
    expect(err).toMatchObject({ reason: 'auth', status: 401 });
    expect(tokens.requests() - before).toBe(1);
    expect(requests).toEqual([
      { kind: 'ping', code: '401' },
      { kind: 'token', code: '401' },
    ]);
  });

  it('fetches a new token once the cached one expired', async () => {
    const client = newClient();
    const before = tokens.requests();
    const first = await client.headManifest(ref('private/app:1.0'), asReader);
    expect(first.digest).toBe(pushed.manifest.digest);
    await client.headManifest(ref('private/app:1.0'), asReader);
    expect(tokens.requests() - before).toBe(1);
    await sleep(2_100);
    await client.headManifest(ref('private/app:1.0'), asReader);
    expect(tokens.requests() - before).toBe(2);
  });
});

// ---- registries that are not there or do not answer ----

describe('RegistryClient when the registry is unreachable', () => {
  it('fails fast when nothing listens on the port', async () => {
    const { observer, requests } = recorder();
    const port = await freePort();
    const started = Date.now();
    const err = await rejection(
      newClient(observer).headManifest(parseReference(`127.0.0.1:${port}/app:1`), {
        ...anonymous,
        timeoutMs: 10_000,
      }),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.reason).toBe('registry_error');
    expect(err.message).toContain('ECONNREFUSED');
    expect(requests).toEqual([{ kind: 'ping', code: 'error' }]);
  });

  it('times out when the registry accepts the connection but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const started = Date.now();
      const err = await rejection(
        newClient().headManifest(parseReference(`127.0.0.1:${port}/app:1`), {
          ...anonymous,
          timeoutMs: 300,
        }),
      );
      expect(err.reason).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

// ---- what the real registry never does: a stub for Docker Hub's and S3's behaviour ----

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A stub registry for the running test, on 127.0.0.1. */
function listen(handler: Handler): Promise<{ host: string }> {
  return serveForTest(createServer(handler));
}

describe('RegistryClient against a stub for behaviour docker-registry does not show', () => {
  const body = json({ schemaVersion: 2, mediaType: DOCKER_V2, config: {}, layers: [] });

  it('reports rate limits and fails as rate_limited with Retry-After', async () => {
    const { observer, rateLimits } = recorder();
    const { host } = await listen((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      res.writeHead(429, {
        'retry-after': '30',
        'ratelimit-limit': '100;w=21600',
        'ratelimit-remaining': '0;w=21600',
        'content-type': 'application/json',
      });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}');
    });
    const err = await rejection(
      newClient(observer).headManifest(parseReference(`${host}/library/nginx`), anonymous),
    );
    expect(err).toMatchObject({ reason: 'rate_limited', status: 429, retryAfterSeconds: 30 });
    expect(rateLimits).toEqual([{ registry: host, limit: 100, remaining: 0 }]);
  });

  it('fails as registry_error on 5xx', async () => {
    const { host } = await listen((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 503).end();
    });
    const err = await rejection(newClient().headManifest(parseReference(`${host}/a/b`), anonymous));
    expect(err).toMatchObject({ reason: 'registry_error', status: 503 });
  });

  it('hashes the body when HEAD sends no Docker-Content-Digest', async () => {
    const { observer, requests } = recorder();
    const { host } = await listen((req, res) => {
      res.writeHead(200, { 'content-type': DOCKER_V2 });
      res.end(req.method === 'GET' && req.url !== '/v2/' ? body : undefined);
    });
    const head = await newClient(observer).headManifest(parseReference(`${host}/a/b`), anonymous);
    expect(head).toEqual({ digest: digestOf(body), mediaType: DOCKER_V2 });
    expect(requests.map((r) => r.kind)).toEqual(['ping', 'manifest_head', 'manifest_get']);
  });

  it('fails as invalid for a body that does not match its digest, or is too large', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const { host } = await listen((req, res) => {
      res.writeHead(200, { 'content-type': DOCKER_V2 });
      res.end(req.url?.endsWith('/big') ? big : body);
    });
    const client = newClient();
    const wrongDigest = parseReference(`${host}/a/b@sha256:${'2'.repeat(64)}`);
    expect((await rejection(client.getManifest(wrongDigest, anonymous))).reason).toBe('invalid');
    const tooBig = parseReference(`${host}/a/b:big`);
    expect((await rejection(client.getManifest(tooBig, anonymous))).reason).toBe('invalid');
  });

  it('sends Basic credentials, but not to the host a blob redirect points at', async () => {
    const blob = Buffer.from('blob bytes');
    const storageAuth: (string | undefined)[] = [];
    const storage = await listen((req, res) => {
      storageAuth.push(req.headers.authorization);
      res.writeHead(200).end(blob);
    });
    const registryAuth: (string | undefined)[] = [];
    const { host } = await listen((req, res) => {
      registryAuth.push(req.headers.authorization);
      if (!req.headers.authorization) {
        return res.writeHead(401, { 'www-authenticate': 'Basic realm="stub"' }).end();
      }
      const location = `http://${storage.host}/bucket/blob?X-Signature=secret`;
      res.writeHead(307, { location }).end();
    });
    const got = await newClient().getBlob(parseReference(`${host}/a/b`), digestOf(blob), asReader);
    expect(got.equals(blob)).toBe(true);
    const basic = `Basic ${Buffer.from(`reader:${USERS.reader.password}`).toString('base64')}`;
    expect(registryAuth).toEqual([undefined, basic]);
    expect(storageAuth).toEqual([undefined]);
  });

  it('verifies TLS certificates unless insecureTLS is set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-tls-'));
    try {
      const { keyFile, certFile } = await selfSignedCertificate(dir, '127.0.0.1');
      const server = createHttpsServer(
        { key: readFileSync(keyFile), cert: readFileSync(certFile) },
        (_, res) => res.writeHead(200).end('{}'),
      );
      const { port } = await serveForTest(server);
      // A loopback registry is spoken to over plain HTTP, so the transport is asked directly.
      const transport = new Transport('diun-exporter/test');
      const send = (insecureTLS: boolean) =>
        transport.send({
          registry: `self-signed.example:${port}`,
          kind: 'ping',
          method: 'GET',
          url: new URL(`https://127.0.0.1:${port}/v2/`),
          headers: {},
          timeoutMs: 5_000,
          insecureTLS,
          maxBytes: 1024,
          describe: 'GET self-signed.example/v2/',
        });
      try {
        expect((await rejection(send(false))).reason).toBe('registry_error');
        expect((await send(true)).status).toBe(200);
      } finally {
        await transport.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops a cached token the registry rejects and retries once with a new one', async () => {
    const tokens = await startTokenService({ users: USERS });
    try {
      let heads = 0;
      const seen: (string | undefined)[] = [];
      const challenge = `Bearer realm="${tokens.realm}",service="${tokens.service}"`;
      const { host } = await listen((req, res) => {
        if (req.url === '/v2/' || !req.headers.authorization) {
          return res.writeHead(401, { 'www-authenticate': challenge }).end();
        }
        seen.push(req.headers.authorization);
        heads++;
        // The second request is refused as if the token had been revoked.
        if (heads === 2) return res.writeHead(401, { 'www-authenticate': challenge }).end();
        res.writeHead(200, { 'docker-content-digest': digestOf(body), 'content-type': DOCKER_V2 });
        res.end();
      });
      const client = newClient();
      const ref = parseReference(`${host}/a/b`);
      await client.headManifest(ref, anonymous);
      const second = await client.headManifest(ref, anonymous);
      expect(second.digest).toBe(digestOf(body));
      expect(tokens.requests()).toBe(2);
      expect(seen).toHaveLength(3);
      expect(seen[2]).not.toBe(seen[1]);
    } finally {
      await tokens.close();
    }
  });
});
