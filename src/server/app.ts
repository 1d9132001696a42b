import { createServer, type Server } from 'node:http';
import { pipeline } from 'node:stream/promises';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { log } from '../log.js';
import type { SnapshotRegistry } from '../metrics/snapshot-text.js';
import type { GotifyBridge } from '../notify/gotify.js';
import type { NtfyBridge } from '../notify/ntfy.js';
import type { Snoozer } from '../snooze/snoozer.js';
import { imagesView, runView } from '../view/images.js';
import type { Watcher } from '../watch/watcher.js';
import { requireBearer } from './auth.js';
import { CsrfGuard } from './csrf.js';
import { gotifyNotConfigured, gotifyRoute } from './gotify-route.js';
import { ntfyNotConfigured, ntfyRoute } from './ntfy-route.js';
import { PAGE_HEADERS, parseFilter, renderStatusPage } from './page.js';
import { SlidingWindowLimit } from './rate-limit.js';
import { SNOOZE_PATHS, snoozeNotConfigured, snoozeRoutes } from './snooze-route.js';

export interface AppOptions {
  watcher: Watcher;
  register: SnapshotRegistry;
  metricsPath: string;
  token?: string;
  /** Triggered runs allowed per minute: each one spends registry allowance. */
  checksPerMinute?: number;
  /** The Alertmanager -> Gotify bridge, when the gotify section is set. */
  gotify?: GotifyBridge;
  /** The Alertmanager -> ntfy bridge, when the ntfy section is set. */
  ntfy?: NtfyBridge;
  /** Snoozes through Alertmanager, when the alertmanager section is set. */
  snoozer?: Snoozer;
}

/** The HTTP face: metrics, health, the status page, the images API and on-demand checks. No business logic here. */
export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const auth = requireBearer(opts.token);
  const limit = new SlidingWindowLimit(opts.checksPerMinute ?? 10, 60_000);
  const { watcher } = opts;

  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('OK\n');
  });
  app.get('/-/ready', (_req, res) => {
    res
      .status(watcher.ready ? 200 : 503)
      .type('text/plain')
      .send(watcher.ready ? 'Ready\n' : 'Not ready: first check not finished\n');
  });
  app.get(opts.metricsPath, auth, async (req, res, next) => {
    try {
      // Prometheus asks for gzip: the snapshot's text is kept compressed, so that costs least.
      const gzip = req.acceptsEncodings('gzip', 'identity') === 'gzip';
      const { chunks, bytes, encoding } = await opts.register.exposition(gzip);
      res.type(opts.register.contentType).vary('Accept-Encoding');
      if (encoding) res.set('Content-Encoding', encoding);
      res.set('Content-Length', String(bytes));
      // Not res.send: its ETag would hash the whole body per scrape, and Prometheus never sends
      // If-None-Match. The plain text is inflated as the client takes it.
      await pipeline(chunks, res);
    } catch (err) {
      // A client that leaves mid-body (a scrape timeout) has nothing more to be told.
      if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      next(err);
    }
  });
  app.get('/api/v1/images', auth, (_req, res) => {
    res.json(imagesView(watcher));
  });
  const csrf = new CsrfGuard();
  const { snoozer } = opts;
  app.get('/', auth, async (req, res) => {
    const filter = parseFilter(req.query.status);
    if ('error' in filter) {
      res
        .status(400)
        .set('X-Content-Type-Options', 'nosniff')
        .type('text/plain')
        .send(`${filter.error}\n`);
      return;
    }
    const snooze = snoozer && { csrf: csrf.issue(req, res), list: await snoozer.list() };
    res
      .set(PAGE_HEADERS)
      .type('html')
      .send(
        renderStatusPage(imagesView(watcher), filter.status, opts.metricsPath, Date.now(), snooze),
      );
  });
  if (snoozer) {
    const { create, expire } = snoozeRoutes(snoozer, csrf);
    app.post('/snooze', auth, ...create);
    app.post('/snooze/expire', auth, ...expire);
  } else {
    app.post([...SNOOZE_PATHS], snoozeNotConfigured);
  }
  app.post('/api/v1/check', auth, async (_req, res, next) => {
    if (!watcher.isRunning()) {
      const wait = limit.take();
      if (wait > 0) {
        res
          .status(429)
          .set('Retry-After', String(wait))
          .json({ error: `too many triggered checks; retry in ${wait}s` });
        return;
      }
    }
    try {
      const run = await watcher.run();
      res.json(runView(run, watcher.snapshot()));
    } catch (err) {
      next(err);
    }
  });
  app.post(
    '/api/v1/alertmanager/gotify',
    ...(opts.gotify ? gotifyRoute(opts.gotify) : [gotifyNotConfigured]),
  );
  app.post(
    '/api/v1/alertmanager/ntfy',
    ...(opts.ntfy ? ntfyRoute(opts.ntfy) : [ntfyNotConfigured]),
  );
  const allowed: Record<string, string> = {
    '/': 'GET, HEAD',
    '/-/healthy': 'GET, HEAD',
    '/-/ready': 'GET, HEAD',
    [opts.metricsPath]: 'GET, HEAD',
    '/api/v1/images': 'GET, HEAD',
    '/api/v1/check': 'POST',
    '/api/v1/alertmanager/gotify': 'POST',
    '/api/v1/alertmanager/ntfy': 'POST',
    ...Object.fromEntries(SNOOZE_PATHS.map((path) => [path, 'POST'])),
  };
  for (const [path, methods] of Object.entries(allowed)) {
    app.all(path, (_req, res) => {
      res.status(405).set('Allow', methods).json({ error: 'method not allowed' });
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(lastResort);
  return app;
}

// Express's own handler would answer with the stack trace (outside NODE_ENV=production) in HTML:
// here a client gets a status and one line of JSON, and the log gets the message.
const lastResort: ErrorRequestHandler = (err, req, res, _next) => {
  const { status, statusCode, expose } = (err ?? {}) as {
    status?: unknown;
    statusCode?: unknown;
    expose?: unknown;
  };
  const code = Number(status ?? statusCode);
  const clientError = Number.isInteger(code) && code >= 400 && code < 500;
  if (!clientError) {
    log('error', 'request failed', { method: req.method, path: req.path, error: err });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = err instanceof Error && expose === true ? err.message : undefined;
  res
    .status(clientError ? code : 500)
    .json({ error: clientError ? (message ?? 'bad request') : 'internal error' });
};

/**
 * Bounds on what one client can hold: headers must arrive within 10 s (a slowloris is cut
 * there, checked every second instead of Node's 30 s), a whole request within 30 s (a triggered
 * check may answer later: the bound is on receiving the request, not on the response), and an
 * idle keep-alive connection lives 65 s, longer than the 60 s of common proxies in front. Headers
 * stay within Node's default 16 KiB (`431` beyond).
 */
export const SERVER_LIMITS = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 1_000,
} as const;

/** Serves `app` on host:port with SERVER_LIMITS; resolves once listening. */
export function listen(app: Express, port: number, host: string | undefined): Promise<Server> {
  const server = createServer(SERVER_LIMITS, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
