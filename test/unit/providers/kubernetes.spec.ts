import { afterEach, describe, expect, it } from 'vitest';
import { ImageDefaultsSchema } from '../../../src/config/schema.js';
import { configureLog, stderrSink } from '../../../src/log.js';
import { KubernetesProvider } from '../../../src/providers/kubernetes.js';
import { waitFor } from '../../support/exec.js';
import {
  fixtureNode,
  fixturePod,
  type KubeApiServer,
  type Pod,
  startKubeApiServer,
} from '../../support/kube-apiserver.js';

// The provider's list-then-watch against the stand-in API server: what it asks, and when it
// tells the watcher that something changed.
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const defaults = ImageDefaultsSchema.parse({});

function webPod(name: string, imageDigest = digest('a')): Pod {
  return fixturePod('deployment', {
    name,
    image: 'registry.example.org/shop/web:1.0',
    imageId: `registry.example.org/shop/web@${imageDigest}`,
  });
}

describe('KubernetesProvider', () => {
  let api: KubeApiServer | undefined;
  let provider: KubernetesProvider | undefined;

  afterEach(async () => {
    await provider?.close();
    await api?.stop();
    provider = api = undefined;
  });

  async function start(pods: Pod[], namespaces: string[] = []) {
    api = await startKubeApiServer({ pods, nodes: [fixtureNode()], bookmarkIntervalMs: 100 });
    provider = new KubernetesProvider(
      { endpoint: api.url, namespaces, watchByDefault: false, tlsInsecure: false },
      defaults,
    );
    let changes = 0;
    provider.subscribe(() => {
      changes += 1;
    });
    await waitFor(() => api!.openWatches() > 0, { what: 'the provider to watch pods' });
    return {
      api,
      provider,
      changes: () => changes,
      lists: () => api!.requests.filter((r) => r.path.endsWith('/pods') && !r.query.watch).length,
    };
  }

  it('lists page by page, then answers from its watch with no further list', async () => {
    const pods = Array.from({ length: 1_100 }, (_, i) => webPod(`web-7c5ddbdf54-${i}`));
    const t = await start(pods);
    const pages = t.api.requests.filter((r) => r.path === '/api/v1/pods' && !r.query.watch);
    expect(pages.map((r) => r.query.limit)).toEqual(['500', '500', '500']);
    expect(pages.filter((r) => r.query.continue).length).toBe(2);
    const watched = await t.provider.list();
    // 1,100 replicas of one ReplicaSet running one digest: one entry.
    expect(watched).toHaveLength(1);
    expect(t.provider.status()[0]).toMatchObject({ up: true });
    await t.provider.list();
    expect(t.lists()).toBe(3);
  });

  it('says nothing for a pod change no report depends on, and at once for a new digest', async () => {
    const t = await start([webPod('web-7c5ddbdf54-a')]);
    await waitFor(() => t.changes() > 0, { what: 'the first change, after the list' });
    const before = t.changes();
    const ready = webPod('web-7c5ddbdf54-a');
    ready.status.conditions = [{ type: 'Ready', status: 'False' }];
    ready.status.containerStatuses![0]!.ready = false;
    ready.status.containerStatuses![0]!.restartCount = 3;
    t.api.updatePod(ready);
    t.api.updatePod(webPod('web-7c5ddbdf54-a', digest('b')));
    // Events come in order: once the digest's change is told, the readiness one was read.
    await waitFor(() => t.changes() > before, { what: 'a change for the new digest' });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.changes()).toBe(before + 1);
    const [w] = await t.provider.list();
    expect(w?.repoDigests).toEqual([digest('b')]);
  });

  it('watches again from where it was when the server ends a watch, without listing', async () => {
    const t = await start([webPod('web-7c5ddbdf54-a')], ['shop', '!kube-system']);
    const watches = () => t.api.requests.filter((r) => r.query.watch);
    expect(watches().map((r) => r.path)).toEqual(['/api/v1/namespaces/shop/pods']);
    t.api.closeWatches();
    await waitFor(() => watches().length === 2 && t.api.openWatches() === 1, {
      what: 'a second watch',
    });
    expect(Number(watches()[1]?.query.resourceVersion)).toBeGreaterThanOrEqual(
      Number(watches()[0]?.query.resourceVersion),
    );
    expect(t.lists()).toBe(1);
    expect(watches()[0]?.query.allowWatchBookmarks).toBe('true');
  });

  it('says an annotation problem once while it lasts, and again if it comes back', async () => {
    const lines: string[] = [];
    configureLog({ sink: (line) => lines.push(line) });
    try {
      const bad = webPod('web-7c5ddbdf54-a');
      bad.metadata.annotations = { 'diun.enable': 'true', 'diun.max_tags': 'many' };
      const t = await start([bad]);
      const warnings = () => lines.filter((l) => l.includes('pod annotation problem')).length;
      await t.provider.list();
      await t.provider.list();
      expect(warnings()).toBe(1);
      expect(lines.find((l) => l.includes('pod annotation problem'))).toContain('namespace=shop');
      t.api.deletePod('shop', 'web-7c5ddbdf54-a');
      await waitFor(async () => (await t.provider.list()).length === 0, { what: 'the pod gone' });
      t.api.addPod(bad);
      await waitFor(async () => (await t.provider.list()).length === 1, { what: 'the pod back' });
      expect(warnings()).toBe(2);
    } finally {
      configureLog({ sink: stderrSink });
    }
  });

  it('stops asking once closed', async () => {
    const t = await start([webPod('web-7c5ddbdf54-a')]);
    await t.provider.close();
    await waitFor(() => t.api.openWatches() === 0, { what: 'the watch to be closed' });
    const seen = t.api.requests.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(t.api.requests.length).toBe(seen);
  });
});
