import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './exec.js';

export interface LatencyProxy {
  /** `127.0.0.1:PORT`: use it as the registry part of image references. */
  host: string;
  /** Delay added before each request is forwarded, in ms; may be changed at any time. */
  delayMs: number;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  /**
   * When set, tag listings are answered in pages of this many tags with a `Link: <...>;
   * rel="next"` header (`n` and `last` as the distribution spec says), as Docker Hub and Quay
   * page them; the registry here (distribution 2.8) always answers with every tag at once.
   */
  tagsPageSize?: number;
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
      const url = new URL(req.url ?? '/', 'http://proxy');
      const paged = proxy.tagsPageSize !== undefined && url.pathname.endsWith('/tags/list');
      const upstream = request(
        {
          host: targetHost,
          port: Number(targetPort),
          method: req.method,
          path: paged ? url.pathname : req.url,
          headers: req.headers,
        },
        (up) => {
          if (paged && up.statusCode === 200) {
            void answerPage(up, res, url, proxy.tagsPageSize!);
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }, proxy.delayMs);
  });
  const listening = await listenOnLoopback(server);
  proxy.host = `127.0.0.1:${listening.port}`;
  proxy.close = listening.close;
  return proxy;
}

/** One page of the registry's full tag list: tags after `last`, at most `n` (or `size`). */
async function answerPage(
  up: IncomingMessage,
  res: ServerResponse,
  url: URL,
  size: number,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of up) chunks.push(chunk as Buffer);
  const list = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; tags: string[] };
  const n = Number(url.searchParams.get('n') ?? size);
  const last = url.searchParams.get('last');
  const all = [...list.tags].sort();
  const rest = last === null ? all : all.filter((t) => t > last);
  const page = rest.slice(0, n);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (rest.length > n) {
    const next = `${url.pathname}?n=${n}&last=${encodeURIComponent(page.at(-1)!)}`;
    headers.link = `<${next}>; rel="next"`;
  }
  res.writeHead(200, headers);
  res.end(JSON.stringify({ name: list.name, tags: page }));
}
