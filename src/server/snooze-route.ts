// POST /snooze and POST /snooze/expire: the status page's forms, which make and end Alertmanager
// silences. Plain form posts (no JavaScript), behind the page's token, CSRF-checked, each
// answered with a redirect back to the page (POST/Redirect/GET) or a one-line reason.
import express, { type RequestHandler, type Response } from 'express';
import { log } from '../log.js';
import { AlertmanagerError } from '../snooze/client.js';
import { SNOOZE_CHOICES, snoozeChoice } from '../snooze/silence.js';
import type { Snoozer } from '../snooze/snoozer.js';
import { CSRF_FIELD, type CsrfGuard } from './csrf.js';

/** The routes' paths, for the 405 table and the 404 when snooze is off. */
export const SNOOZE_PATHS = ['/snooze', '/snooze/expire'] as const;

function refuse(res: Response, status: number, message: string): void {
  res
    .status(status)
    .set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' })
    .type('text/plain')
    .send(`${message}\n`);
}

const field = (body: unknown, name: string): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** The handlers after the token check: a small form body, the CSRF check, then `act`. */
function formRoute(
  csrf: CsrfGuard,
  act: (body: unknown, res: Response) => Promise<void>,
): RequestHandler[] {
  const checked: RequestHandler = async (req, res) => {
    const refusal = csrf.refusal(req, field(req.body, CSRF_FIELD));
    if (refusal) {
      refuse(res, 403, refusal);
      return;
    }
    try {
      await act(req.body, res);
    } catch (err) {
      if (!(err instanceof AlertmanagerError)) throw err;
      log('warn', 'snooze failed', { path: req.path, error: err.message });
      refuse(res, 502, `could not reach the snoozes: ${err.message}`);
    }
  };
  return [express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }), checked];
}

/** The handlers of POST /snooze and POST /snooze/expire, each after `auth`. */
export function snoozeRoutes(snoozer: Snoozer, csrf: CsrfGuard) {
  const create = formRoute(csrf, async (body, res) => {
    const provider = field(body, 'provider') ?? '';
    const image = field(body, 'image') ?? '';
    const choice = snoozeChoice(field(body, 'for'));
    if (!choice) {
      const values = SNOOZE_CHOICES.map((c) => c.value).join(', ');
      refuse(res, 400, `for: expected one of ${values}`);
      return;
    }
    const target = snoozer.target(provider, image);
    if (!target) {
      refuse(res, 400, `image: "${image.slice(0, 200)}" (${provider.slice(0, 40)}) is not watched`);
      return;
    }
    if (choice.value === 'digest' && !target.remoteDigest) {
      refuse(res, 400, `image: "${image}" has no registry digest yet; snooze it for 1 or 7 days`);
      return;
    }
    const id = await snoozer.snooze(target, choice);
    log('info', 'snoozed', { image, provider, for: choice.value, silence: id });
    res.redirect(303, '/');
  });
  const expire = formRoute(csrf, async (body, res) => {
    const id = field(body, 'id') ?? '';
    if (!(await snoozer.expire(id))) {
      refuse(res, 404, `no snooze "${id.slice(0, 60)}" of a watched image is in force`);
      return;
    }
    log('info', 'snooze expired', { silence: id });
    res.redirect(303, '/');
  });
  return { create, expire };
}

/** The answer of the routes when no Alertmanager is configured. */
export const snoozeNotConfigured: RequestHandler = (_req, res) => {
  res.status(404).json({
    error: 'alertmanager.url is not set in the configuration: snoozing from the status page is off',
  });
};
