/**
 * The few Kubernetes API calls the kubernetes provider makes (list and watch pods, get a node),
 * over undici, with the connection Diun's provider would use: the pod's service account inside a
 * cluster, else the file KUBECONFIG names (kubeconfig.ts), else the configured endpoint and
 * token. No client library for the calls: these three do not need one, and client-go's reflector
 * behaviour (list, then watch from its resourceVersion, relist on 410) is written out in
 * kubernetes.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { Config } from '../config/schema.js';

type KubernetesConfig = NonNullable<Config['providers']['kubernetes']>;

/** Where a pod's service account is mounted (the files client-go's InClusterConfig reads). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
// Bound service account tokens are rotated by the kubelet (hourly by default): read it again.
const TOKEN_REREAD_MS = 60_000;
const PAGE_SIZE = 500;
const REQUEST_TIMEOUT_MS = 30_000;

/** The part of a Pod the provider reads; the API sends much more. */
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    containerStatuses?: {
      name: string;
      image?: string;
      imageID?: string;
      state?: Record<string, unknown>;
    }[];
  };
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Pod | ApiStatus;
}

/** A v1 Status: what the API server answers with when a call fails. */
interface ApiStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/** A failed API call; `status` is the HTTP code (410 for an expired resourceVersion). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** How to reach the API server, resolved from the config and the pod's environment. */
export interface KubeConnection {
  server: URL;
  /**
   * The Authorization header now, if any: a service account token re-read as it rotates, or a
   * kubeconfig user's credentials (an exec plugin's token, run again when it expires).
   */
  authorization(): string | undefined | Promise<string | undefined>;
  ca?: Buffer | string;
  /** A client certificate and its key (a kubeconfig user's, or an exec plugin's). */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** The name the server certificate is checked against, when not the server's host. */
  servername?: string;
  insecure: boolean;
  /** Which of Diun's three ways was used, for the log line that says so. */
  mode: 'in-cluster' | 'kubeconfig' | 'endpoint';
}

/**
 * Diun's rules, in its order: inside a pod (KUBERNETES_SERVICE_HOST and _PORT set) the service
 * account, with `endpoint` overriding the server; else, with KUBECONFIG set, that file's current
 * context (see kubeconfig.ts; the library that reads it is loaded only then); else `endpoint`,
 * which is then required. A problem is thrown with the key (or variable) that would fix it.
 */
export async function connectionFor(
  config: KubernetesConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KubeConnection> {
  if (!(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) && env.KUBECONFIG) {
    const { kubeconfigConnection } = await import('./kubeconfig.js');
    return kubeconfigConnection(env.KUBECONFIG, config);
  }
  return resolveConnection(config, env);
}

/** The service account inside a pod, else `endpoint`: the two ways that need no kubeconfig. */
export function resolveConnection(
  config: KubernetesConfig,
  env: NodeJS.ProcessEnv = process.env,
  saDir = SERVICE_ACCOUNT_DIR,
): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const inCluster = Boolean(host && port);
  if (!inCluster && !config.endpoint) {
    throw new Error(
      'providers.kubernetes.endpoint: not set, not running in a pod (KUBERNETES_SERVICE_HOST is unset), and KUBECONFIG is unset',
    );
  }
  let server: URL;
  const raw = config.endpoint || `https://${host!.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    server = new URL(raw);
  } catch {
    throw new Error(`providers.kubernetes.endpoint: not a URL: "${raw}"`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new Error(`providers.kubernetes.endpoint: expected an https:// URL, got "${raw}"`);
  }
  const caPath = config.certAuthFilePath ?? (inCluster ? `${saDir}/ca.crt` : undefined);
  let ca: Buffer | undefined;
  if (caPath !== undefined && !config.tlsInsecure) {
    try {
      ca = readFileSync(caPath);
    } catch (err) {
      const key = config.certAuthFilePath
        ? 'providers.kubernetes.certAuthFilePath'
        : 'in-cluster CA';
      throw new Error(`${key}: cannot read "${caPath}": ${(err as Error).message}`);
    }
  }
  const fixed = config.token;
  const token =
    fixed !== undefined || !inCluster
      ? () => fixed
      : rereadEvery(`${saDir}/token`, TOKEN_REREAD_MS);
  return {
    server,
    authorization: () => {
      const now = token();
      return now ? `Bearer ${now}` : undefined;
    },
    ca,
    insecure: config.tlsInsecure,
    mode: inCluster ? 'in-cluster' : 'endpoint',
  };
}

/** The trimmed content of a file, read again once `ms` have passed or it changed. */
function rereadEvery(path: string, ms: number): () => string | undefined {
  let value: string | undefined;
  let readAt = 0;
  let mtime = 0;
  return () => {
    const now = Date.now();
    if (value !== undefined && now - readAt < ms) return value;
    try {
      const m = statSync(path).mtimeMs;
      if (value === undefined || m !== mtime) value = readFileSync(path, 'utf8').trim();
      mtime = m;
      readAt = now;
    } catch {
      // The API server's 401 then says what is wrong; the token is never logged.
    }
    return value;
  };
}

/** One readable line for a failed call: the server's own Status message, and a hint for 401/403. */
function describe(
  what: string,
  status: number,
  body: string,
  mode: KubeConnection['mode'],
): KubeApiError {
  let detail = body.replace(/\s+/g, ' ').trim().slice(0, 300);
  try {
    const parsed = JSON.parse(body) as ApiStatus;
    if (parsed.message) detail = parsed.message;
  } catch {
    // not a Status: keep the text
  }
  const hint =
    status === 401
      ? mode === 'kubeconfig'
        ? ' (the credentials were refused: check the user of the KUBECONFIG context)'
        : ' (the token was refused: check providers.kubernetes.token or tokenFile)'
      : status === 403
        ? ' (the service account needs list and watch on pods: see docs/configuration.md)'
        : '';
  return new KubeApiError(`${what}: HTTP ${status}${detail ? ` ${detail}` : ''}${hint}`, status);
}

/** The API calls, on one keep-alive connection pool. */
export class KubeClient {
  private readonly agent: Agent;

  constructor(private readonly conn: KubeConnection) {
    const { ca, cert, key, servername } = conn;
    this.agent = new Agent({
      connect: { ca, cert, key, servername, rejectUnauthorized: !conn.insecure },
      keepAliveTimeout: 30_000,
    });
  }

  private async headers(): Promise<Record<string, string>> {
    const authorization = await this.conn.authorization();
    return {
      accept: 'application/json',
      'user-agent': 'diun-exporter',
      ...(authorization ? { authorization } : {}),
    };
  }

  private url(path: string, query: Record<string, string | undefined>): URL {
    const url = new URL(path, this.conn.server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  private async get(
    what: string,
    url: URL,
    opts: { signal?: AbortSignal; bodyTimeoutMs?: number } = {},
  ) {
    try {
      return await request(url, {
        dispatcher: this.agent,
        headers: await this.headers(),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: opts.bodyTimeoutMs ?? REQUEST_TIMEOUT_MS,
        signal: opts.signal,
      });
    } catch (err) {
      throw new KubeApiError(`${what}: ${(err as Error).message} (${this.conn.server.origin})`);
    }
  }

  private async getJson<T>(what: string, url: URL): Promise<T> {
    const res = await this.get(what, url);
    const text = await res.body.text();
    if (res.statusCode >= 300) throw describe(what, res.statusCode, text, this.conn.mode);
    return JSON.parse(text) as T;
  }

  /**
   * Every pod of a namespace (or of all, for undefined), page by page, and the list's version.
   * `keep` turns each pod into what is kept (or undefined: left out) as its page arrives, so a
   * list of 10,000 pods never holds them all whole.
   */
  async listPods(
    namespace: string | undefined,
    keep: (pod: Pod) => Pod | undefined = (pod) => pod,
  ): Promise<{ items: Pod[]; resourceVersion: string }> {
    const path = podsPath(namespace);
    const what = `list pods ${scopeName(namespace)}`;
    const items: Pod[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.getJson<{
        items?: Pod[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>(what, this.url(path, { limit: String(PAGE_SIZE), continue: cont }));
      for (const pod of page.items ?? []) {
        const kept = keep(pod);
        if (kept) items.push(kept);
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Watches pods from `resourceVersion`, calling `onEvent` for each event, until the server ends
   * the stream (resolves) or it fails (rejects). An ERROR event rejects with its Status code, so
   * 410 Expired tells the caller to list again.
   */
  async watchPods(
    namespace: string | undefined,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    // As client-go: a server-side timeout between 5 and 10 minutes, so watches are spread out.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const what = `watch pods ${scopeName(namespace)}`;
    const url = this.url(podsPath(namespace), {
      watch: 'true',
      resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    const res = await this.get(what, url, {
      signal,
      // Silence longer than the server's own timeout (bookmarks come every minute) is a dead link.
      bodyTimeoutMs: (timeoutSeconds + 60) * 1000,
    }).catch((err: unknown) => {
      if (signal.aborted) return undefined;
      throw err;
    });
    if (res === undefined) return;
    if (res.statusCode >= 300)
      throw describe(what, res.statusCode, await res.body.text(), this.conn.mode);
    let rest = '';
    try {
      for await (const chunk of res.body) {
        rest += (chunk as Buffer).toString('utf8');
        let nl = rest.indexOf('\n');
        while (nl >= 0) {
          const line = rest.slice(0, nl).trim();
          rest = rest.slice(nl + 1);
          if (line) {
            const event = JSON.parse(line) as WatchEvent;
            if (event.type === 'ERROR') {
              const status = event.object as ApiStatus;
              throw new KubeApiError(
                `${what}: ${status.message ?? 'error event'}`,
                status.code ?? undefined,
              );
            }
            onEvent(event);
          }
          nl = rest.indexOf('\n');
        }
      }
    } catch (err) {
      res.body.destroy();
      if (signal.aborted) return;
      if (err instanceof KubeApiError) throw err;
      throw new KubeApiError(`${what}: ${(err as Error).message}`);
    }
  }

  /** A node's os and architecture; undefined when the node is gone. Throws on 403. */
  async nodePlatform(name: string): Promise<{ os: string; architecture: string } | undefined> {
    const url = this.url(`/api/v1/nodes/${encodeURIComponent(name)}`, {});
    const node = await this.getJson<{
      status?: { nodeInfo?: { operatingSystem?: string; architecture?: string } };
    }>(`get node "${name}"`, url).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    });
    const info = node?.status?.nodeInfo;
    if (!info?.operatingSystem || !info.architecture) return undefined;
    return { os: info.operatingSystem, architecture: info.architecture };
  }

  /** Ends the open watch and every connection; a call still under way fails, unreported. */
  close(): void {
    this.agent.destroy().catch(() => undefined);
  }
}

function podsPath(namespace: string | undefined): string {
  return namespace === undefined
    ? '/api/v1/pods'
    : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
}

/** `in namespace "shop"` or `in all namespaces`, for messages. */
function scopeName(namespace: string | undefined): string {
  return namespace === undefined ? 'in all namespaces' : `in namespace "${namespace}"`;
}
