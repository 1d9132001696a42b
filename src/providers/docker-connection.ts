import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import type { DockerEndpoint } from '../config/schema.js';

/** Where the Engine API of one endpoint is asked, and the connection pool that asks it. */
export interface EngineConnection {
  /** `http://localhost` for a unix socket, else the daemon's `http(s)://host:port`. */
  origin: string;
  agent: Agent;
}

/** How many connections the pool may open, and how long connecting may take. */
export interface PoolLimits {
  connections: number;
  connectTimeoutMs: number;
}

/**
 * The connection to a Diun-style endpoint (`unix:///var/run/docker.sock`, `tcp://proxy:2375`,
 * `https://host:2376`, or tcp:// with `tlsCertsPath`); a missing certificate file throws.
 */
export function engineConnection(ep: DockerEndpoint, limits: PoolLimits): EngineConnection {
  const url = new URL(ep.endpoint);
  const { connections, connectTimeoutMs: timeout } = limits;
  if (url.protocol === 'unix:') {
    return {
      origin: 'http://localhost',
      agent: new Agent({ connections, connect: { socketPath: url.pathname, timeout } }),
    };
  }
  const tls = ep.tlsCertsPath !== undefined || url.protocol === 'https:';
  const port = url.port || (tls ? 2376 : 2375);
  const origin = `${tls ? 'https' : 'http'}://${url.hostname}:${port}`;
  if (!tls) return { origin, agent: new Agent({ connections, connect: { timeout } }) };
  const read = (name: string) => readFileSync(join(ep.tlsCertsPath!, name));
  const certs = ep.tlsCertsPath
    ? { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') }
    : {};
  // Diun's tlsVerify: false still speaks TLS (and presents the client certificate) but accepts
  // any server certificate, as `docker --tls` without `--tlsverify` does.
  return {
    origin,
    agent: new Agent({
      connections,
      connect: { ...certs, rejectUnauthorized: ep.tlsVerify, timeout },
    }),
  };
}

/** What a call rejects with when the daemon or a proxy answers an error status. */
export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** The answer's body: its JSON (`{ message }` from the daemon), else its text. */
    readonly json: unknown,
  ) {
    super(`HTTP ${statusCode}`);
    this.name = 'DockerApiError';
  }
}

/** The HTTP status of a Docker API answer that failed, or undefined for a connection error. */
export function dockerStatus(err: unknown): number | undefined {
  return err instanceof DockerApiError ? err.statusCode : undefined;
}

/**
 * One readable message for a failed Docker API call, naming the call and the HTTP status
 * (`image inspect sha256:0123456789ab: HTTP 403 Forbidden`); a 403 says which proxy setting is missing.
 */
export function describeDockerError(
  what: string,
  err: unknown,
  proxyAllows = 'CONTAINERS=1 IMAGES=1 EVENTS=1',
): Error {
  const status = dockerStatus(err);
  if (status === undefined) {
    const message = err instanceof Error ? err.message : String(err);
    return new Error(`${what}: ${message}`);
  }
  const body = (err as DockerApiError).json;
  const detail =
    typeof body === 'object' && body !== null && 'message' in body
      ? String(body.message)
      : String(body ?? '')
          .replace(/<[^>]*>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim()
          .replace(new RegExp(`^${status} `), '') // HAProxy's page repeats the status
          .slice(0, 160);
  const hint = status === 403 ? ` (refused by a socket proxy? it must allow ${proxyAllows})` : '';
  return new Error(`${what}: HTTP ${status}${detail ? ` ${detail}` : ''}${hint}`);
}
