// A stand-in for kube-apiserver (none can be installed here): the part of the core/v1 API a
// pod-watching provider uses, answered with the JSON kube-apiserver v1.31 sends. Pods are listed
// (with limit/continue paging) and watched (chunked JSON lines, bookmarks, 410 Expired after
// compaction); a Bearer token, RBAC refusals and TLS are modelled. Shapes come from the recorded
// responses in test/fixtures/kubernetes/ (see its README.md). The discovery documents kubectl
// reads (/api, /apis, ...) come from kube-discovery.ts.
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { discoveryDocument } from './kube-discovery.js';
import { type Node, type Pod, readKubeFixture } from './kube-objects.js';

export {
  fixtureNode,
  fixturePod,
  type Node,
  type Pod,
  type PodFixture,
  readKubeFixture,
} from './kube-objects.js';

export interface KubeApiRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** The CN of a client certificate the server's client CA verified, if one was sent. */
  clientCertificate?: string;
}

export interface KubeApiServer {
  /** `http(s)://127.0.0.1:PORT`, the cluster's server URL. */
  url: string;
  /** Every request seen, answered or refused, in order. */
  requests: KubeApiRequest[];
  /** Stores a pod under a new resourceVersion and sends ADDED to the watches that see it. */
  addPod(pod: Pod): void;
  /** Replaces the pod of the same namespace/name and sends MODIFIED (or ADDED/DELETED to a watch
   *  whose field selector the change moves the pod into or out of). */
  updatePod(pod: Pod): void;
  /** Removes a pod and sends DELETED with its last state. */
  deletePod(namespace: string, name: string): void;
  /** The stored pods, sorted as etcd keys sort (namespace, then name). */
  pods(): Pod[];
  /** The server's current resourceVersion (what a list made now would carry). */
  resourceVersion(): string;
  /** As an etcd compaction does: every open watch ends with an ERROR event carrying a 410 Expired
   *  Status, and watches or continue tokens from a resourceVersion older than now answer 410 too. */
  expireWatches(): void;
  /** Ends open watch streams cleanly, as the server does when timeoutSeconds runs out. */
  closeWatches(): void;
  /** Number of open watch streams. */
  openWatches(): number;
  /** List/watch/get of pods in `namespace` answer 403; `'*'` refuses the all-namespaces list and
   *  watch only (the cluster-scope rule), as RBAC with namespaced Roles but no ClusterRole does. */
  forbid(namespace: string): void;
  stop(): Promise<void>;
}

export interface KubeApiServerOptions {
  /** When set, requests need `Authorization: Bearer <token>` (else 401); a function accepts
   *  every token it returns true for (tokens an exec plugin hands out one after the other). */
  token?: string | ((token: string) => boolean);
  /** The user RBAC refusals name; defaults to the exporter's service account. */
  user?: string;
  /** Serve https with this certificate (e.g. `server-cert.pem` of makeDockerTlsCerts). With
   *  `clientCa`, as kube-apiserver's --client-ca-file: a client certificate that CA signed
   *  authenticates the request, and then is required unless a valid token is sent. */
  tls?: { cert: string | Buffer; key: string | Buffer; clientCa?: string | Buffer };
  pods?: Pod[];
  nodes?: Node[];
  /** Milliseconds between BOOKMARK events on watches that allow them; default 1000. */
  bookmarkIntervalMs?: number;
}

const DEFAULT_USER = 'system:serviceaccount:monitoring:diun-exporter';
// A cluster that has lived a little: resourceVersions are etcd revisions, never small.
const FIRST_RESOURCE_VERSION = 48_000;

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  rv: number;
  type: EventType;
  object: Pod;
  previous?: Pod;
}

interface Watch {
  res: ServerResponse;
  sees: (pod: Pod) => boolean;
  lastRv: number;
  timers: NodeJS.Timeout[];
}

/** Starts the stand-in on 127.0.0.1 with a random port. */
export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const user = opts.user ?? DEFAULT_USER;
  const bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
  const requests: KubeApiRequest[] = [];
  const store = new Map<string, Pod>();
  const nodes = new Map((opts.nodes ?? []).map((n) => [n.metadata.name, typed(n, 'Node')]));
  const forbidden = new Set<string>();
  const watches = new Set<Watch>();
  // Changes a watch can still be served from; older ones are compacted away.
  let log: Change[] = [];
  // Full sorted stores at the resourceVersion of a list that handed out a continue token.
  const snapshots = new Map<number, Pod[]>();
  let rv = FIRST_RESOURCE_VERSION;
  let compactedRv = rv;

  const sorted = () => [...store.values()].sort((a, b) => compare(podKey(a), podKey(b)));

  const record = (type: EventType, object: Pod, previous?: Pod) => {
    const change: Change = { rv, type, object, ...(previous && { previous }) };
    log.push(change);
    for (const watch of watches) send(watch, change);
  };
  const stamp = (pod: Pod): Pod => {
    const copy = typed(structuredClone(pod), 'Pod');
    rv++;
    copy.metadata.resourceVersion = String(rv);
    copy.metadata.uid ??= randomUUID();
    copy.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return copy;
  };

  for (const pod of opts.pods ?? []) store.set(podKey(pod), stamp(pod));
  compactedRv = rv;

  const endWatch = (watch: Watch, last?: string) => {
    if (!watches.delete(watch)) return;
    for (const timer of watch.timers) clearTimeout(timer);
    watch.res.end(last);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const socket = req.socket as TLSSocket;
    const peer = opts.tls?.clientCa && socket.authorized ? socket.getPeerCertificate() : undefined;
    const cn: string | string[] | undefined = peer?.subject?.CN;
    const clientCertificate = Array.isArray(cn) ? cn[0] : cn;
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }),
      ...(clientCertificate !== undefined && { clientCertificate }),
    });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const tokenOk =
      bearer !== undefined &&
      (typeof opts.token === 'function' ? opts.token(bearer) : bearer === opts.token);
    // /version is readable anonymously (system:public-info-viewer), but a bad token is still 401.
    const anonymousOk = url.pathname === '/version' && req.headers.authorization === undefined;
    const authRequired = opts.token !== undefined || opts.tls?.clientCa !== undefined;
    // As kube-apiserver: a token that is sent must be good; else a verified certificate will do.
    const authenticated =
      req.headers.authorization !== undefined ? tokenOk : clientCertificate !== undefined;
    if (authRequired && !authenticated && !anonymousOk) {
      return answer(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    if (req.method !== 'GET') {
      return answer(
        res,
        405,
        status(
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
          {},
        ),
      );
    }
    const parts = url.pathname.split('/').filter(Boolean);
    if (url.pathname === '/version') return answer(res, 200, readKubeFixture('version.json'));
    const { localAddress, localPort } = req.socket;
    const discovery = discoveryDocument(url.pathname, `${localAddress}:${localPort}`);
    if (discovery) return answer(res, 200, discovery);
    if (parts.length === 3 && url.pathname === '/api/v1/pods') return collection(res, query);
    if (
      parts.length === 5 &&
      parts.slice(0, 3).join('/') === 'api/v1/namespaces' &&
      parts[4] === 'pods'
    ) {
      return collection(res, query, parts[3]);
    }
    if (
      parts.length === 6 &&
      parts.slice(0, 3).join('/') === 'api/v1/namespaces' &&
      parts[4] === 'pods'
    ) {
      const [namespace, name] = [parts[3]!, parts[5]!];
      if (forbidden.has(namespace)) return refuse(res, 'get', namespace, name);
      const pod = store.get(`${namespace}/${name}`);
      return pod ? answer(res, 200, pod) : notFound(res, 'pods', name);
    }
    if (parts.length === 4 && url.pathname.startsWith('/api/v1/nodes/')) {
      const name = parts[3]!;
      const node = nodes.get(name);
      return node ? answer(res, 200, node) : notFound(res, 'nodes', name);
    }
    answer(
      res,
      404,
      status(404, 'NotFound', 'the server could not find the requested resource', {}),
    );
  };

  const refuse = (res: ServerResponse, verb: string, namespace?: string, name?: string) => {
    const scope =
      namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
    const message = `pods${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "pods" in API group "" ${scope}`;
    answer(res, 403, status(403, 'Forbidden', message, { ...(name && { name }), kind: 'pods' }));
  };

  // GET .../pods: a list, or with watch=1|true a stream of events.
  const collection = (res: ServerResponse, query: Record<string, string>, namespace?: string) => {
    const watching = query.watch === '1' || query.watch === 'true';
    if (forbidden.has(namespace ?? '*')) return refuse(res, watching ? 'watch' : 'list', namespace);
    let selects: (pod: Pod) => boolean;
    try {
      selects = selector(query.fieldSelector, query.labelSelector);
    } catch (error) {
      return answer(res, 400, status(400, 'BadRequest', (error as Error).message));
    }
    const sees = (pod: Pod) =>
      (namespace === undefined || pod.metadata.namespace === namespace) && selects(pod);
    if (watching) return watch(res, query, sees);

    let all = sorted();
    let listRv = rv;
    let start = '';
    if (query.continue) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64').toString()) as typeof token;
      } catch {
        return answer(
          res,
          400,
          status(400, 'BadRequest', 'continue key is not valid: illegal base64 data'),
        );
      }
      const snapshot = snapshots.get(token.rv);
      if (!snapshot) {
        return answer(
          res,
          410,
          status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        );
      }
      [all, listRv, start] = [snapshot, token.rv, token.start];
    }
    const items = all.filter((pod) => podKey(pod) >= start && sees(pod));
    const limit = Number(query.limit ?? 0);
    // A list served from the watch cache (resourceVersion=0) ignores limit, as the real one does.
    const paged = limit > 0 && query.resourceVersion !== '0' && items.length > limit;
    const page = paged ? items.slice(0, limit) : items;
    const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (paged) {
      if (!snapshots.has(listRv)) snapshots.set(listRv, all);
      const next = { v: 'meta.k8s.io/v1', rv: listRv, start: `${podKey(page.at(-1)!)}\u0000` };
      metadata.continue = Buffer.from(JSON.stringify(next)).toString('base64');
      // Only known without selectors: the server counts keys, not matches.
      if (!query.fieldSelector && !query.labelSelector)
        metadata.remainingItemCount = items.length - limit;
    }
    answer(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata, items: page.map(untyped) });
  };

  const watch = (
    res: ServerResponse,
    query: Record<string, string>,
    sees: (pod: Pod) => boolean,
  ) => {
    res.writeHead(200, { ...headers(), 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = query.resourceVersion;
    const fromRv = Number(from);
    if (from && from !== '0' && fromRv < compactedRv) {
      // The real server answers 200, then one ERROR event, then ends the stream.
      const expired = status(410, 'Expired', `too old resource version: ${from} (${compactedRv})`);
      return res.end(line('ERROR', expired));
    }
    const w: Watch = { res, sees, lastRv: rv, timers: [] };
    watches.add(w);
    res.on('close', () => endWatch(w));
    if (!from || from === '0') {
      // No resourceVersion: the current state as synthetic ADDED events, then what follows.
      for (const pod of sorted()) if (sees(pod)) res.write(line('ADDED', pod));
    } else {
      for (const change of log) if (change.rv > fromRv) send(w, change);
    }
    w.lastRv = rv;
    if (query.allowWatchBookmarks === 'true') {
      const bookmark = setInterval(() => {
        const object = { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } };
        res.write(line('BOOKMARK', object));
      }, bookmarkIntervalMs);
      w.timers.push(bookmark);
    }
    if (query.timeoutSeconds) {
      w.timers.push(setTimeout(() => endWatch(w), Number(query.timeoutSeconds) * 1000));
    }
  };

  const server = opts.tls
    ? createHttpsServer(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ...(opts.tls.clientCa !== undefined && {
            ca: opts.tls.clientCa,
            requestCert: true,
            rejectUnauthorized: false,
          }),
        },
        handle,
      )
    : createHttpServer(handle);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    addPod(pod) {
      if (store.has(podKey(pod))) throw new Error(`pods "${pod.metadata.name}" already exists`);
      const stored = stamp(pod);
      store.set(podKey(stored), stored);
      record('ADDED', stored);
    },
    updatePod(pod) {
      const previous = store.get(podKey(pod));
      if (!previous) throw new Error(`pods "${pod.metadata.name}" not found`);
      const stored = stamp({ ...pod, metadata: { ...pod.metadata, uid: previous.metadata.uid } });
      store.set(podKey(stored), stored);
      record('MODIFIED', stored, previous);
    },
    deletePod(namespace, name) {
      const previous = store.get(`${namespace}/${name}`);
      if (!previous) throw new Error(`pods "${name}" not found`);
      store.delete(`${namespace}/${name}`);
      record('DELETED', stamp(previous));
    },
    pods: () => sorted().map((pod) => structuredClone(pod)),
    resourceVersion: () => String(rv),
    expireWatches() {
      for (const w of [...watches]) {
        const expired = status(410, 'Expired', `too old resource version: ${w.lastRv} (${rv})`);
        endWatch(w, line('ERROR', expired));
      }
      compactedRv = rv;
      log = [];
      snapshots.clear();
    },
    closeWatches() {
      for (const w of [...watches]) endWatch(w);
    },
    openWatches: () => watches.size,
    forbid(namespace) {
      forbidden.add(namespace);
    },
    async stop() {
      for (const w of [...watches]) endWatch(w);
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}

// A change as one watch sees it: a field selector turns a MODIFIED that moves the pod into or out
// of its view into ADDED or DELETED, as kube-apiserver's watch cache does.
function send(watch: Watch, change: Change): void {
  const now = watch.sees(change.object);
  const before = change.previous !== undefined && watch.sees(change.previous);
  let type: EventType | undefined = now ? change.type : undefined;
  if (change.type === 'MODIFIED')
    type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
  watch.lastRv = change.rv;
  if (type) watch.res.write(line(type, change.object));
}

// Field selectors kube-apiserver supports for pods, and equality-based label selectors.
const POD_FIELDS: Record<string, (pod: Pod) => string> = {
  'metadata.name': (pod) => pod.metadata.name,
  'metadata.namespace': (pod) => pod.metadata.namespace,
  'spec.nodeName': (pod) => pod.spec.nodeName ?? '',
  'status.phase': (pod) => pod.status.phase ?? '',
  'status.podIP': (pod) => String(pod.status.podIP ?? ''),
};

function selector(fields = '', labels = ''): (pod: Pod) => boolean {
  const tests: ((pod: Pod) => boolean)[] = [];
  for (const term of fields.split(',').filter(Boolean)) {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term);
    const field = m && POD_FIELDS[m[1]!];
    if (!m || !field) throw new Error(`field label not supported: ${m?.[1] ?? term}`);
    const [negate, value] = [m[2] === '!=', m[3]!];
    tests.push((pod) => (field(pod) === value) !== negate);
  }
  for (const term of labels.split(',').filter(Boolean)) {
    const m = /^(!?)([^!=\s]+)(?:(!=|==|=)(.*))?$/.exec(term.trim());
    if (!m)
      throw new Error(
        `unable to parse requirement: ${term} (set-based selectors are not modelled)`,
      );
    const [, not, key, op, value] = m;
    tests.push((pod) => {
      const actual = pod.metadata.labels?.[key!];
      if (op === undefined) return (actual !== undefined) !== (not === '!');
      return (actual === value) !== (op === '!=');
    });
  }
  return (pod) => tests.every((test) => test(pod));
}

function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function typed<T extends Pod | Node>(object: T, kind: 'Pod' | 'Node'): T {
  const { kind: _k, apiVersion: _v, ...rest } = object;
  return { kind, apiVersion: 'v1', ...rest } as T;
}

// Items of a list carry no kind/apiVersion; the list does.
function untyped(pod: Pod): Omit<Pod, 'kind' | 'apiVersion'> {
  const { kind: _k, apiVersion: _v, ...rest } = pod;
  return rest;
}

function line(type: string, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

/** A meta/v1 Status as kube-apiserver words a failure. */
function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details && { details }),
    code,
  };
}

function headers(): Record<string, string> {
  return {
    'audit-id': randomUUID(),
    'cache-control': 'no-cache, private',
    'content-type': 'application/json',
  };
}

function answer(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, headers()).end(JSON.stringify(body));
}

/** The real server's 404 for a named object of `kind` (`pods`, `nodes`). */
function notFound(res: ServerResponse, kind: string, name: string): void {
  answer(res, 404, status(404, 'NotFound', `${kind} "${name}" not found`, { name, kind }));
}
