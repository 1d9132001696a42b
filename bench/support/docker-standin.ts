import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../../test/support/exec.js';

/**
 * What the stand-in serves: containers, each running one of `images`. An image's `RepoDigests`
 * are `<repository>@<digest>` as `docker pull` leaves them.
 */
export interface StandinImage {
  /** `sha256:<64 hex>` */
  id: string;
  /** `127.0.0.1:PORT/bench/app-1:1.0`, what `docker ps` shows as the container's `Image`. */
  reference: string;
  repoDigests: string[];
}

export interface StandinContainer {
  id: string;
  name: string;
  image: StandinImage;
  labels: Record<string, string>;
}

export interface DockerStandin {
  /** `tcp://127.0.0.1:PORT`: a `providers.docker.endpoint`. */
  endpoint: string;
  /** Requests so far by kind (`GET /containers/json`, `GET /images/{id}/json`, ...). */
  counts(): Record<string, number>;
  /** Every request so far: its kind, arrival and answer end (`performance.now()`). */
  log: Array<{ kind: string; arrivedMs: number; doneMs: number }>;
  /** TCP connections the client opened so far: how many calls it had in flight at most. */
  connections(): number;
  close(): Promise<void>;
}

/** `sha256:` and 64 hex digits made from `seed`: a stable, well-formed id. */
export function fakeId(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** A request path reduced to the kind of Engine API call it is (ids and version prefix dropped). */
export function apiKind(method: string, url: string): string {
  const path = url.split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
  if (path === '/_ping') return `${method} /_ping`;
  if (/^\/images\/.+\/json$/.test(path)) return `${method} /images/{id}/json`;
  if (/^\/containers\/[^/]+\/json$/.test(path) && path !== '/containers/json') {
    return `${method} /containers/{id}/json`;
  }
  return `${method} ${path}`;
}

/**
 * A Docker Engine API stand-in on 127.0.0.1, for more containers than the throwaway dockerd here
 * can hold cheaply. It answers what the docker provider asks, in the engine's JSON
 * shapes: `/_ping`, `/version`, `/containers/json`, `/containers/{id}/json`, `/images/{id}/json`,
 * and `/events`, held open with no event. Anything else is a 404 and counted, so a new call shows.
 */
export async function startDockerStandin(containers: StandinContainer[]): Promise<DockerStandin> {
  const counts: Record<string, number> = {};
  const log: DockerStandin['log'] = [];
  const images = new Map<string, StandinImage>();
  for (const c of containers) images.set(c.image.id, c.image);
  const byId = new Map(containers.map((c) => [c.id, c]));
  const created = Math.floor(Date.parse('2026-11-01T00:00:00Z') / 1000);
  const listing = JSON.stringify(containers.map((c) => summary(c, created)));
  const events = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const kind = apiKind(method, req.url ?? '/');
    counts[kind] = (counts[kind] ?? 0) + 1;
    const entry = { kind, arrivedMs: performance.now(), doneMs: Number.NaN };
    log.push(entry);
    res.on('finish', () => {
      entry.doneMs = performance.now();
    });
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
    const json = (status: number, body: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'api-version': '1.43',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    if (kind === 'GET /_ping' || kind === 'HEAD /_ping') {
      res.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.43' });
      return res.end(method === 'HEAD' ? undefined : 'OK');
    }
    if (kind === 'GET /version') {
      return json(200, JSON.stringify({ Version: '24.0.0-standin', ApiVersion: '1.43' }));
    }
    if (kind === 'GET /containers/json') return json(200, listing);
    if (kind === 'GET /containers/{id}/json') {
      const c = byId.get(decodeURIComponent(path.split('/')[2]!));
      if (!c) return json(404, JSON.stringify({ message: 'No such container' }));
      return json(200, JSON.stringify(inspectContainer(c)));
    }
    if (kind === 'GET /images/{id}/json') {
      const id = decodeURIComponent(path.slice('/images/'.length, -'/json'.length));
      const image = images.get(id);
      if (!image) return json(404, JSON.stringify({ message: `No such image: ${id}` }));
      return json(200, JSON.stringify(inspectImage(image, created)));
    }
    if (kind === 'GET /events') {
      // Held open with no event, as a quiet engine does; headers go out at once.
      res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.43' });
      res.flushHeaders();
      events.add(res);
      res.on('close', () => events.delete(res));
      return;
    }
    json(404, JSON.stringify({ message: `page not found: ${kind}` }));
  });
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  const listening = await listenOnLoopback(server);
  return {
    endpoint: `tcp://127.0.0.1:${listening.port}`,
    counts: () => ({ ...counts }),
    log,
    connections: () => connections,
    async close() {
      for (const res of events) res.destroy();
      server.closeAllConnections();
      await listening.close();
    },
  };
}

function summary(c: StandinContainer, created: number) {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image.reference,
    ImageID: c.image.id,
    Command: '/bin/sleep infinity',
    Created: created,
    Ports: [],
    Labels: c.labels,
    State: 'running',
    Status: 'Up 2 days',
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

function inspectContainer(c: StandinContainer) {
  return {
    Id: c.id,
    Name: `/${c.name}`,
    Image: c.image.id,
    State: { Status: 'running', Running: true },
    Config: { Image: c.image.reference, Labels: c.labels },
  };
}

function inspectImage(image: StandinImage, created: number) {
  return {
    Id: image.id,
    RepoTags: [image.reference],
    RepoDigests: image.repoDigests,
    Parent: '',
    Comment: '',
    Created: new Date(created * 1000).toISOString(),
    DockerVersion: '',
    Author: '',
    Config: { Cmd: ['/bin/sleep', 'infinity'], Labels: null },
    Architecture: 'amd64',
    Os: 'linux',
    Size: 1_234_567,
    GraphDriver: { Name: 'overlay2', Data: null },
    RootFS: { Type: 'layers', Layers: [fakeId(`${image.id} layer`)] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}
