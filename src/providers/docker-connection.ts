import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import type { DockerEndpoint } from '../config/schema.js';

/** dockerode options for a Diun-style endpoint (`unix:///var/run/docker.sock`, `tcp://proxy:2375`). */
export function connectionOptions(ep: DockerEndpoint, timeoutMs?: number): Dockerode.DockerOptions {
  const url = new URL(ep.endpoint);
  if (url.protocol === 'unix:') return { socketPath: url.pathname, timeout: timeoutMs };
  const tls = ep.tlsCertsPath !== undefined || url.protocol === 'https:';
  const opts: Dockerode.DockerOptions = {
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
  return opts;
}
