import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether `given` equals `expected`, in time that does not depend on where they differ. */
export function tokenMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Express middleware requiring `Authorization: Bearer <token>` when a token is configured. */
export function requireBearer(token: string | undefined): RequestHandler {
  return (req, res, next) => {
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
