import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SocketProxy {
  /** `tcp://127.0.0.1:PORT`, for `providers.docker.endpoint`. */
  endpoint: string;
  /** Requests refused, as `METHOD path`: a read-only exporter makes none. */
  refused: string[];
  allowed: string[];
  close(): Promise<void>;
}

// What a read-only docker-socket-proxy (CONTAINERS=1 IMAGES=1 EVENTS=1 VERSION=1 PING=1, POST=0)
// lets through: reads of containers, images, events, version and ping, nothing else.
const readOnly =
  /^(\/v[\d.]+)?\/(_ping|version|events|containers\/json|containers\/[\w.-]+\/json|images\/[^?]+\/json)(\?|$)/;

/** A read-only socket proxy on 127.0.0.1 in front of a Docker unix socket, as users run one. */
export async function startSocketProxy(dockerHost: string, port = 0): Promise<SocketProxy> {
  const socketPath = dockerHost.replace(/^unix:\/\//, '');
  const proxy: SocketProxy = { endpoint: '', refused: [], allowed: [], close: async () => {} };
  const server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (!['GET', 'HEAD'].includes(req.method ?? '') || !readOnly.test(req.url ?? '')) {
      proxy.refused.push(line);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden\n');
      return;
    }
    proxy.allowed.push(line);
    const upstream = request(
      { socketPath, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        // Send the headers now, as HAProxy does: an events stream has no body until an event.
        res.flushHeaders();
        up.pipe(res);
        up.on('close', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end('Bad Gateway\n');
      else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  proxy.endpoint = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
