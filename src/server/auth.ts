import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether `given` equals `expected`, in time that does not depend on where they differ. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * What every guarded answer carries, the 401 included: no cache (a proxy or the browser must not
 * keep what the token guarded and hand it out without the token) and no content sniffing.
 */
export const GUARDED_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

/**
 * Express middleware requiring `Authorization: Bearer <token>` when a token is configured. It
 * sets GUARDED_HEADERS on the answer either way, so a route behind it is never cached, with or
 * without a token configured.
 */
export function requireBearer(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    res.set(GUARDED_HEADERS);
    if (!token) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match && tokenMatches(match[1]!.trim(), token)) return next();
    res
      .set('WWW-Authenticate', 'Bearer realm="diun-exporter"')
      .status(401)
      .json({ error: 'unauthorized' });
  };
}
