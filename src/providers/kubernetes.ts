import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import { log } from '../log.js';
import { hostArchitecture } from '../registry/platform.js';
import { OnceWarnings } from './common.js';
import { EndpointHealth } from './health.js';
import { connectionFor, KubeApiError, KubeClient, type Pod } from './kube-api.js';
import {
  isLive,
  KUBERNETES_ENDPOINT,
  namespaceScopes,
  podFingerprint,
  podsToWatched,
  slimPod,
} from './kubernetes-pods.js';
import type { EndpointStatus, Provider, WatchedContainer } from './types.js';

type KubernetesConfig = NonNullable<Config['providers']['kubernetes']>;
type Platform = WatchedContainer['platform'];

const maxBackoffMs = 30_000;

/** The platform this process runs on: what a pod is compared on when its node cannot be read. */
function ownPlatform(): Platform {
  return { os: 'linux', architecture: hostArchitecture() };
}

/**
 * Pods of one namespace (or of all), kept current as client-go's reflector keeps them: a list,
 * then a watch from the list's resourceVersion, with bookmarks; a 410 Expired or a lost stream
 * lists again, with back-off while the server cannot be reached.
 */
class PodReflector {
  readonly pods = new Map<string, Pod>();
  synced = false;
  private resourceVersion = '';
  private settle!: () => void;
  /** Resolves at the first list's end, whether it worked or not. */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    private readonly client: KubeClient,
    readonly namespace: string | undefined,
    /** The slim pod to keep, or undefined for a pod of an excluded namespace. */
    private readonly keep: (pod: Pod) => Pod | undefined,
  ) {}

  async run(
    signal: AbortSignal,
    onChange: () => void,
    onDown: (err: Error) => void,
  ): Promise<void> {
    let delay = 1000;
    while (!signal.aborted) {
      try {
        await this.list();
        this.synced = true;
        this.settle();
        delay = 1000;
        onChange(); // whatever happened while we were not watching
        await this.watch(signal, onChange);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof KubeApiError && err.status === 410) {
          log('debug', 'pod watch expired, listing again', { namespace: this.namespace });
          continue;
        }
        this.synced = false;
        this.settle();
        onDown(err instanceof Error ? err : new Error(String(err)));
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, maxBackoffMs);
      }
    }
  }

  /**
   * Lists every pod again, kept slim. Its own frame, so nothing of the list outlives it: the
   * pages are gone while the watch that follows runs for hours.
   */
  private async list(): Promise<void> {
    const { items, resourceVersion } = await this.client.listPods(this.namespace, this.keep);
    this.pods.clear();
    for (const pod of items) this.pods.set(pod.metadata.uid, pod);
    this.resourceVersion = resourceVersion;
  }

  /** Follows watch streams one after the other until one fails. */
  private async watch(signal: AbortSignal, onChange: () => void): Promise<void> {
    while (!signal.aborted) {
      await this.client.watchPods(
        this.namespace,
        this.resourceVersion,
        (event) => {
          const pod = event.object as Pod;
          if (pod.metadata?.resourceVersion) this.resourceVersion = pod.metadata.resourceVersion;
          if (event.type === 'BOOKMARK' || !pod.metadata?.uid) return;
          const after = this.keep(pod);
          if (after === undefined) return;
          const before = this.pods.get(pod.metadata.uid);
          if (event.type === 'DELETED') {
            this.pods.delete(pod.metadata.uid);
            if (before) onChange();
            return;
          }
          this.pods.set(pod.metadata.uid, after);
          if (!before || podFingerprint(before) !== podFingerprint(after)) onChange();
        },
        signal,
      );
      // The server ended the stream (its timeoutSeconds): go on from the last version seen.
    }
  }
}

/**
 * Diun's kubernetes provider: the pods of the listed namespaces with their `diun.*`
 * annotations. Once subscribed, pods are listed once and then followed through watch events,
 * so a run or a pod change costs no API call; before that (`check`), each list asks the server.
 */
export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  private readonly health = new EndpointHealth('kubernetes', KUBERNETES_ENDPOINT);
  private client: Promise<KubeClient> | undefined;
  /** Set by subscribe(): resolves once the reflectors are started (or the connection failed). */
  private subscribed: Promise<void> | undefined;
  private readonly scopes: (string | undefined)[];
  private readonly excluded: Set<string>;
  private reflectors: PodReflector[] = [];
  private readonly abort = new AbortController();
  private readonly nodes = new Map<string, Promise<Platform | undefined>>();
  private nodesForbidden = false;
  private readonly warnings = new OnceWarnings('pod annotation problem');

  constructor(
    private readonly config: KubernetesConfig,
    private readonly defaults: Config['defaults'],
  ) {
    ({ scopes: this.scopes, excluded: this.excluded } = namespaceScopes(config.namespaces));
  }

  /** What is kept of a pod: its slim copy, or nothing for a pod of an excluded namespace. */
  private readonly keep = (pod: Pod): Pod | undefined =>
    this.excluded.has(pod.metadata.namespace) ? undefined : slimPod(pod);

  /** The client, made at first use so a bad endpoint is reported as this provider being down. */
  private connect(): Promise<KubeClient> {
    this.client ??= connectionFor(this.config).then((conn) => {
      log('info', 'kubernetes provider', {
        server: conn.server.origin,
        mode: conn.mode,
        namespaces: this.scopes.map((s) => s ?? '*').join(','),
        excluded: [...this.excluded].join(',') || undefined,
      });
      if (conn.mode === 'kubeconfig') this.warnUnusedKeys();
      return new KubeClient(conn);
    });
    return this.client;
  }

  // With KUBECONFIG, Diun takes the server and credentials from the file alone; so do we.
  private warnUnusedKeys(): void {
    const unused = (['endpoint', 'token', 'certAuthFilePath'] as const).filter(
      (key) => this.config[key] !== undefined,
    );
    if (unused.length > 0) {
      log('warn', 'kubernetes: KUBECONFIG is set, so these keys are not used (as in Diun)', {
        keys: unused.map((key) => `providers.kubernetes.${key}`).join(','),
      });
    }
  }

  async list(): Promise<WatchedContainer[]> {
    return this.health.listing(async () => {
      await this.subscribed;
      const client = await this.connect();
      // At start-up the first run and the watch's first list come together: one list serves both.
      await Promise.all(this.reflectors.map((r) => r.settled));
      let pods: Pod[];
      if (this.reflectors.length > 0 && this.reflectors.every((r) => r.synced)) {
        pods = this.reflectors.flatMap((r) => [...r.pods.values()]);
      } else {
        const lists = await Promise.all(this.scopes.map((ns) => client.listPods(ns, this.keep)));
        pods = lists.flatMap((l) => l.items);
      }
      const platforms = await this.platforms(client, pods);
      const watched = podsToWatched(pods, {
        watchByDefault: this.config.watchByDefault,
        defaults: this.defaults,
        platformOf: (pod) => platforms.get(pod.spec?.nodeName ?? '') ?? ownPlatform(),
      });
      // Keyed by workload, not pod: a restarted pod with the same annotations says nothing new.
      this.warnings.reportErrors(watched, (w) => {
        const { k8s_namespace: namespace, pod, k8s_owner: owner } = w.seriesLabels;
        return {
          key: `${namespace}/${owner} ${w.name}`,
          fields: { namespace, pod, container: w.name },
        };
      });
      return watched;
    });
  }

  /** Lists, then follows, each namespace scope; every change that matters calls `onChange`. */
  subscribe(onChange: () => void): void {
    this.subscribed = this.connect().then(
      (client) => {
        if (this.abort.signal.aborted) return;
        this.reflectors = this.scopes.map((ns) => new PodReflector(client, ns, this.keep));
        for (const r of this.reflectors) {
          void r.run(this.abort.signal, onChange, (err) => {
            this.health.mark(false, err);
            onChange(); // the listing keeps the last pods of a provider that is down
          });
        }
      },
      (err: unknown) => this.health.mark(false, err),
    );
  }

  status(): EndpointStatus[] {
    return [this.health.status()];
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.client?.then(
      (client) => client.close(),
      () => undefined,
    );
  }

  /** Each node's platform, read once; without `get nodes` (403) this process's platform is used. */
  private async platforms(client: KubeClient, pods: Pod[]): Promise<Map<string, Platform>> {
    const names = new Set(
      pods.filter(isLive).flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])),
    );
    const result = new Map<string, Platform>();
    if (this.nodesForbidden) return result;
    for (const name of names) {
      if (this.nodes.has(name)) continue;
      const lookup = client.nodePlatform(name).catch((err: unknown) => {
        this.nodes.delete(name); // asked again next time
        if (err instanceof KubeApiError && err.status === 403) {
          if (!this.nodesForbidden) {
            const own = ownPlatform();
            log('info', 'kubernetes: no permission to get nodes, comparing on this platform', {
              platform: `${own.os}/${own.architecture}`,
            });
          }
          this.nodesForbidden = true;
        } else log('warn', 'kubernetes: could not read a node', { node: name, error: err });
        return undefined;
      });
      this.nodes.set(name, lookup);
    }
    await Promise.all(
      [...names].map(async (name) => {
        const platform = await this.nodes.get(name);
        if (platform) result.set(name, platform);
      }),
    );
    return result;
  }
}
