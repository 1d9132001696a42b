import { createServer, request } from 'node:http';
import { listenOnLoopback } from '../../test/support/exec.js';
import { type Counts, kindOf, zero } from './requests.js';

/** One request through the proxy: its kind, when it arrived and when its answer ended. */
export interface ProxiedRequest {
  kind: keyof Counts;
  method: string;
  path: string;
  status: number;
  arrivedMs: number;
  doneMs: number;
}

export interface CountingProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Added before each request is forwarded, in ms; may be changed between runs. */
  delayMs: number;
  /** Every request so far, in arrival order. */
  requests: ProxiedRequest[];
  /** TCP connections accepted so far: with keep-alive, far fewer than requests. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A pass-through proxy on 127.0.0.1 in front of `target` (`host:port`) that waits `delayMs`
 * before forwarding each request (one round trip of a remote registry) and records each request
 * with its kind and timing. The Host header is forwarded, so Location headers point back here.
 */
export async function startCountingProxy(target: string, delayMs = 0): Promise<CountingProxy> {
  const [targetHost, targetPort] = target.split(':');
  const proxy: CountingProxy = {
    host: '',
    delayMs,
    requests: [],
    connections: 0,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const entry: ProxiedRequest = {
      kind: kindOf(req.method ?? 'GET', req.url ?? '/', { tokenService: true }),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
      arrivedMs: performance.now(),
      doneMs: Number.NaN,
    };
    proxy.requests.push(entry);
    res.on('finish', () => {
      entry.doneMs = performance.now();
      entry.status = res.statusCode;
    });
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
  server.on('connection', () => proxy.connections++);
  const listening = await listenOnLoopback(server);
  proxy.host = `127.0.0.1:${listening.port}`;
  proxy.close = listening.close;
  return proxy;
}

/** Requests by kind over `requests`. */
export function countKinds(requests: ProxiedRequest[]): Counts {
  const counts = zero();
  for (const r of requests) counts[r.kind]++;
  return counts;
}

/** From the first arrival to the last answer's end, in ms (0 for no request). */
export function spanMs(requests: Pick<ProxiedRequest, 'arrivedMs' | 'doneMs'>[]): number {
  if (requests.length === 0) return 0;
  const first = Math.min(...requests.map((r) => r.arrivedMs));
  const last = Math.max(...requests.map((r) => r.doneMs));
  return last - first;
}

/** `after - before`, kind by kind. */
export function diffCounts(after: Counts, before: Counts): Counts {
  const out = zero();
  for (const k of Object.keys(out) as (keyof Counts)[]) out[k] = after[k] - before[k];
  return out;
}
