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
