import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LatencyProxy {
  /** `127.0.0.1:PORT`: use it as the registry part of image references. */
  host: string;
  /** Delay added before each request is forwarded, in ms; may be changed at any time. */
  delayMs: number;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of a real registry that adds latency and records requests.
 * The Host header is forwarded unchanged, so the registry's Location headers point back here.
 */
export async function startLatencyProxy(target: string, delayMs = 0): Promise<LatencyProxy> {
  const [targetHost, targetPort] = target.split(':');
  const proxy: LatencyProxy = { host: '', delayMs, seen: [], close: async () => {} };
  const server = createServer((req, res) => {
    proxy.seen.push(`${req.method} ${req.url}`);
    setTimeout(() => {
      const upstream = request(
        {
          host: targetHost,
          port: Number(targetPort),
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }, proxy.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
