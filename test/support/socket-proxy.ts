import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './exec.js';

export interface SocketProxy {
  /** `tcp://127.0.0.1:PORT`, for `providers.docker.endpoint`. */
  endpoint: string;
  /** Requests refused, as `METHOD path`: a read-only exporter makes none. */
  refused: string[];
  allowed: string[];
  /**
   * Paths answered 403 on top of the read-only rule, as docker-socket-proxy does for a section
   * left at 0 (`/\/images\//` for IMAGES=0); may be changed at any time.
   */
  forbid?: RegExp;
  /** Allowed requests whose path matches wait here until `release()`; may be changed at any time. */
  hold?: RegExp;
  /** Requests waiting on `hold` now. */
  held: number;
  /** Clears `hold` and forwards every request it kept. */
  release(): void;
  /** Severs every open events stream on both sides, as a proxy restart or a network cut does. */
  cutEvents(): number;
  close(): Promise<void>;
}

// HAProxy's own 403 page, which docker-socket-proxy answers for a forbidden section.
const haproxyForbidden =
  '<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n';

// What a read-only docker-socket-proxy (CONTAINERS=1 IMAGES=1 EVENTS=1 VERSION=1 PING=1, POST=0)
// lets through: reads of containers, images, events, version and ping, nothing else.
const readOnly =
  /^(\/v[\d.]+)?\/(_ping|version|events|containers\/json|containers\/[\w.-]+\/json|images\/[^?]+\/json)(\?|$)/;

/** A read-only socket proxy on 127.0.0.1 in front of a Docker unix socket, as users run one. */
export async function startSocketProxy(dockerHost: string, port = 0): Promise<SocketProxy> {
  const socketPath = dockerHost.replace(/^unix:\/\//, '');
  const waiting: Array<() => void> = [];
  const events = new Set<{ destroy(): void }>();
  const proxy: SocketProxy = {
    endpoint: '',
    refused: [],
    allowed: [],
    held: 0,
    release() {
      proxy.hold = undefined;
      proxy.held = 0;
      for (const forward of waiting.splice(0)) forward();
    },
    cutEvents() {
      const cut = events.size;
      for (const side of events) side.destroy();
      events.clear();
      return cut;
    },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (!['GET', 'HEAD'].includes(req.method ?? '') || !readOnly.test(req.url ?? '')) {
      proxy.refused.push(line);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden\n');
      return;
    }
    if (proxy.forbid?.test(req.url ?? '')) {
      proxy.refused.push(line);
      res.writeHead(403, { 'content-type': 'text/html' }).end(haproxyForbidden);
      return;
    }
    proxy.allowed.push(line);
    if (proxy.hold?.test(req.url ?? '')) {
      proxy.held += 1;
      waiting.push(() => forward(req, res));
      return;
    }
    forward(req, res);
  });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
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
    if (/\/events(\?|$)/.test(req.url ?? '')) {
      const both = {
        destroy() {
          upstream.destroy();
          res.destroy();
        },
      };
      events.add(both);
      res.on('close', () => events.delete(both));
    }
  };
  const listening = await listenOnLoopback(server, port);
  proxy.endpoint = `tcp://127.0.0.1:${listening.port}`;
  proxy.close = listening.close;
  return proxy;
}
