/**
 * The few Docker Engine API calls the docker and swarm providers make (list containers and
 * services, inspect an image or a container, the version, the events stream), over undici. No
 * client library: dockerode's docker-modem loads ssh2, and its WebAssembly takes 16 MiB, whatever
 * the endpoint. Paths carry no API version, as dockerode's did: the daemon answers in its own,
 * and socket proxies (which match `^(/v[\d.]+)?/containers`) let them through.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import type { DockerEndpoint } from '../config/schema.js';
import {
  DockerApiError,
  type EngineConnection,
  engineConnection,
  type PoolLimits,
} from './docker-connection.js';

/** The part of a container in GET /containers/json the docker provider reads. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  /** What `docker ps` shows: the reference it was created from, or an id once the tag moved. */
  Image: string;
  ImageID: string;
  Labels?: Record<string, string> | null;
  State: string;
}

/** The part of GET /images/{id}/json the docker provider reads. */
export interface ImageInspect {
  Os?: string;
  Architecture?: string;
  Variant?: string;
  Created?: string;
  RepoDigests?: string[] | null;
  Config?: { Labels?: Record<string, string> | null } | null;
}

/** The part of GET /containers/{id}/json the docker provider reads. */
export interface ContainerInspect {
  Config: { Image: string };
}

/** The part of a service (GET /services) the swarm provider reads. */
export interface ServiceInfo {
  ID: string;
  Spec?: {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: { ContainerSpec?: { Image?: string } };
  };
}

/** The part of GET /version the swarm provider reads: the daemon's platform. */
export interface EngineVersion {
  Os: string;
  Arch: string;
}

/** One endpoint's Engine API, on one keep-alive connection pool. */
export class DockerApi {
  private readonly conn: EngineConnection;

  private readonly timeoutMs: number;

  /**
   * `connectTimeoutMs` also bounds each wait on an answer (the events stream has none);
   * `connections` bounds the sockets open at once, the events stream's included.
   */
  constructor(ep: DockerEndpoint, limits: PoolLimits) {
    this.conn = engineConnection(ep, limits);
    this.timeoutMs = limits.connectTimeoutMs;
  }

  listContainers(all: boolean): Promise<ContainerSummary[]> {
    return this.get(`/containers/json?all=${all}`);
  }

  inspectImage(id: string): Promise<ImageInspect> {
    return this.get(`/images/${id}/json`);
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.get(`/containers/${id}/json`);
  }

  listServices(): Promise<ServiceInfo[]> {
    return this.get('/services');
  }

  version(): Promise<EngineVersion> {
    return this.get('/version');
  }

  /**
   * The events stream (newline-delimited JSON, silent for hours on a quiet host) once the daemon
   * has answered; no timeout once open. `signal` gives up on a daemon that does not answer.
   */
  async events(filters: Record<string, string[]>, signal: AbortSignal): Promise<Readable> {
    const query = encodeURIComponent(JSON.stringify(filters));
    const res = await request(`${this.conn.origin}/events?filters=${query}`, {
      dispatcher: this.conn.agent,
      signal,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200) throw await failure(res.statusCode, res.body);
    return res.body;
  }

  /** Ends the pool once the calls under way have answered; the events stream is the caller's. */
  close(): void {
    this.conn.agent.close().catch(() => undefined);
  }

  private async get<T>(path: string): Promise<T> {
    const res = await request(`${this.conn.origin}${path}`, {
      dispatcher: this.conn.agent,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    if (res.statusCode !== 200) throw await failure(res.statusCode, res.body);
    return (await res.body.json()) as T;
  }
}

/** The error for an answer other than 200: its status, and its body as JSON if it is, else text. */
async function failure(status: number, body: Readable & { text(): Promise<string> }) {
  const text = await body.text().catch(() => '');
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // a proxy's HTML page, or plain text: kept as it is
  }
  return new DockerApiError(status, json);
}
