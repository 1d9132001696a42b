import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startExporter } from '../support/exporter.js';
import {
  fixtureNode,
  fixturePod,
  type KubeApiServer,
  type Pod,
  startKubeApiServer,
} from '../support/kube-apiserver.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { type PushedManifest, pushIndex, pushPlatformImage } from '../support/oci.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { makeDockerTlsCerts } from '../support/tls-certs.js';

// No Kubernetes API server installs here: the provider talks to a stand-in that serves the real
// API's JSON (recorded shapes, test/fixtures/kubernetes/) with list pagination, watch streams,
// bookmarks, 410 Expired and RBAC refusals. Images are real, in a real registry.
const TOKEN = 'k8s-test-token-9f2c';
const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };
const k8s = { provider: 'kubernetes', endpoint: 'kubernetes' };

interface Pushed {
  ref: string;
  /** `<registry>/<repo>@sha256:...`: what containerd reports as a pulled image's imageID. */
  imageId: string;
  index: PushedManifest;
  arm?: PushedManifest;
}

/** Pushes a two-platform image (reusing `arm` when given, so only amd64 changes). */
async function pushTwoPlatform(
  registry: Registry,
  repo: string,
  tag: string,
  arm?: PushedManifest,
): Promise<Pushed> {
  const amd = await pushPlatformImage(registry.url, repo, amd64);
  arm ??= await pushPlatformImage(registry.url, repo, arm64);
  const index = await pushIndex(registry.url, repo, tag, [amd, arm]);
  return {
    ref: `${registry.host}/${repo}:${tag}`,
    imageId: `${registry.host}/${repo}@${index.descriptor.digest}`,
    index,
    arm,
  };
}

/** A pod of the recorded `kind`, renamed, created at `created`, running `image`. */
function pod(
  kind: Parameters<typeof fixturePod>[0],
  name: string,
  image: Pushed,
  over: { created?: string; rs?: string; node?: string; namespace?: string } = {},
): Pod {
  const p = fixturePod(kind, {
    name,
    namespace: over.namespace,
    image: image.ref,
    imageId: image.imageId,
    initImage: `${image.ref.split('/')[0]}/k8s/migrate:1.0`,
    initImageId: image.imageId.replace(/\/k8s\/\w+@/, '/k8s/migrate@'),
  });
  if (over.created) p.metadata.creationTimestamp = over.created;
  if (over.node) p.spec.nodeName = over.node;
  if (over.rs) {
    const hash = over.rs.slice(over.rs.lastIndexOf('-') + 1);
    p.metadata.labels = { ...p.metadata.labels, 'pod-template-hash': hash };
    p.metadata.ownerReferences = p.metadata.ownerReferences?.map((o) => ({
      ...o,
      name: over.rs!,
      uid: `uid-${over.rs}`,
    }));
  }
  return p;
}

const series = (s: Sample[], labels: Record<string, string>) =>
  find(s, 'diun_container_update_available', { ...k8s, ...labels });

describe('kubernetes provider against a stand-in API server', () => {
  let registry: Registry;
  let api: KubeApiServer;
  let exporter: ExporterProcess;
  let web: Pushed;
  let db: Pushed;
  let web2: Pushed;
  const heads = (repo: string) =>
    registry.requests({ method: 'HEAD', pathIncludes: `/k8s/${repo}/manifests/` });
  const lists = () => api.requests.filter((r) => r.path.endsWith('/pods') && !r.query.watch);
  const check = async () => {
    const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    registry = await startRegistry();
    web = await pushTwoPlatform(registry, 'k8s/web', '1.0');
    db = await pushTwoPlatform(registry, 'k8s/db', '1.0');
    await pushTwoPlatform(registry, 'k8s/migrate', '1.0');
    const rs = 'web-7c5ddbdf54';
    api = await startKubeApiServer({
      token: TOKEN,
      bookmarkIntervalMs: 500,
      nodes: [
        fixtureNode({ name: 'worker-1', ...amd64 }),
        fixtureNode({ name: 'worker-arm', ...arm64 }),
      ],
      pods: [
        // Three replicas of one Deployment; the oldest is not the first by name.
        pod('deployment', `${rs}-aaaaa`, web, { rs, created: '2026-11-20T10:00:02Z' }),
        pod('deployment', `${rs}-bbbbb`, web, { rs, created: '2026-11-20T10:00:01Z' }),
        pod('deployment', `${rs}-ccccc`, web, { rs, created: '2026-11-20T10:00:03Z' }),
        pod('statefulset', 'db-0', db, { node: 'worker-1' }),
        // The same image on an arm64 node, through a DaemonSet.
        pod('daemonset', 'node-agent-arm01', web, { node: 'worker-arm' }),
        // Excluded namespace, finished Job, not started yet: none is reported.
        pod('daemonset', 'kube-proxy-x1', web, { namespace: 'kube-system' }),
        pod('job-succeeded', 'backup-1-abcde', web),
        pod('pending', 'worker-6b9f8d7c4d-hm2lp', web),
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'k8s-token-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    exporter = await startExporter({
      watch: { schedule: '', workers: 2 },
      providers: {
        kubernetes: {
          endpoint: api.url,
          tokenFile: join(dir, 'token'),
          namespaces: ['!kube-system'],
        },
      },
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await api?.stop();
    await registry?.stop();
  });

  it('reports one series per owner, as its oldest pod, and asks each reference once', async () => {
    const s = await exporter.until(
      (s) => series(s, { k8s_owner: 'statefulset/db' })[0]?.value === 0,
      'the StatefulSet pod to be reported up to date',
    );
    expect(value(s, 'diun_provider_up', k8s)).toBe(1);
    const deployment = series(s, { k8s_owner: 'deployment/web' });
    expect(deployment).toHaveLength(1);
    expect(deployment[0]?.labels).toMatchObject({
      container: 'web',
      image: web.ref,
      k8s_namespace: 'shop',
      pod: 'web-7c5ddbdf54-bbbbb',
    });
    expect(deployment[0]?.value).toBe(0);
    expect(series(s, { k8s_owner: 'daemonset/node-agent' })).toHaveLength(1);
    // Not the kube-system pod, the finished Job, the pending pod or the init container.
    const pods = series(s, {}).map((x) => x.labels.pod);
    expect(pods.sort()).toEqual(['db-0', 'node-agent-arm01', 'web-7c5ddbdf54-bbbbb']);
    expect(
      find(s, 'diun_image_update_available', { image: `${registry.host}/k8s/migrate:1.0` }),
    ).toEqual([]);
    // Five watched pods of two references: two HEADs, and none for the init container's image.
    expect(heads('web')).toBe(1);
    expect(heads('db')).toBe(1);
    expect(heads('migrate')).toBe(0);
    // The first run and the watch's first list shared one list.
    expect(lists()).toHaveLength(1);
    // The pod's node was read for its platform, with the token.
    const nodeGets = api.requests.filter((r) => r.path.startsWith('/api/v1/nodes/'));
    expect(nodeGets.map((r) => r.path).sort()).toEqual([
      '/api/v1/nodes/worker-1',
      '/api/v1/nodes/worker-arm',
    ]);
    expect(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('compares each pod on its node’s platform when only one platform of the tag moved', async () => {
    // A new amd64 image under the same tag; the arm64 entry of the index is unchanged.
    web2 = await pushTwoPlatform(registry, 'k8s/web', '1.0', web.arm);
    await check();
    const s = await exporter.until(
      (s) => series(s, { k8s_owner: 'deployment/web' })[0]?.value === 1,
      'the amd64 Deployment to be outdated after the push',
    );
    expect(series(s, { k8s_owner: 'daemonset/node-agent' })[0]?.value).toBe(0);
    expect(
      value(s, 'diun_image_update_available', { provider: 'kubernetes', image: web.ref }),
    ).toBe(1);
  });

  it('follows a rollout through the watch, with no registry request', async () => {
    const before = { heads: heads('web'), lists: lists().length };
    const next = 'web-5f9c6d8b7a';
    const fresh = pod('deployment', `${next}-ddddd`, web2, {
      rs: next,
      created: '2026-11-28T10:00:00Z',
    });
    api.addPod(fresh);
    // Half done: the old ReplicaSet's pods are still outdated, the new one's is not.
    let s = await exporter.until(
      (s) => series(s, { k8s_owner: 'deployment/web' }).length === 2,
      'the new ReplicaSet’s pod to appear beside the old ones',
    );
    expect(series(s, { pod: `${next}-ddddd` })[0]?.value).toBe(0);
    expect(series(s, { pod: 'web-7c5ddbdf54-bbbbb' })[0]?.value).toBe(1);
    for (const name of ['aaaaa', 'bbbbb', 'ccccc']) api.deletePod('shop', `web-7c5ddbdf54-${name}`);
    s = await exporter.until(
      (s) => series(s, { k8s_owner: 'deployment/web' }).length === 1,
      'the old ReplicaSet’s pods to go',
    );
    expect(series(s, { k8s_owner: 'deployment/web' })[0]?.value).toBe(0);
    expect(
      value(s, 'diun_image_update_available', { provider: 'kubernetes', image: web.ref }),
    ).toBe(0);
    expect(heads('web')).toBe(before.heads);
    expect(lists().length).toBe(before.lists);
  });

  it('lists again when its watch expires (410), and goes on watching', async () => {
    const before = lists().length;
    api.expireWatches();
    await waitFor(async () => lists().length > before && api.openWatches() > 0, {
      timeoutMs: 15_000,
      what: 'the exporter to list pods again and watch from the new version',
    });
    api.addPod(pod('statefulset', 'db-1', db));
    const s = await exporter.until(
      (s) => series(s, { pod: 'db-0' }).length === 1 && value(s, 'diun_provider_up', k8s) === 1,
      'the StatefulSet to keep one series after the relist',
    );
    // db-1 runs the same digest as db-0: still one series for the StatefulSet.
    expect(series(s, { k8s_owner: 'statefulset/db' })).toHaveLength(1);
  });

  it('is down with the API server’s own words when RBAC refuses, keeping the last pods', async () => {
    api.forbid('*');
    api.expireWatches();
    const s = await exporter.until(
      (s) => value(s, 'diun_provider_up', k8s) === 0,
      'the provider to be down after a 403',
    );
    expect(series(s, { k8s_owner: 'deployment/web' })).toHaveLength(1);
    const body = (await (await fetch(`${exporter.url}/api/v1/images`)).json()) as {
      providers: { provider: string; error?: string }[];
    };
    const error = body.providers.find((p) => p.provider === 'kubernetes')?.error ?? '';
    expect(error).toMatch(
      /HTTP 403 pods is forbidden: User "system:serviceaccount:[^"]+" cannot list resource "pods"/,
    );
    expect(error).toContain('needs list and watch on pods');
    expect(exporter.output()).not.toContain(TOKEN);
  });
});

describe('kubernetes provider over TLS', () => {
  let api: KubeApiServer;
  let dir: string;
  const started: ExporterProcess[] = [];
  const start = async (kubernetes: Record<string, unknown>) => {
    const e = await startExporter({
      watch: { schedule: '', workers: 1 },
      providers: { kubernetes },
    });
    started.push(e);
    return e;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'k8s-tls-'));
    await makeDockerTlsCerts(dir);
    api = await startKubeApiServer({
      token: TOKEN,
      tls: {
        cert: readFileSync(join(dir, 'server-cert.pem')),
        key: readFileSync(join(dir, 'server-key.pem')),
      },
      nodes: [fixtureNode({ name: 'worker-1', ...amd64 })],
      // A locally loaded image: nothing to ask a registry, reported as skipped.
      pods: [
        (() => {
          const p = fixturePod('bare', {
            image: 'debug-tools:dev',
            imageId: `sha256:${'e'.repeat(64)}`,
          });
          p.metadata.annotations = { 'diun.enable': 'true' };
          return p;
        })(),
      ],
    });
  });

  afterAll(async () => {
    for (const e of started) await e.stop();
    await api?.stop();
  });

  it('trusts the API server through certAuthFilePath', async () => {
    const e = await start({
      endpoint: api.url,
      token: TOKEN,
      certAuthFilePath: join(dir, 'ca.pem'),
    });
    const s = await e.until(
      (s) => series(s, { pod: 'debug' }).length === 1,
      'the bare pod to be reported over https',
    );
    expect(value(s, 'diun_provider_up', k8s)).toBe(1);
    expect(
      value(s, 'diun_image_last_check_status', {
        provider: 'kubernetes',
        image: 'docker.io/library/debug-tools:dev',
        status: 'skip',
      }),
    ).toBe(1);
    expect(series(s, { pod: 'debug' })[0]?.labels.k8s_owner).toBe('pod/debug');
  });

  it('refuses an unknown certificate unless tlsInsecure, and names a refused token', async () => {
    const untrusted = await start({ endpoint: api.url, token: TOKEN });
    const insecure = await start({ endpoint: api.url, token: TOKEN, tlsInsecure: true });
    const refused = await start({
      endpoint: api.url,
      token: 'wrong',
      certAuthFilePath: join(dir, 'ca.pem'),
    });
    await insecure.until((s) => value(s, 'diun_provider_up', k8s) === 1, 'tlsInsecure to connect');
    for (const [e, words] of [
      [untrusted, /certificate/],
      [refused, /HTTP 401 Unauthorized \(the token was refused/],
    ] as const) {
      await e.until((s) => value(s, 'diun_provider_up', k8s) === 0, 'the provider to be down');
      const body = (await (await fetch(`${e.url}/api/v1/images`)).json()) as {
        providers: { error?: string }[];
      };
      expect(body.providers[0]?.error).toMatch(words);
    }
    expect(refused.output()).not.toContain(TOKEN);
  });
});
