import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import type { DockerEndpoint } from '../config/schema.js';

/** dockerode options for a Diun-style endpoint (`unix:///var/run/docker.sock`, `tcp://proxy:2375`). */
export function connectionOptions(ep: DockerEndpoint, timeoutMs?: number): Dockerode.DockerOptions {
  const url = new URL(ep.endpoint);
  if (url.protocol === 'unix:') return { socketPath: url.pathname, timeout: timeoutMs };
  const tls = ep.tlsCertsPath !== undefined || url.protocol === 'https:';
  // docker-modem passes `agent` to https.request; its typings omit it.
  const opts: Dockerode.DockerOptions & { agent?: Agent } = {
    host: url.hostname,
    port: url.port || (tls ? 2376 : 2375),
    protocol: tls ? 'https' : 'http',
    timeout: timeoutMs,
  };
  if (ep.tlsCertsPath) {
    const read = (name: string) => readFileSync(join(ep.tlsCertsPath!, name));
    opts.ca = read('ca.pem');
    opts.cert = read('cert.pem');
    opts.key = read('key.pem');
  }
  // Diun's tlsVerify: false still speaks TLS (and presents the client certificate) but accepts
  // any server certificate, as `docker --tls` without `--tlsverify` does.
  if (tls && !ep.tlsVerify) {
    opts.agent = new Agent({
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: false,
    });
  }
  return opts;
}

/** What dockerode (docker-modem) rejects with when the daemon or a proxy answers an error. */
interface DockerApiError extends Error {
  statusCode?: number;
  json?: unknown;
}

/** The HTTP status of a Docker API answer that failed, or undefined for a connection error. */
export function dockerStatus(err: unknown): number | undefined {
  return (err as DockerApiError | undefined)?.statusCode;
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
