import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import { listenOnLoopback } from './exec.js';

/** What the proxy does with a request that a rule matches. */
export type Fault =
  | { kind: 'pass' }
  /** Passes the request on after `ms`. */
  | { kind: 'delay'; ms: number }
  /** Closes the connection without an answer. */
  | { kind: 'refuse' }
  /** Never answers; the connection is released when the client gives up or the proxy closes. */
  | { kind: 'hang' }
  /** The registry's status and headers at once, then its body one byte every `byteEveryMs`. */
  | { kind: 'slowBody'; byteEveryMs: number }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** 401 with a Bearer challenge (realm: this proxy's `/token`) that changes at every answer. */
  | { kind: 'authLoop' }
  | { kind: 'rateLimit'; retryAfter?: string }
  /**
   * A registry that takes `max` requests at once: while more are in flight (this one counted),
   * 429 with `Retry-After`; else the request is passed on after `delayMs`, so requests overlap
   * as they would over a network. `limited` counts the 429s.
   */
  | { kind: 'concurrencyLimit'; max: number; delayMs: number; retryAfter: string; limited: number }
  /** The registry's answer without `Docker-Content-Digest`. */
  | { kind: 'noDigest' }
  /** The registry's answer with a well-formed `Docker-Content-Digest` of other content. */
  | { kind: 'wrongDigest' }
  /** 200 with the registry's headers (digest included) and a body that is not JSON. */
  | { kind: 'malformedJson' }
  /** 200 with `bytes` of body sent chunked (no Content-Length), as a hostile server would. */
  | { kind: 'hugeBody'; bytes: number }
  /** 307 to the same path on `host` (`127.0.0.1:PORT`). */
  | { kind: 'redirect'; host: string };

export interface FaultRule {
  method?: string;
  path: RegExp;
  fault: Fault;
  /** Matches only this many requests, then lets the next rule (or the registry) answer. */
  times?: number;
  /** Requests this rule answered. */
  hits: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** Whether the request carried an Authorization header (its value is never kept). */
  authorization: boolean;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry part of image references. */
  host: string;
  seen: SeenRequest[];
  /** Requests being answered now, and the most at once since the last `resetCounts`. */
  inFlight: number;
  maxInFlight: number;
  /** Adds a rule in front of the others; returns it, so its `hits` can be read. */
  add(rule: Omit<FaultRule, 'hits'>): FaultRule;
  /** Removes every rule but the permanent ones given at start. */
  clear(): void;
  resetCounts(): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a real registry that answers each request as the first
 * matching rule says (method, path regex), or passes it on. The Host header is forwarded, so the
 * registry's Location headers point back here. `permanent` rules stay after `clear()`.
 */
export async function startFaultProxy(
  target: string,
  permanent: Array<Omit<FaultRule, 'hits'>> = [],
): Promise<FaultProxy> {
  const [targetHost, targetPort] = target.split(':');
  const base = permanent.map((r) => ({ ...r, hits: 0 }));
  let rules: FaultRule[] = [...base];
  let challenges = 0;
  const proxy: FaultProxy = {
    host: '',
    seen: [],
    inFlight: 0,
    maxInFlight: 0,
    add(rule) {
      const added = { ...rule, hits: 0 };
      rules.unshift(added);
      return added;
    },
    clear() {
      rules = [...base];
    },
    resetCounts() {
      proxy.seen = [];
      proxy.maxInFlight = proxy.inFlight;
    },
    close: async () => {},
  };

  const upstream = (req: IncomingMessage, answer: (up: IncomingMessage) => void) => {
    const headers: IncomingHttpHeaders = { ...req.headers };
    const up = request(
      {
        host: targetHost,
        port: Number(targetPort),
        method: req.method,
        path: req.url,
        headers,
      },
      answer,
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, fault: Fault) => {
    switch (fault.kind) {
      case 'pass':
        return upstream(req, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
      case 'delay':
        return void setTimeout(() => handle(req, res, { kind: 'pass' }), fault.ms);
      case 'refuse':
        return req.socket.destroy();
      case 'hang':
        return;
      case 'slowBody':
        return upstream(req, async (up) => {
          const body = await readAll(up);
          const { 'content-length': _length, ...headers } = up.headers;
          res.writeHead(up.statusCode ?? 502, headers);
          let sent = 0;
          const timer = setInterval(() => {
            if (res.destroyed || sent >= body.length) {
              clearInterval(timer);
              res.end();
              return;
            }
            res.write(body.subarray(sent, ++sent));
          }, fault.byteEveryMs);
          res.on('close', () => clearInterval(timer));
        });
      case 'status':
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        return res.end(fault.body ?? '');
      case 'authLoop': {
        challenges++;
        const realm = `http://${proxy.host}/token`;
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${realm}",service="loop-${challenges}"`,
          'content-type': 'application/json',
        });
        return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      }
      case 'rateLimit': {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        res.writeHead(429, headers);
        return res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      }
      case 'concurrencyLimit':
        if (proxy.inFlight > fault.max) {
          fault.limited++;
          return handle(req, res, { kind: 'rateLimit', retryAfter: fault.retryAfter });
        }
        return handle(req, res, { kind: 'delay', ms: fault.delayMs });
      case 'noDigest':
      case 'wrongDigest':
        return upstream(req, (up) => {
          const { 'docker-content-digest': digest, ...headers } = up.headers;
          if (fault.kind === 'wrongDigest' && digest !== undefined) {
            headers['docker-content-digest'] = `sha256:${createHash('sha256')
              .update(`not ${String(digest)}`)
              .digest('hex')}`;
          }
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        });
      case 'malformedJson':
        return upstream(req, (up) => {
          up.resume();
          const { 'content-length': _length, ...headers } = up.headers;
          res.writeHead(200, headers);
          res.end('{"schemaVersion": 2, "mediaType": ');
        });
      case 'hugeBody': {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let left = fault.bytes;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            left -= chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        return pump();
      }
      case 'redirect':
        res.writeHead(307, { location: `http://${fault.host}${req.url}` });
        return res.end();
    }
  };

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    proxy.seen.push({
      method: req.method ?? '',
      path,
      authorization: req.headers.authorization !== undefined,
    });
    proxy.inFlight++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, proxy.inFlight);
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      proxy.inFlight--;
      // A kept-alive socket serves many requests: each must take its listener back.
      req.socket.off('close', finished);
    };
    res.on('close', finished);
    req.socket.on('close', finished);
    // The stand-in token service of the `authLoop` challenge: any token will do, the registry
    // behind ignores it.
    if (path.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `loop-token-${challenges}`, expires_in: 300 }));
      return;
    }
    const rule = rules.find(
      (r) =>
        (r.method === undefined || r.method === req.method) &&
        r.path.test(path) &&
        (r.times === undefined || r.hits < r.times),
    );
    if (rule) rule.hits++;
    handle(req, res, rule?.fault ?? { kind: 'pass' });
  });
  const listening = await listenOnLoopback(server);
  proxy.host = `127.0.0.1:${listening.port}`;
  proxy.close = listening.close;
  return proxy;
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
