// CSRF protection for the status page's forms, with no JavaScript: a random session id in a
// SameSite=Strict, HttpOnly cookie, and in each form a hidden field holding the HMAC of that id
// under a key this process draws at start. Another site can make a browser send the cookie (not
// with SameSite=Strict, but older browsers ignore it) yet cannot read the page to learn the
// field. A request that says where it comes from (Sec-Fetch-Site, Origin) must come from here.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const CSRF_COOKIE = 'diun_exporter_session';
export const CSRF_FIELD = 'csrf';

const SESSION = /^[A-Za-z0-9_-]{43}$/;

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** Issues and checks the forms' CSRF tokens. */
export class CsrfGuard {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  /** The form token for `session`. */
  tokenFor(session: string): string {
    return createHmac('sha256', this.key).update(`status-page-form:${session}`).digest('base64url');
  }

  /** The token for the page's forms; sets the session cookie when the browser has none. */
  issue(req: Request, res: Response): string {
    let session = cookie(req, CSRF_COOKIE);
    if (!session || !SESSION.test(session)) {
      session = randomBytes(32).toString('base64url');
      const secure = req.secure ? '; Secure' : '';
      res.append(
        'Set-Cookie',
        `${CSRF_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict${secure}`,
      );
    }
    return this.tokenFor(session);
  }

  /** Why the form post is refused (403), or undefined when it may go on. */
  refusal(req: Request, field: unknown): string | undefined {
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') {
      return `refused: the form was sent from another site (Sec-Fetch-Site: ${site.slice(0, 30)})`;
    }
    // The page's Referrer-Policy (no-referrer) makes browsers send `Origin: null` with its forms:
    // only an Origin that names another site says anything.
    const origin = req.get('origin');
    if (site === undefined && origin !== undefined && origin !== 'null' && !sameHost(origin, req)) {
      return 'refused: the form was sent from another origin (Origin does not match Host)';
    }
    const session = cookie(req, CSRF_COOKIE);
    if (!session || !SESSION.test(session)) {
      return 'refused: no session cookie; reload the status page (with cookies on) and try again';
    }
    const expected = Buffer.from(this.tokenFor(session));
    const given = Buffer.from(typeof field === 'string' ? field : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return 'refused: the form has expired or was not made by this page; reload the status page and try again';
    }
    return undefined;
  }
}

// The Origin's host against the Host the browser sent (or the one a proxy passed on).
function sameHost(origin: string, req: Request): boolean {
  if (!URL.canParse(origin)) return false;
  const host = new URL(origin).host;
  return host === req.get('host') || host === req.get('x-forwarded-host');
}
