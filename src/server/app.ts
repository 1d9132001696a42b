import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Watcher } from '../watch/watcher.js';
import { requireBearer } from './auth.js';
import { type GotifyRouteOptions, gotifyNotConfigured, gotifyRoute } from './gotify.js';
import { imageView, runView } from './images-api.js';
import { SlidingWindowLimit } from './rate-limit.js';

export interface AppOptions {
  watcher: Watcher;
  register: Registry;
  metricsPath: string;
  token?: string;
  /** Triggered runs allowed per minute: each one spends registry allowance. */
  checksPerMinute?: number;
  /** The Alertmanager -> Gotify bridge, when the gotify section is set. */
  gotify?: GotifyRouteOptions;
}

/** The HTTP face: metrics, health, the images API and on-demand checks. No business logic here. */
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
  app.get(opts.metricsPath, auth, async (_req, res, next) => {
    try {
      const body = await opts.register.metrics();
      res.type(opts.register.contentType).send(body);
    } catch (err) {
      next(err);
    }
  });
  app.get('/api/v1/images', auth, (_req, res) => {
    const snapshot = watcher.snapshot();
    res.json({
      images: snapshot.images.map(imageView),
      lastRun: runView(watcher.lastRun, snapshot),
      providers: watcher.providerStatus(),
    });
  });
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
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}
