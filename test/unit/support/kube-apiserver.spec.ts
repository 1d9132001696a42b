import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, type Dispatcher, request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  fixtureNode,
  fixturePod,
  type KubeApiServer,
  type Pod,
  readKubeFixture,
  startKubeApiServer,
} from '../../support/kube-apiserver.js';
import { makeDockerTlsCerts } from '../../support/tls-certs.js';

// The stand-in must speak kube-apiserver's protocol: these talk plain HTTP to it, as a client
// library would, and compare its answers with the recorded ones in test/fixtures/kubernetes/.

const image = '127.0.0.1:5000/team/web:1.0';
const imageId = `127.0.0.1:5000/team/web@sha256:${'ab'.repeat(32)}`;

function pod(name: string, namespace = 'shop'): Pod {
  return fixturePod('deployment', { image, imageId, name, namespace });
}

interface WatchEvent {
  type: string;
  object: { kind?: string; apiVersion?: string; metadata: Record<string, unknown>; code?: number };
}

/** Opens a watch and collects its JSON lines as they arrive. */
async function openWatch(server: KubeApiServer, path: string, dispatcher?: Dispatcher) {
  const res = await request(`${server.url}${path}`, { ...(dispatcher && { dispatcher }) });
  const events: WatchEvent[] = [];
  let rest = '';
  let ended = false;
  const reading = (async () => {
    for await (const chunk of res.body) {
      rest += chunk.toString();
      for (let at = rest.indexOf('\n'); at >= 0; at = rest.indexOf('\n')) {
        events.push(JSON.parse(rest.slice(0, at)) as WatchEvent);
        rest = rest.slice(at + 1);
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => {
      ended = true;
    });
  return {
    status: res.statusCode,
    headers: res.headers,
    events,
    ended: () => ended,
    until: (count: number) => vi.waitFor(() => expect(events.length).toBeGreaterThanOrEqual(count)),
    close: async () => {
      res.body.destroy();
      await reading;
    },
  };
}

async function get(server: KubeApiServer, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${server.url}${path}`, { headers });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('kube-apiserver stand-in', () => {
  let server: KubeApiServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('pages a list with limit/continue over one consistent resourceVersion', async () => {
    const names = ['a', 'b', 'c', 'd'].map((n) => pod(`web-${n}`));
    server = await startKubeApiServer({ pods: [...names, pod('debug', 'default')] });
    const recorded = readKubeFixture<{ metadata: object; items: object[] }>('pod-list.json');

    const seen: string[] = [];
    const versions = new Set<unknown>();
    let path = '/api/v1/pods?limit=2';
    const pages: Record<string, unknown>[] = [];
    for (;;) {
      const { status, body } = await get(server, path);
      expect(status).toBe(200);
      pages.push(body);
      const metadata = body.metadata as { resourceVersion: string; continue?: string };
      versions.add(metadata.resourceVersion);
      for (const item of body.items as Pod[]) {
        expect(item).not.toHaveProperty('kind');
        seen.push(`${item.metadata.namespace}/${item.metadata.name}`);
      }
      if (!metadata.continue) break;
      path = `/api/v1/pods?limit=2&continue=${encodeURIComponent(metadata.continue)}`;
    }
    expect(pages).toHaveLength(3);
    expect(Object.keys(pages[0]!)).toEqual(Object.keys(recorded));
    expect(Object.keys(pages[0]!.metadata as object)).toEqual(Object.keys(recorded.metadata));
    expect(pages[0]!.metadata).toMatchObject({ remainingItemCount: 3 });
    expect(pages[2]!.metadata).not.toHaveProperty('continue');
    expect(versions.size).toBe(1);
    expect(seen).toEqual(['default/debug', 'shop/web-a', 'shop/web-b', 'shop/web-c', 'shop/web-d']);
  });

  it('streams ADDED, MODIFIED and DELETED after the resourceVersion of a list', async () => {
    server = await startKubeApiServer({ pods: [pod('web-a')] });
    const { body } = await get(server, '/api/v1/namespaces/shop/pods');
    const listRv = (body.metadata as { resourceVersion: string }).resourceVersion;
    const watch = await openWatch(
      server,
      `/api/v1/namespaces/shop/pods?watch=1&resourceVersion=${listRv}`,
    );
    expect(watch.status).toBe(200);
    expect(watch.headers['content-type']).toBe('application/json');
    expect(watch.headers['transfer-encoding']).toBe('chunked');

    const added = pod('web-b');
    server.addPod(added);
    added.status.containerStatuses![0]!.restartCount = 1;
    server.updatePod(added);
    server.deletePod('shop', 'web-b');
    await watch.until(3);
    expect(watch.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    const recorded = readFileSync(
      resolve(import.meta.dirname, '../../fixtures/kubernetes/watch-pods.jsonl'),
      'utf8',
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WatchEvent);
    for (const [i, event] of watch.events.entries()) {
      expect(Object.keys(event)).toEqual(Object.keys(recorded[i]!));
      expect(Object.keys(event.object)).toEqual(Object.keys(recorded[i]!.object));
      expect(event.object).toMatchObject({
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'web-b' },
      });
    }
    const rvs = watch.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    expect(rvs[0]).toBeGreaterThan(Number(listRv));
    await watch.close();
    await vi.waitFor(() => expect(server!.openWatches()).toBe(0));
  });

  it('ends open watches with ERROR 410 Expired on compaction, and refuses older versions after', async () => {
    server = await startKubeApiServer({ pods: [pod('web-a')] });
    const before = server.resourceVersion();
    const open = await openWatch(server, `/api/v1/pods?watch=true&resourceVersion=${before}`);
    await vi.waitFor(() => expect(server!.openWatches()).toBe(1));
    server.addPod(pod('web-b'));
    server.expireWatches();
    await vi.waitFor(() => expect(open.ended()).toBe(true));
    expect(open.events.map((e) => e.type)).toEqual(['ADDED', 'ERROR']);

    const late = await openWatch(server, `/api/v1/pods?watch=1&resourceVersion=${before}`);
    await vi.waitFor(() => expect(late.ended()).toBe(true));
    expect(late.status).toBe(200);
    expect(late.events).toHaveLength(1);
    const recorded = readKubeFixture<object>('status-410-expired.json');
    const error = late.events[0]!;
    expect(error.type).toBe('ERROR');
    expect(Object.keys(error.object)).toEqual(Object.keys(recorded));
    expect(error.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(error.object).toHaveProperty(
      'message',
      `too old resource version: ${before} (${server.resourceVersion()})`,
    );
  });

  it('sends BOOKMARK events carrying only the resourceVersion when asked to', async () => {
    server = await startKubeApiServer({ pods: [pod('web-a')], bookmarkIntervalMs: 50 });
    const rv = server.resourceVersion();
    const watch = await openWatch(
      server,
      `/api/v1/pods?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`,
    );
    await watch.until(2);
    expect(watch.events[0]).toEqual({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv } },
    });
    await watch.close();
  });

  it('ends a watch after timeoutSeconds, and closeWatches ends the others cleanly', async () => {
    server = await startKubeApiServer();
    const timed = await openWatch(server, '/api/v1/pods?watch=1&timeoutSeconds=1');
    const other = await openWatch(server, '/api/v1/pods?watch=1');
    await vi.waitFor(() => expect(timed.ended()).toBe(true), { timeout: 2_000 });
    expect(server.openWatches()).toBe(1);
    server.closeWatches();
    await vi.waitFor(() => expect(other.ended()).toBe(true));
    expect(other.events).toEqual([]);
  });

  it('answers 401 with the Unauthorized Status without the right Bearer token', async () => {
    server = await startKubeApiServer({ token: 's3cret' });
    const recorded = readKubeFixture('status-401-unauthorized.json');
    expect(await get(server, '/api/v1/pods')).toEqual({ status: 401, body: recorded });
    const wrong = await get(server, '/api/v1/pods', { authorization: 'Bearer nope' });
    expect(wrong).toEqual({ status: 401, body: recorded });
    const right = await get(server, '/api/v1/pods', { authorization: 'Bearer s3cret' });
    expect(right.status).toBe(200);
    expect(server.requests.at(-1)).toEqual({
      method: 'GET',
      path: '/api/v1/pods',
      query: {},
      authorization: 'Bearer s3cret',
    });
  });

  it('answers 403 with the Forbidden Status RBAC words, per namespace and at cluster scope', async () => {
    server = await startKubeApiServer({ pods: [pod('web-a')] });
    server.forbid('kube-system');
    expect(await get(server, '/api/v1/namespaces/kube-system/pods')).toEqual({
      status: 403,
      body: readKubeFixture('status-403-forbidden-namespace.json'),
    });
    expect((await get(server, '/api/v1/pods')).status).toBe(200);
    server.forbid('*');
    expect(await get(server, '/api/v1/pods?limit=500')).toEqual({
      status: 403,
      body: readKubeFixture('status-403-forbidden-cluster.json'),
    });
    const watch = await get(server, '/api/v1/namespaces/kube-system/pods?watch=1');
    expect(watch.body.message).toContain('cannot watch resource "pods"');
  });

  it('keeps a namespaced watch to its namespace, starting from the current state', async () => {
    server = await startKubeApiServer({ pods: [pod('web-a'), pod('agent', 'monitoring')] });
    const watch = await openWatch(server, '/api/v1/namespaces/shop/pods?watch=1&resourceVersion=0');
    await watch.until(1);
    server.addPod(pod('agent-2', 'monitoring'));
    server.addPod(pod('web-b'));
    await watch.until(2);
    expect(
      watch.events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
    ).toEqual(['ADDED shop/web-a', 'ADDED shop/web-b']);
    await watch.close();
  });

  it('filters with fieldSelector, turning a pod leaving the selection into DELETED', async () => {
    const pending = fixturePod('pending', { image, imageId: '' });
    server = await startKubeApiServer({
      pods: [pending, fixturePod('job-succeeded', { image, imageId })],
    });
    const { body } = await get(server, '/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded');
    expect((body.items as Pod[]).map((p) => p.metadata.name)).toEqual([pending.metadata.name]);
    const watch = await openWatch(
      server,
      `/api/v1/pods?watch=1&fieldSelector=status.phase%21%3DSucceeded&resourceVersion=${server.resourceVersion()}`,
    );
    server.updatePod({ ...pending, status: { ...pending.status, phase: 'Succeeded' } });
    await watch.until(1);
    expect(watch.events[0]).toMatchObject({
      type: 'DELETED',
      object: { metadata: { name: pending.metadata.name } },
    });
    expect((await get(server, '/api/v1/pods?fieldSelector=spec.foo%3Dx')).status).toBe(400);
    await watch.close();
  });

  it('serves nodes, /version and 404 Status bodies as recorded', async () => {
    server = await startKubeApiServer({
      nodes: [fixtureNode({ name: 'arm-1', architecture: 'arm64' })],
    });
    const node = await get(server, '/api/v1/nodes/arm-1');
    expect(node.body).toMatchObject({
      kind: 'Node',
      metadata: { labels: { 'kubernetes.io/arch': 'arm64' } },
      status: { nodeInfo: { operatingSystem: 'linux', architecture: 'arm64' } },
    });
    expect(await get(server, '/api/v1/nodes/worker-9')).toEqual({
      status: 404,
      body: readKubeFixture('status-404-node-not-found.json'),
    });
    expect((await get(server, '/version')).body).toEqual(readKubeFixture('version.json'));
    expect((await get(server, '/apis/apps/v1/deployments')).body).toMatchObject({
      kind: 'Status',
      code: 404,
    });
  });

  it('serves the discovery documents kubectl maps kinds with, and 404 for what it does not serve', async () => {
    server = await startKubeApiServer();
    const port = new URL(server.url).port;
    // kubectl since 1.26 asks for aggregated discovery first; a plain answer makes it fall back.
    const aggregated = {
      accept:
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    };
    expect(await get(server, '/api', aggregated)).toEqual({
      status: 200,
      body: {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` },
        ],
      },
    });
    const apps = {
      name: 'apps',
      versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
    };
    const groups = (await get(server, '/apis', aggregated)).body;
    expect(groups).toMatchObject({ kind: 'APIGroupList', apiVersion: 'v1' });
    expect(groups.groups).toEqual([
      apps,
      expect.objectContaining({ name: 'rbac.authorization.k8s.io' }),
    ]);
    expect((await get(server, '/apis/apps')).body).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      ...apps,
    });

    const core = (await get(server, '/api/v1')).body;
    expect(Object.keys(core)).toEqual(['kind', 'groupVersion', 'resources']);
    const resources = core.resources as { name: string }[];
    expect(resources.find((r) => r.name === 'namespaces')).toEqual({
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ns'],
    });
    expect(resources.map((r) => r.name)).toEqual([...resources.map((r) => r.name)].sort());
    const appsV1 = (await get(server, '/apis/apps/v1')).body;
    expect(appsV1).toMatchObject({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'apps/v1',
    });
    expect((appsV1.resources as { name: string }[]).find((r) => r.name === 'deployments')).toEqual({
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
      categories: ['all'],
    });
    const rbac = (await get(server, '/apis/rbac.authorization.k8s.io/v1')).body;
    expect(rbac.resources).toContainEqual(
      expect.objectContaining({ name: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
    );

    for (const path of ['/apis/apps/v1beta1', '/apis/batch', '/apis/batch/v1', '/api/v2']) {
      expect(await get(server, path), path).toEqual({
        status: 404,
        body: expect.objectContaining({
          kind: 'Status',
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
          code: 404,
        }),
      });
    }
  });

  it('fills the pod templates with the image and the digest containerd reports', () => {
    const filled = fixturePod('deployment', {
      image,
      imageId,
      initImage: 'busybox:1.36',
      initImageId: 'x@sha256:1',
    });
    expect(filled.spec.containers[0]!.image).toBe(image);
    expect(filled.status.containerStatuses![0]!.imageID).toBe(imageId);
    expect(filled.spec.initContainers![0]!.image).toBe('busybox:1.36');
    expect(filled.status.initContainerStatuses![0]!.imageID).toBe('x@sha256:1');
    expect(filled.metadata.ownerReferences![0]).toMatchObject({
      kind: 'ReplicaSet',
      controller: true,
    });
    expect(JSON.stringify(fixturePod('pending', { image, imageId }))).not.toContain('__');
  });

  it('serves https with a certificate the test CA vouches for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-tls-'));
    try {
      await makeDockerTlsCerts(dir);
      server = await startKubeApiServer({
        token: 't',
        tls: {
          cert: await readFile(join(dir, 'server-cert.pem')),
          key: await readFile(join(dir, 'server-key.pem')),
        },
      });
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const dispatcher = new Agent({ connect: { ca: await readFile(join(dir, 'ca.pem')) } });
      const res = await request(`${server.url}/api/v1/pods`, {
        dispatcher,
        headers: { authorization: 'Bearer t' },
      });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toMatchObject({ kind: 'PodList', items: [] });
      await dispatcher.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
