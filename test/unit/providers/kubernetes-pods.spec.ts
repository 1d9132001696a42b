import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImageDefaultsSchema } from '../../../src/config/schema.js';
import type { Pod } from '../../../src/providers/kube-api.js';
import { resolveConnection } from '../../../src/providers/kube-api.js';
import {
  imageIdDigest,
  namespaceScopes,
  ownerName,
  podFingerprint,
  podsToWatched,
  slimPod,
} from '../../../src/providers/kubernetes-pods.js';
import { isOutdated } from '../../../src/watch/evaluate.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;
const defaults = ImageDefaultsSchema.parse({});
const amd64 = { os: 'linux', architecture: 'amd64' };
const opts = { watchByDefault: true, defaults, platformOf: () => amd64 };

let uid = 0;
/** A running pod of ReplicaSet `web-7c5ddbdf54` (Deployment `web`) unless `over` says otherwise. */
function pod(
  name: string,
  over: Partial<Pod['metadata']> = {},
  imageID = `docker.io/library/nginx@${digestA}`,
): Pod {
  uid += 1;
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${uid}`,
      creationTimestamp: `2026-11-0${Math.min(uid, 9)}T10:00:00Z`,
      labels: { app: 'web', 'pod-template-hash': '7c5ddbdf54' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-01T00:00:00Z' },
      ownerReferences: [
        { kind: 'ReplicaSet', name: 'web-7c5ddbdf54', uid: 'rs-1', controller: true },
      ],
      ...over,
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'nginx',
          image: 'docker.io/library/nginx:1.27',
          imageID,
          state: { running: { startedAt: '2026-11-01T10:00:05Z' } },
        },
      ],
    },
  };
}

describe('podsToWatched', () => {
  it('makes one entry of a Deployment’s replicas, shown as its oldest pod', () => {
    const pods = [pod('web-7c5ddbdf54-b'), pod('web-7c5ddbdf54-a'), pod('web-7c5ddbdf54-c')];
    const watched = podsToWatched(pods.reverse(), opts);
    expect(watched).toHaveLength(1);
    expect(watched[0]).toMatchObject({
      provider: 'kubernetes',
      endpoint: 'kubernetes',
      name: 'nginx',
      image: 'docker.io/library/nginx:1.27',
      repoDigests: [digestA],
      state: 'running',
      seriesLabels: { k8s_namespace: 'shop', pod: 'web-7c5ddbdf54-b', k8s_owner: 'deployment/web' },
      place: {
        host: 'web-7c5ddbdf54-b',
        group: 'shop / deployment/web',
        path: 'shop/web-7c5ddbdf54-b/nginx',
      },
      updateCommand: 'kubectl -n shop rollout restart deployment/web',
    });
  });

  it('keeps a half-done rollout as two entries, so the outdated pods are not hidden', () => {
    const old = pod('web-7c5ddbdf54-a');
    const fresh = pod('web-7c5ddbdf54-b', {}, `docker.io/library/nginx@${digestB}`);
    const watched = podsToWatched([old, fresh], opts);
    expect(watched.map((w) => w.repoDigests[0])).toEqual([digestA, digestB]);
    const record = {
      provider: 'kubernetes',
      image: 'docker.io/library/nginx:1.27',
      remoteDigest: digestB,
      lastCheck: 1,
      status: 'unchange' as const,
      updateAvailable: false,
    };
    expect(watched.map((w) => isOutdated(w, record))).toEqual([true, false]);
  });

  it('skips init containers, finished pods and containers not started yet', () => {
    const p = pod('web-7c5ddbdf54-a');
    (p.spec as { initContainers?: unknown }).initContainers = [{ name: 'migrate', image: 'app:1' }];
    (p.status as { initContainerStatuses?: unknown }).initContainerStatuses = [
      { name: 'migrate', image: 'app:1', imageID: `docker.io/library/app@${digestB}` },
    ];
    const job = pod('backup-29001', {
      ownerReferences: [{ kind: 'Job', name: 'backup-29001', uid: 'job-1', controller: true }],
    });
    job.status!.phase = 'Succeeded';
    const pending = pod('api-0', { ownerReferences: [] }, '');
    const watched = podsToWatched([p, job, pending], opts);
    expect(watched.map((w) => `${w.seriesLabels.k8s_owner}:${w.name}`)).toEqual([
      'deployment/web:nginx',
    ]);
  });

  it('reads diun.* annotations: diun.enable decides over watchByDefault', () => {
    const off = pod('a', { annotations: { 'diun.enable': 'false' }, ownerReferences: [] });
    const on = pod('b', { annotations: { 'diun.enable': 'true' }, ownerReferences: [] });
    const plain = pod('c', { annotations: {}, ownerReferences: [] });
    const names = (watchByDefault: boolean) =>
      podsToWatched([off, on, plain], { ...opts, watchByDefault }).map((w) => w.seriesLabels.pod);
    expect(names(false)).toEqual(['b']);
    expect(names(true)).toEqual(['b', 'c']);
    const bad = pod('d', { annotations: { 'diun.max_tags': 'many' }, ownerReferences: [] });
    expect(podsToWatched([bad], opts)[0]?.errors).toEqual([
      'label diun.max_tags: expected integer >= 0, got "many"',
    ]);
  });

  it('skips what has no registry digest to compare, and pinned references', () => {
    const loaded = pod('a', { ownerReferences: [] }, `sha256:${'c'.repeat(64)}`);
    const pinned = pod('b', { ownerReferences: [] });
    pinned.spec!.containers![0]!.image = `nginx@${digestA}`;
    const [l, p] = podsToWatched([loaded, pinned], opts);
    expect(l?.skip).toBe('locally built (no repository digest)');
    expect(p?.skip).toBe('pinned by digest');
  });

  it('compares on the platform of the pod’s node', () => {
    const arm = { os: 'linux', architecture: 'arm64' };
    const [w] = podsToWatched([pod('a')], { ...opts, platformOf: () => arm });
    expect(w?.platform).toEqual(arm);
  });
});

describe('ownerName', () => {
  it('names the workload a person restarts', () => {
    expect(ownerName(pod('web-7c5ddbdf54-a'))).toBe('deployment/web');
    const sts = pod('db-0', {
      labels: {},
      ownerReferences: [{ kind: 'StatefulSet', name: 'db', uid: 's', controller: true }],
    });
    expect(ownerName(sts)).toBe('statefulset/db');
    const rs = pod('x-1', {
      labels: {},
      ownerReferences: [{ kind: 'ReplicaSet', name: 'x', uid: 'r', controller: true }],
    });
    expect(ownerName(rs)).toBe('replicaset/x');
    expect(ownerName(pod('bare', { ownerReferences: [] }))).toBe('pod/bare');
  });
});

describe('imageIdDigest', () => {
  it('reads the runtimes’ imageID forms', () => {
    expect(imageIdDigest(`docker.io/library/nginx@${digestA}`)).toEqual({
      repository: 'docker.io/library/nginx',
      digest: digestA,
    });
    expect(imageIdDigest(`docker-pullable://nginx@${digestA}`)?.repository).toBe(
      'docker.io/library/nginx',
    );
    expect(imageIdDigest(`docker://sha256:${'c'.repeat(64)}`)).toBeUndefined();
    expect(imageIdDigest('')).toBeUndefined();
  });
});

describe('namespaceScopes', () => {
  it('lists all namespaces but the excluded ones, or only the named ones', () => {
    expect(namespaceScopes([])).toEqual({ scopes: [undefined], excluded: new Set() });
    expect(namespaceScopes(['!kube-system'])).toEqual({
      scopes: [undefined],
      excluded: new Set(['kube-system']),
    });
    expect(namespaceScopes(['shop', 'blog', 'shop', '!blog'])).toEqual({
      scopes: ['shop'],
      excluded: new Set(['blog']),
    });
  });
});

describe('podFingerprint', () => {
  it('ignores what does not change a report (readiness), not what does (the running image)', () => {
    const a = pod('a');
    const ready = structuredClone(a);
    (ready.status as { conditions?: unknown }).conditions = [{ type: 'Ready', status: 'True' }];
    expect(podFingerprint(slimPod(ready))).toBe(podFingerprint(slimPod(a)));
    const moved = structuredClone(a);
    moved.status!.containerStatuses![0]!.imageID = `docker.io/library/nginx@${digestB}`;
    expect(podFingerprint(slimPod(moved))).not.toBe(podFingerprint(slimPod(a)));
  });
});

describe('resolveConnection', () => {
  const k8s = {
    namespaces: [],
    watchByDefault: false,
    tlsInsecure: false,
  };

  it('needs an endpoint outside a pod, and names the key', () => {
    expect(() => resolveConnection(k8s, {})).toThrow(/^providers\.kubernetes\.endpoint: not set/);
  });

  it('uses the service account inside a pod, with endpoint overriding the server', () => {
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' };
    expect(() => resolveConnection(k8s, env, '/nonexistent')).toThrow(
      'in-cluster CA: cannot read "/nonexistent/ca.crt"',
    );
    const insecure = resolveConnection({ ...k8s, tlsInsecure: true }, env, '/nonexistent');
    expect(insecure.server.origin).toBe('https://[fd00::1]:6443');
    expect(insecure.mode).toBe('in-cluster');
    expect(insecure.authorization()).toBeUndefined();
    const named = resolveConnection(
      { ...k8s, tlsInsecure: true, endpoint: 'https://10.0.0.1:6443', token: 't' },
      env,
      '/nonexistent',
    );
    expect(named.server.origin).toBe('https://10.0.0.1:6443');
    expect(named.authorization()).toBe('Bearer t');
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the mounted service account token again as the kubelet rotates it', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'token'), 'first\n');
    writeFileSync(join(dir, 'ca.crt'), 'not checked here');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const conn = resolveConnection(k8s, env, dir);
    expect(conn.ca?.toString()).toBe('not checked here');
    expect(conn.authorization()).toBe('Bearer first');
    writeFileSync(join(dir, 'token'), 'second\n');
    utimesSync(join(dir, 'token'), new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));
    expect(conn.authorization()).toBe('Bearer first'); // read at most once a minute
    vi.setSystemTime(Date.now() + 61_000);
    expect(conn.authorization()).toBe('Bearer second');
  });
});
